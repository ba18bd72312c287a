"""Control-message dispatch (vsmartcard api.txt command table)."""
import io

from tests.bridge.helpers import ATR, RecordingCard

from vpcd_bridge import ApduTrace, CardEvent, VpcdSession


def test_get_atr_answers_atr():
    card = RecordingCard()
    assert VpcdSession(card).handle(b"\x04") == ATR
    assert card.calls == []


def test_power_and_reset_have_no_answer():
    card = RecordingCard()
    session = VpcdSession(card)
    assert session.handle(b"\x01") is None
    assert session.handle(b"\x02") is None
    assert session.handle(b"\x00") is None
    assert [c for c, _ in card.calls] == ["power_on", "reset", "power_off"]


def test_apdu_goes_to_transmit():
    card = RecordingCard({bytes.fromhex("00B0000002"): bytes.fromhex("98109000")})
    assert VpcdSession(card).handle(bytes.fromhex("00B0000002")) == bytes.fromhex("98109000")
    assert card.calls == [("transmit", bytes.fromhex("00B0000002"))]


def test_two_byte_payload_is_an_apdu_not_control():
    card = RecordingCard()
    assert VpcdSession(card).handle(b"\x00\x04") == b"\x90\x00"
    assert card.calls == [("transmit", b"\x00\x04")]


def test_unknown_control_and_empty_frame_ignored(caplog):
    card = RecordingCard()
    session = VpcdSession(card)
    assert session.handle(b"\x03") is None
    assert session.handle(b"\xFF") is None
    assert session.handle(b"") is None
    assert card.calls == []
    assert "unknown vpcd control byte 03" in caplog.text
    assert "empty vpcd frame" in caplog.text


def test_card_exception_becomes_6f00(caplog):
    class Broken(RecordingCard):
        def transmit(self, apdu):
            raise RuntimeError("bug")

    assert VpcdSession(Broken()).handle(bytes.fromhex("00A40000")) == b"\x6F\x00"
    assert "card raised on APDU 00A40000" in caplog.text


def test_link_lost_powers_off():
    card = RecordingCard()
    VpcdSession(card).link_lost()
    assert card.calls == [("power_off", b"")]


def test_session_traces_commands_and_events():
    out = io.StringIO()
    session = VpcdSession(RecordingCard(), slot=3, sinks=[ApduTrace(out, timestamps=False)])
    session.handle(b"\x01")
    session.handle(bytes.fromhex("00A40004023F00"))
    session.handle(b"\x04")  # ATR polling is not traced
    session.link_lost()
    assert out.getvalue().splitlines() == [
        f"[3] -- power on  ; ATR {ATR.hex().upper()}",
        "[3] >> 00A40004023F00  ; SELECT (CLA 00)",
        "[3] << 9000  ; 9000 normal ending",
        f"[3] -- link lost, power off  ; ATR {ATR.hex().upper()}",
    ]


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def command(self, slot, apdu):
        self.calls.append(("command", slot, apdu))

    def response(self, slot, apdu, rapdu):
        self.calls.append(("response", slot, apdu, rapdu))

    def event(self, slot, event, atr):
        self.calls.append(("event", slot, event, atr))


def test_every_sink_gets_every_call_in_order():
    sinks = [RecordingSink(), RecordingSink()]
    card = RecordingCard({bytes.fromhex("00B0000002"): bytes.fromhex("98109000")})
    session = VpcdSession(card, slot=2, sinks=sinks)
    for payload in (b"\x01", bytes.fromhex("00B0000002"), b"\x02", b"\x00", b"\x04", b"\x03"):
        session.handle(payload)
    expected = [
        ("event", 2, CardEvent.POWER_ON, ATR),
        ("command", 2, bytes.fromhex("00B0000002")),
        ("response", 2, bytes.fromhex("00B0000002"), bytes.fromhex("98109000")),
        ("event", 2, CardEvent.RESET, ATR),
        ("event", 2, CardEvent.POWER_OFF, ATR),
    ]
    assert sinks[0].calls == expected and sinks[1].calls == expected


def test_sinks_see_the_6f00_of_a_card_that_raised():
    class Broken(RecordingCard):
        def transmit(self, apdu):
            raise RuntimeError("bug")

    sink = RecordingSink()
    VpcdSession(Broken(), sinks=[sink]).handle(bytes.fromhex("00A40000"))
    assert sink.calls[-1] == ("response", 0, bytes.fromhex("00A40000"), b"\x6F\x00")
