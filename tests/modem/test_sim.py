"""What the modem sends to the card, checked APDU by APDU against the specs: 27.007 §8.18
(+CRSM: select, then the command), TS 102 221 §11.1.1 (SELECT P1 08 path from MF, 09 path from
current DF, 04 by DF name; P2 04 FCP / 0C nothing), ISO/IEC 7816-4 §5.4.1 (CLA channel coding),
TS 31.102 §4.2.2 (EF.IMSI), TS 102 221 §9.5.2 (PIN coding)."""
import pytest

from tools.modem.sim import SimAccess, SimError, decode_iccid, decode_imsi, on_channel, pin_block
from tools.terminal.link import CardLink

USIM_AID = bytes.fromhex("A0000000871002FF49FF0589")
# EF.DIR record: application template 61 { 4F <USIM AID> 50 "USIM" }
EF_DIR_RECORD = bytes.fromhex("6114") + bytes.fromhex("4F0C") + USIM_AID + bytes.fromhex("50045553494D")


class ScriptedLink(CardLink):
    """Answers from a table (default 9000) and records every APDU."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = {k.upper(): bytes.fromhex(v) for k, v in (answers or {}).items()}
        self.sent: list[str] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu.hex().upper())
        return self.answers.get(apdu.hex().upper(), b"\x90\x00")

    def reset(self) -> bytes:
        return bytes.fromhex("3B00")


@pytest.fixture
def sim():
    link = ScriptedLink({"00B2010400": EF_DIR_RECORD.hex() + "9000", "00B2020400": "6A83"})
    access = SimAccess(link)
    access.power_on()
    assert access.usim_aid == USIM_AID
    assert link.sent == ["00A4080C022F00", "00B2010400"]
    link.sent.clear()
    return access, link


def test_crsm_read_binary_under_mf_selects_by_path_from_mf(sim):
    access, link = sim
    link.answers["00B000000A"] = bytes.fromhex("98001000000000000010 9000")
    assert access.restricted(176, 0x2FE2, 0, 0, 10) == (0x9000, bytes.fromhex("98001000000000000010"))
    assert link.sent == ["00A4080C022FE2", "00B000000A"]


def test_crsm_adf_file_selects_the_usim_then_path_from_current_df(sim):
    access, link = sim
    access.restricted(178, 0x6F40, 1, 4, 0x1C)
    assert link.sent == ["00A4040C0C" + USIM_AID.hex().upper(), "00A4090C026F40", "00B201041C"]


def test_crsm_pathid_is_a_path_from_the_mf(sim):
    access, link = sim
    access.restricted(176, 0x4F30, 0, 0, 4, pathid=bytes.fromhex("3F007F205F70"))
    assert link.sent == ["00A4080C067F205F704F30", "00B0000004"]


def test_crsm_update_binary_sends_the_data(sim):
    access, link = sim
    assert access.restricted(214, 0x6F07, 0, 0, 2, bytes.fromhex("ABCD"), pathid=bytes.fromhex("7FFF")) == (0x9000, b"")
    assert link.sent[-2:] == ["00A4090C026F07", "00D6000002ABCD"]


def test_crsm_get_response_returns_the_fcp(sim):
    access, link = sim
    link.answers["00A40804022FE2"] = bytes.fromhex("6105")
    link.answers["00C0000005"] = bytes.fromhex("6203820121 9000")
    assert access.restricted(192, 0x2FE2, None, None, None) == (0x9000, bytes.fromhex("6203820121"))


def test_crsm_select_failure_is_reported_in_sw(sim):
    access, link = sim
    link.answers["00A4080C022F99"] = bytes.fromhex("6A82")
    assert access.restricted(176, 0x2F99, 0, 0, 1) == (0x6A82, b"")
    assert link.sent == ["00A4080C022F99"]


def test_crsm_status_needs_no_file(sim):
    access, link = sim
    access.restricted(242, None, None, None, None)
    assert link.sent == ["80F2000000"]


@pytest.mark.parametrize("args", [(176, None, 0, 0, 1), (176, 0x2FE2, 0, None, 1), (99, 0x2FE2, 0, 0, 1)])
def test_crsm_missing_or_reserved_parameters(sim, args):
    with pytest.raises(SimError) as exc:
        sim[0].restricted(*args)
    assert exc.value.cme == 50


def test_crsm_update_length_must_match_p3(sim):
    with pytest.raises(SimError):
        sim[0].restricted(214, 0x2FE2, 0, 0, 3, bytes.fromhex("ABCD"))
    assert sim[1].sent == []  # nothing reached the card


def test_open_channel_then_apdus_carry_the_channel(sim):
    access, link = sim
    link.answers["0070000001"] = bytes.fromhex("02 9000")
    assert access.open_channel(bytes.fromhex("A0000005591010FFFFFFFF8900000100")) == 2
    assert link.sent[-1] == "02A4040010A0000005591010FFFFFFFF890000010000"
    assert access.channel_apdu(2, bytes.fromhex("80E2910003BF3E00")) == bytes.fromhex("82E2910003BF3E00")
    access.close_channel(2)
    assert link.sent[-1] == "00708002"
    with pytest.raises(SimError):
        access.channel_apdu(2, bytes.fromhex("80CA005A00"))


def test_open_channel_unknown_application_closes_it_again(sim):
    access, link = sim
    link.answers["0070000001"] = bytes.fromhex("01 9000")
    link.answers["01A4040003A0000100"] = bytes.fromhex("6A82")
    with pytest.raises(SimError) as exc:
        access.open_channel(bytes.fromhex("A00001"))
    assert exc.value.cme == 22 and link.sent[-1] == "00708001"


@pytest.mark.parametrize("cla,channel,expected", [
    (0x00, 1, 0x01), (0x80, 3, 0x83), (0x00, 4, 0x40), (0x80, 19, 0xCF), (0x81, 0, 0x80),
    (0x0C, 2, 0x0E), (0x0C, 5, 0x61), (0x61, 1, 0x09), (0xC3, 2, 0x82),
])
def test_cla_channel_coding(cla, channel, expected):
    assert on_channel(cla, channel) == expected


def test_identity_and_pin_coding():
    assert decode_imsi(bytes.fromhex("080910100000000010")) == "001010000000001"
    assert decode_imsi(bytes.fromhex("082926540000000010FF")) == "262450000000001"
    assert decode_iccid(bytes.fromhex("98001000000000000010")) == "89000100000000000001"
    assert pin_block("0000") == bytes.fromhex("30303030FFFFFFFF")
    with pytest.raises(SimError):
        pin_block("12a4")
