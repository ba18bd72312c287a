"""The SMS network between the terminal simulator and the SM-SR service over HTTP
(tools/terminal/sms_network.py, tools/m2m_services/smsc.py), without a card: an MT delivery reaches
the terminal as an SMS-PP data download ENVELOPE (TS 31.111 §7.1.1, TS 102 223 §7.1.1.2: tag 'D1')
and the card's answer comes back; MO TPDUs reach the SMSC endpoint byte for byte; what either
endpoint cannot read is refused with an HTTP error, never a traceback."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tools.cli import main
from tools.m2m_services.smsc import MoEndpoint, RemoteTerminal
from tools.smsr.mo import MoError
from tools.terminal.link import CallableLink, LinkError
from tools.terminal.sms_network import HttpSmsc, MtEndpoint
from tools.terminal.terminal import Terminal

ANSWER = bytes.fromhex("027100000E0A" + "B00000" + "0000000000" + "01" + "00" + "00")
"""Any bytes the card answers the ENVELOPE with: the test checks they come back unchanged."""


def test_mt_delivery_reaches_the_card_and_its_answer_comes_back():
    apdus: list[bytes] = []

    def card(apdu: bytes) -> bytes:
        apdus.append(apdu)
        return ANSWER + b"\x90\x00"
    endpoint = MtEndpoint(Terminal(CallableLink(card))).start()
    try:
        data, sw = RemoteTerminal(endpoint.url).sms_pp_download([bytes.fromhex("4400")])
        assert (data, sw) == (ANSWER, 0x9000)
        assert apdus[0][:2] == b"\x80\xC2" and apdus[0][5] == 0xD1       # ENVELOPE (SMS-PP download)
        assert bytes.fromhex("4400") in apdus[0]
        for body in (b"not json", json.dumps({"tpdus": []}).encode(), json.dumps({"tpdus": ["zz"]}).encode()):
            request = urllib.request.Request(endpoint.url, data=body, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 400
        assert len(apdus) == 1                                           # nothing reached the card
    finally:
        endpoint.close()
    with pytest.raises(LinkError):
        RemoteTerminal(endpoint.url, timeout=2).sms_pp_download([b"\x44\x00"])   # no terminal there any more


def test_mo_messages_reach_the_smsc_endpoint():
    received: list[bytes] = []

    def receive(tpdu: bytes) -> None:
        if tpdu == b"\x00":
            raise MoError("not an SMS-SUBMIT")
        received.append(tpdu)
    smsc = MoEndpoint(receive).start()
    try:
        assert HttpSmsc(smsc.url)(bytes.fromhex("41000B91"), b"") is True
        assert HttpSmsc(smsc.url)(b"\x00", b"") is False                 # refused: the terminal says so
        assert received == [bytes.fromhex("41000B91")]
    finally:
        smsc.close()
    assert HttpSmsc(smsc.url, timeout=2)(b"\x41", b"") is False          # no SMSC: not delivered


def test_a_device_needs_an_smsc_endpoint(tmp_path):
    """``smsr-service serve --device URL`` without ``--mo-port`` would never hear from the card: refused."""
    with pytest.raises(SystemExit, match="--device needs --mo-port"):
        main(["smsr-service", "serve", "--db", str(tmp_path / "smsr.db"), "--device", "http://127.0.0.1:1/"])
    assert not (tmp_path / "smsr.db").exists()
