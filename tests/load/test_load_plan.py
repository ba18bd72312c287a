"""tools.bench.load without PC/SC: slot lock order, card process plan, FCP and channel codings,
T=0 response handling, client limits and the report."""
from __future__ import annotations

import pytest

from tools.bench import load
from tools.bench.load import CheckFailed, Client, ClientResult, ScardLink


@pytest.mark.parametrize("env, slots, order", [
    (None, [0, 1], [1, 0]),          # the e2e slot (default 1) first, as its session fixture holds it
    ("0", [1, 0, 2], [0, 1, 2]),
    ("3", [2, 0, 1], [0, 1, 2]),     # e2e slot not used: ascending
])
def test_lock_order(monkeypatch, env, slots, order):
    if env is None:
        monkeypatch.delenv(load.E2E_SLOT_ENV, raising=False)
    else:
        monkeypatch.setenv(load.E2E_SLOT_ENV, env)
    assert load.lock_order(slots) == order


@pytest.mark.parametrize("slots, per_process, plan", [
    ([0, 1], 1, [(0, 1), (1, 1)]),
    ([1, 0], 2, [(0, 2)]),
    ([0, 1, 2], 2, [(0, 2), (2, 1)]),
    ([0, 2, 3], 4, [(0, 1), (2, 2)]),  # --cards N only covers consecutive slots
])
def test_process_plan(slots, per_process, plan):
    assert load.process_plan(slots, per_process) == plan


@pytest.mark.parametrize("channel, cla", [(0, 0x00), (3, 0x03), (4, 0x40), (19, 0x4F)])
def test_channel_cla(channel, cla):
    assert load.channel_cla(channel) == cla  # ISO/IEC 7816-4 §5.4.1


def test_fcp_children():
    data = bytes.fromhex("62198205422100b00a83026f3c8a01058b036f0602800206e08800")  # EF.SMS, TS 102 221
    got = load.fcp(data)
    assert got[0x82] == bytes.fromhex("422100b00a") and got[0x83] == b"\x6f\x3c" and got[0x88] == b""


@pytest.mark.parametrize("data", ["", "6f03820101", "6205820101", "62"])
def test_fcp_rejects_non_templates(data):
    with pytest.raises(CheckFailed, match="not an FCP template"):
        load.fcp(bytes.fromhex(data))


class ScriptedLink(ScardLink):
    """ScardLink with raw() answering from a script: (expected command, response) pairs."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(bytes.fromhex(c), bytes.fromhex(r)) for c, r in script]
        self.apdus = 0

    def raw(self, apdu: bytes) -> tuple[bytes, int]:
        command, response = self.script.pop(0)
        assert apdu == command, apdu.hex()
        return response[:-2], int.from_bytes(response[-2:], "big")


def test_send_get_response_on_the_command_channel():
    # TS 102 221 §7.3.1.1.4: 61xx -> GET RESPONSE with the same logical channel coding
    link = ScriptedLink([("41A4000C023F00", "6103"), ("41C0000003", "AABBCC9000")])
    assert link.send(bytes.fromhex("41A4000C023F00")) == (b"\xAA\xBB\xCC", 0x9000)
    assert link.script == []


def test_send_repeats_with_the_length_of_6cxx():
    link = ScriptedLink([("02B0000000", "6C02"), ("02B0000002", "01026101"), ("02C0000001", "039000")])
    assert link.send(bytes.fromhex("02B0000000")) == (b"\x01\x02\x03", 0x9000)


def test_expect_reports_the_status_word():
    link = ScriptedLink([("00A4000C023F00", "6A82")])
    with pytest.raises(CheckFailed, match="SELECT MF: SW 6A82"):
        link.expect(bytes.fromhex("00A4000C023F00"), "SELECT MF")


def test_read_eid_rejects_a_wrong_object():
    link = ScriptedLink([("00A4040010" + load.ISD_R_AID.hex() + "00", "9000"), ("80CA005A00", "5A0112349000")])
    with pytest.raises(CheckFailed, match="not a '5A' EID object"):
        load.read_eid(link)


@pytest.mark.parametrize("index, clients", [(0, 11), (3, 3), (-1, 2)])
def test_client_limits(index, clients):
    with pytest.raises(ValueError):
        Client(0, index, clients, "0" * 32, True)


def test_client_regions_are_disjoint():
    regions = [Client(0, i, 3, "0" * 32, True).region for i in range(3)]
    assert regions == [(0, 3), (3, 3), (6, 3)]


def test_report_figures():
    results = [ClientResult(0, 0, sessions=4, apdus=76, latencies=[0.010, 0.020, 0.030, 0.040]),
               ClientResult(1, 0, sessions=0, error="slot 1 client 0 session 1: EID")]
    text = load.report(results, 2.0)
    assert "   0      0        4     2.0     76     25.00" in text
    assert "ERROR slot 1 client 0 session 1: EID" in text
    assert "total: 4 sessions in 2.0 s = 2.0 sessions/s; session latency median 25.00 ms, p99 39.70 ms" in text
