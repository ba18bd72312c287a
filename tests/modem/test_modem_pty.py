"""``euicc-emu modem`` through its pseudo-terminal, driven by the independent AT client.

Known answers: the default card's ICCID 89001000000000000010 and IMSI 001010000000001 (README,
default test profile); EF.ICCID coding TS 102 221 §13.2; the EID's check digits (ISO 7064
MOD 97-10: value mod 97 == 1, SPEC_NOTES §1.1); ES10c GetEID SGP.22 §5.7.20
(``BF3E 03 5C 01 5A`` -> ``BF3E 12 5A 10 <EID>``); 27.007 §8.17, §8.18, §8.45-8.47, §9.2.
"""
from __future__ import annotations

import os

import pytest

from tests.modem.at_client import AtPort, ModemProcess, hex_field

ICCID = "89001000000000000010"
IMSI = "001010000000001"
ISD_R = "A0000005591010FFFFFFFF8900000100"


def swapped_bcd(data: bytes) -> str:
    return "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data).rstrip("F")


@pytest.fixture(scope="module")
def modem(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("modem")
    link = tmp / "ttyEUICC"
    proc = ModemProcess(["--state", str(tmp / "card.state"), "--link", str(link)])
    assert os.readlink(link) == proc.path
    yield proc, link
    assert proc.stop() == 0
    assert not link.exists()  # the symlink goes with the modem


@pytest.fixture
def port(modem):
    at = AtPort(modem[1])
    at.ok("ATE1")
    at.ok("AT+CMEE=0")
    yield at
    at.close()


def test_iccid_via_crsm(port):
    (line,) = port.ok("AT+CRSM=176,12258,0,0,10")   # READ BINARY, EF.ICCID '2FE2'
    numbers, data = hex_field(line, "+CRSM")
    assert numbers == ["144", "0"] and swapped_bcd(data) == ICCID


def test_iccid_via_csim_with_get_response(port):
    def csim(apdu: str) -> bytes:
        (line,) = port.ok(f'AT+CSIM={len(apdu)},"{apdu}"')
        (length,), response = hex_field(line, "+CSIM")
        assert int(length) == 2 * len(response)  # §8.17: hex characters
        return response

    assert csim("00A4000C023F00") == b"\x90\x00"
    sw = csim("00A40004022FE2")                     # SELECT EF.ICCID, FCP wanted: T=0 '61xx'
    assert sw[0] == 0x61
    fcp = csim(f"00C00000{sw[1]:02X}")              # GET RESPONSE
    assert fcp[-2:] == b"\x90\x00" and fcp[0] == 0x62 and bytes.fromhex("83022FE2") in fcp
    data = csim("00B000000A")
    assert data[-2:] == b"\x90\x00" and swapped_bcd(data[:-2]) == ICCID


def test_ccho_isd_r_and_get_eid_over_cgla(port):
    (session,) = port.ok(f'AT+CCHO="{ISD_R}"')
    assert session.isdigit() and int(session) > 0   # §8.45: <sessionid> alone
    (line,) = port.ok(f'AT+CGLA={session},22,"80E2910006BF3E035C015A"')
    (_,), response = hex_field(line, "+CGLA")
    if response[0] == 0x61:                         # T=0: fetch on the same channel
        (line,) = port.ok(f'AT+CGLA={session},10,"00C00000{response[1]:02X}"')
        (_,), response = hex_field(line, "+CGLA")
    assert response[-2:] == b"\x90\x00" and response[:5] == bytes.fromhex("BF3E125A10")
    eid = response[5:21].hex()
    assert eid.isdigit() and int(eid) % 97 == 1
    port.ok(f"AT+CCHC={session}")
    assert port.command(f'AT+CGLA={session},10,"80CA005A00"').final == "ERROR"  # closed


def test_cimi_is_the_default_profile_imsi(port):
    assert port.ok("AT+CIMI") == [IMSI]


def test_ccid_and_cpin(port):
    assert port.ok("AT+CCID") == [f"+CCID: {ICCID}"]
    assert port.ok("AT+ICCID") == [f"+ICCID: {ICCID}"]
    assert port.ok("AT+CPIN?") == ["+CPIN: READY"]


def test_errors_follow_cmee(port):
    assert port.command("AT+CCHC=99").final == "ERROR"
    port.ok("AT+CMEE=1")
    assert port.command("AT+CCHC=99").final == "+CME ERROR: 50"
    assert port.command('AT+CCHO="A0000000000001"').final == "+CME ERROR: 22"   # not found
    assert port.command('AT+CSIM=6,"00A4"').final == "+CME ERROR: 50"          # <length> 6 for 4 hex chars
    port.ok("AT+CMEE=2")
    assert port.command("AT+CCHC=99").final == "+CME ERROR: Incorrect parameters"
    assert port.ok("AT+CMEE?") == ["+CMEE: 2"]
    assert port.command("AT+NOSUCH").final == "ERROR"                           # unknown: never CME


def test_cfun_0_takes_the_sim_away(port):
    port.ok("AT+CMEE=1")
    port.ok("AT+CFUN=0")
    assert port.ok("AT+CFUN?") == ["+CFUN: 0"]
    assert port.command("AT+CIMI").final == "+CME ERROR: 10"                    # SIM not inserted
    port.ok("AT+CFUN=1")
    assert port.ok("AT+CIMI") == [IMSI]


def test_echo_on_and_off(port):
    assert port.command("AT").echo == "AT"
    reply = port.command("ATE0")
    assert reply.echo == "ATE0" and reply.final == "OK"  # echoed while still on
    assert port.command("AT+CIMI").echo == ""
    assert port.command("ATE1").echo == ""
    assert port.command("AT+CIMI").echo == "AT+CIMI"


def test_several_commands_on_one_line(port):
    reply = port.command("AT+CMEE=1;+CIMI;+CCID")
    assert reply.info == [IMSI, f"+CCID: {ICCID}"] and reply.final == "OK"
    assert port.command("AT+CMEE=1;+CCHC=99;+CIMI").info == []   # §9.2: the rest of the line is skipped
