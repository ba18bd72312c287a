"""The `euicc-emu ota` entry point, end to end against the card code."""
from __future__ import annotations

from euicc.crypto.scp80 import Accepted, CounterState, Scp80, parse_command_packet
from euicc.ota.envelope import parse_sms_pp_download
from euicc.ota.remote_apdu import parse_expanded
from euicc.ota.sms import Reassembler, SmsDeliver
from tools.ota.cli import main

KIC, KID = "00112233445566778899aabbccddeeff", "0f0e0d0c0b0a09080706050403020100"


def test_build_envelope_and_decode_por(capsys, dict_keys):
    assert main(["build", "--kic", KIC, "--kid", KID, "--counter", "3", "80CA00FF00"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 1 and lines[0].startswith("80c20000")
    download = parse_sms_pp_download(bytes.fromhex(lines[0])[5:])
    message = Reassembler().add(SmsDeliver.parse(download.tpdu))
    card = Scp80(dict_keys(1, bytes.fromhex(KIC), bytes.fromhex(KID)))
    result = card.unwrap(parse_command_packet(message.payload), CounterState(2))
    assert isinstance(result, Accepted) and parse_expanded(result.secured_data).commands == [bytes.fromhex("80CA00FF00")]
    por = card.response_packet(result.por, 0, bytes.fromhex("AB0780010123029000"))
    assert main(["por", "--kic", KIC, "--kid", KID, por.hex()]) == 0
    out = capsys.readouterr().out
    assert "status=00" in out and "checksum_valid=True" in out and "counter=3" in out


def test_packet_only_and_errors(capsys):
    assert main(["build", "--kic", KIC, "--kid", KID, "--packet-only", "--format", "compact", "00A40004023F00"]) == 0
    assert capsys.readouterr().out.strip()[:6] == "002815"  # CPL 40, CHL 21
    assert main(["por", "--kic", KIC, "--kid", KID, "0000"]) == 2
    assert "error" in capsys.readouterr().err
