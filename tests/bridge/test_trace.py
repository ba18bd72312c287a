"""INS/SW names checked against the spec tables (ISO 7816-4 Table 4, TS 102 221 Table 10.5,
GP Card Spec §11), typed in from the specs, not from the module."""
import io
import threading

import pytest

from vpcd_bridge.trace import ApduTrace, describe_command, describe_response, ins_name, sw_name


@pytest.mark.parametrize("cla,ins,p1,name", [
    (0x00, 0xA4, 0x00, "SELECT"), (0x01, 0xA4, 0x04, "SELECT"), (0x00, 0xB0, 0x00, "READ BINARY"),
    (0x00, 0xB2, 0x01, "READ RECORD"), (0x00, 0xD6, 0x00, "UPDATE BINARY"), (0x00, 0xDC, 0x01, "UPDATE RECORD"),
    (0x00, 0xC0, 0x00, "GET RESPONSE"), (0x00, 0x70, 0x00, "MANAGE CHANNEL"), (0x00, 0x20, 0x00, "VERIFY"),
    (0x00, 0x88, 0x00, "AUTHENTICATE"), (0x00, 0x2C, 0x00, "RESET RETRY COUNTER"), (0x00, 0xE2, 0x00, "APPEND RECORD"),
    (0x80, 0x10, 0x00, "TERMINAL PROFILE"), (0x80, 0x12, 0x00, "FETCH"), (0x80, 0x14, 0x00, "TERMINAL RESPONSE"),
    (0x80, 0xC2, 0x00, "ENVELOPE"), (0x80, 0xAA, 0x00, "TERMINAL CAPABILITY"), (0x80, 0xF2, 0x00, "STATUS"),
    (0x80, 0xF2, 0x40, "GET STATUS"), (0x80, 0xE2, 0x91, "STORE DATA"), (0x81, 0xE2, 0x91, "STORE DATA"),
    (0x80, 0xE6, 0x0C, "INSTALL"), (0x80, 0xE4, 0x00, "DELETE"), (0x80, 0x50, 0x00, "INITIALIZE UPDATE"),
    (0x84, 0x82, 0x00, "EXTERNAL AUTHENTICATE"), (0x80, 0xCA, 0x00, "GET DATA"), (0x80, 0xD8, 0x00, "PUT KEY"),
    (0x80, 0x32, 0x00, "INCREASE"), (0x80, 0x78, 0x00, "GET IDENTITY"), (0x00, 0x73, 0x00, "MANAGE SECURE CHANNEL"),
    (0x00, 0x5A, 0x00, "INS 5A"), (0x80, 0x00, 0x00, "INS 00"),
])
def test_ins_names(cla, ins, p1, name):
    assert ins_name(cla, ins, p1) == name


@pytest.mark.parametrize("sw,text", [
    (0x9000, "normal ending"), (0x6A82, "file not found"), (0x6D00, "INS not supported"),
    (0x6112, "18 bytes available (GET RESPONSE)"), (0x6100, "256 bytes available (GET RESPONSE)"),
    (0x6C0A, "wrong Le, exact length 10"), (0x9120, "normal ending, proactive command of 32 bytes pending"),
    (0x63C2, "verification failed, 2 retries left"), (0x6F00, "technical problem"), (0x6789, "SW 6789"),
])
def test_sw_names(sw, text):
    assert sw_name(sw) == text


def test_malformed_apdus_described_not_raised():
    assert describe_command(b"\x00\xA4") == "malformed (2 bytes)"
    assert describe_response(b"\x90") == "malformed (1 bytes)"
    assert describe_command(bytes.fromhex("81E29100")) == "STORE DATA (CLA 81)"


def test_trace_lines_are_whole_under_threads():
    out = io.StringIO()
    trace = ApduTrace(out)
    workers = [threading.Thread(target=lambda s=s: [trace.command(s, bytes.fromhex("00B0000002")) for _ in range(200)])
               for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 800
    assert all(line.endswith("] >> 00B0000002  ; READ BINARY (CLA 00)") for line in lines)
    assert all(line[2] == ":" and line[12] == " " for line in lines)  # HH:MM:SS.mmm prefix
