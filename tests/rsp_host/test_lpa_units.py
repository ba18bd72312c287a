"""LPA pieces against the specs: activation codes (SGP.22 §4.1), the ES10 STORE DATA transport
(§5.7.2, GP §11.11, TS 102 221 §7.3.1.1.4), hashCc (§5.7.5), ICCID coding (TS 102 221 §13.2)."""
from __future__ import annotations

import hashlib

import pytest

from tools.lpa.activation_code import ActivationCodeError, parse
from tools.lpa.es10 import Es10Client, Es10Error, split_bpp
from tools.lpa.lpa import hash_cc, iccid_bytes, iccid_digits
from tools.lpa.transport import CardError, Es10Transport, cla_for


def test_activation_code_fields():
    ac = parse("LPA:1$smdp.example.com$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1")
    assert (ac.smdp_address, ac.matching_id, ac.smdp_oid, ac.confirmation_code_required) == (
        "smdp.example.com", "04386-AGYFT-A74Y8-3F815", "1.3.6.1.4.1.31746", True)
    assert parse("1$127.0.0.1:8080$X").smdp_oid is None


@pytest.mark.parametrize("bad", ["LPA:2$a$b", "LPA:1$$b", "LPA:1$a", "LPA:1$a$b$c$2", "LPA:1$a$b$c$1$x"])
def test_activation_code_errors(bad):
    with pytest.raises(ActivationCodeError):
        parse(bad)


def test_hash_cc_and_iccid():
    assert hash_cc("1234", b"\x01") == hashlib.sha256(hashlib.sha256(b"1234").digest() + b"\x01").digest()
    assert iccid_bytes("89000123456789012341").hex() == "98001032547698103214"
    assert iccid_digits(bytes.fromhex("989444999999990961F3")) == "8949449999999990163"


class Recorder:
    """A card that records APDUs: channel 2, FCI via 61xx, a 300-byte ES10 answer via 61xx."""

    def __init__(self):
        self.apdus: list[bytes] = []
        self.pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        ins = apdu[1]
        if ins == 0x70:
            return b"\x02\x90\x00" if apdu[2] == 0 else b"\x90\x00"
        if ins == 0xA4:
            self.pending = b"\x6f\x00"
            return b"\x61\x02"
        if ins == 0xC0:
            out, self.pending = self.pending[:apdu[4] or 256], self.pending[apdu[4] or 256:]
            return out + (bytes([0x61, len(self.pending) & 0xFF]) if self.pending else b"\x90\x00")
        if ins == 0xE2 and apdu[2] == 0x91:
            self.pending = bytes(range(256)) + bytes(44)
            return b"\x61\x00"
        return b"\x90\x00"


def test_store_data_blocks_and_get_response():
    card = Recorder()
    t = Es10Transport(card)
    t.open()
    assert card.apdus[0].hex().upper() == "80AA00000AA9088100820101830107"
    assert card.apdus[1].hex() == "0070000001"
    assert card.apdus[2][:5].hex().upper() == "02A4040010" and card.apdus[3][:2] == b"\x02\xc0"
    card.apdus.clear()
    request = bytes(range(250))
    assert t.store_data(request) == bytes(range(256)) + bytes(44)
    store = [a for a in card.apdus if a[1] == 0xE2]
    assert [(a[0], a[2], a[3], a[4]) for a in store] == [(0x82, 0x11, 0, 120), (0x82, 0x11, 1, 120), (0x82, 0x91, 2, 10)]
    assert b"".join(a[5:5 + a[4]] for a in store) == request
    assert [a[:2] for a in card.apdus if a[1] == 0xC0] == [b"\x02\xc0", b"\x02\xc0"]
    t.close()
    assert card.apdus[-1].hex() == "00708002"


def test_transport_errors():
    with pytest.raises(CardError) as err:
        Es10Transport(lambda apdu: b"\x6a\x82" if apdu[1] == 0xA4 else b"\x01\x90\x00" if apdu[1] == 0x70
                      else b"\x90\x00").open()
    assert err.value.sw == 0x6A82
    t = Es10Transport(lambda apdu: b"\x69\x85", terminal_capability=False, use_logical_channel=False)
    with pytest.raises(CardError):
        t.open()
    assert cla_for(5, True) == 0xC1 and cla_for(5, False) == 0x41 and cla_for(3, True) == 0x83


def test_split_bpp_rejects_garbage():
    with pytest.raises(Es10Error):
        split_bpp(b"\xbf\x36\x05\x01\x02")
    with pytest.raises(Es10Error):
        split_bpp(b"\x30\x00")


class Es10Recorder:
    """An ES10 transport that records the requests and answers EnableProfile 'ok'."""

    def __init__(self):
        self.requests: list[bytes] = []

    def store_data(self, request: bytes) -> bytes:
        self.requests.append(request)
        return bytes.fromhex("BF3103800100")


def test_enable_profile_with_a_target_esim_port():
    """SGP.22 v3.1 EnableProfileRequest (§5.7.16) with targetEsimPort: 'A0' profileIdentifier
    {'5A' ICCID}, '81' refreshFlag, '82' targetEsimPort (automatic tags of the module text); without
    a port the v2 request of before."""
    t = Es10Recorder()
    es10 = Es10Client(t)
    iccid = iccid_bytes("89000123456789012341")
    assert es10.enable_profile(("iccid", iccid), refresh=False, port=2) == 0
    assert es10.enable_profile(("iccid", iccid), refresh=False) == 0
    assert t.requests == [bytes.fromhex("BF3114A00C5A0A") + iccid + bytes.fromhex("810100820102"),
                          bytes.fromhex("BF3111A00C5A0A") + iccid + bytes.fromhex("810100")]


def test_manage_lsi_select_before_the_isd_r():
    """`lpa --lsi N`: MANAGE LSI select LSI N ('80 7C 00 N', TS 102 221 V17 §7.5) first; a card
    that refuses it is a CardError with its status."""
    card = Recorder()
    Es10Transport(card, lsi=1).open()
    assert card.apdus[0].hex().upper() == "807C0001"
    with pytest.raises(CardError) as err:
        Es10Transport(lambda apdu: b"\x6d\x00", lsi=1).open()
    assert err.value.sw == 0x6D00
