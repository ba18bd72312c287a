"""ES8 through the ISD-R (SGP.02 v4.2 §4.1.3): EstablishISDPKeySet, DownloadAndInstallation over
SCP03t addressed to the ISD-P's TAR, UpdateConnectivityParameters and the delete-token key in an
SCP03 session, then ES5.MasterDelete with a token computed by the host."""
from __future__ import annotations

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from tests.m2m import host
from tests.m2m.test_es5 import create_isdp
from tests.vectors import TS48_V7
from tools.scp.scp03_host import HostKeySet, Scp03Host, kcv

TAR = 0x20
AID = host.isdp_aid(TAR)


def personalise_isdp(smsr, pki, cert=None, key_type=0x88):
    smsr.one(create_isdp(AID))
    install = bytes.fromhex("80E62000160000") + bytes([16]) + AID + bytes.fromhex("00000000")
    cert = cert if cert is not None else pki.cert(pki.smdp, 0x01)
    (_, sw1), (rc_tlv, sw2) = smsr.run([install, host.store_data(host.dgi(0x3A01, cert), p1=0x09)])
    assert sw1 == 0x9000
    if sw2 != 0x9000:
        return None, sw2
    offcard = host.OffCardKeyAgreement(pki.smdp, host.point(pki.ecasd), 0x30, key_type=key_type)
    rc = dict(host.parse_tlvs(rc_tlv))[0x85]
    (response, sw), = smsr.run([host.store_data(offcard.second_store_data(rc), p1=0x89, p2=0x01)])
    return offcard, response, sw


def test_establish_isdp_key_set(smsr, card, pki):
    offcard, response, sw = personalise_isdp(smsr, pki)
    assert sw == 0x9000
    receipt, keys = offcard.keys(response)
    assert dict(host.parse_tlvs(response))[0x86] == receipt
    assert card.services.registry.get(AID).lifecycle == 0x0F


def test_isdp_key_set_is_aes_only(smsr, card, pki):
    """A TLS PSK key type ('85', the ISD-R's SCP81 key sets) in an ISD-P's CRT: '6A80', still SELECTABLE."""
    _, _, sw = personalise_isdp(smsr, pki, key_type=0x85)
    assert sw == 0x6A80 and card.services.registry.get(AID).lifecycle == 0x07


def test_smsr_certificate_cannot_establish_isdp_keys(smsr, pki):
    _, sw = personalise_isdp(smsr, pki, cert=pki.cert(pki.smsr, 0x02))
    assert sw == 0x6A80


def scp03t_run(smsr, items: list[bytes]) -> list[tuple[int, bytes]]:
    script = host.ber(0xAA, b"".join(items))
    data, sw = smsr.deliver(smsr.packet(script, tar=AID[12:15]))
    body = host.parse_tlvs(smsr.por(data).data)[0][1]
    return host.parse_tlvs(body)[1:]


def upp() -> bytes:
    return TS48_V7.read_bytes()


def test_download_and_installation_over_scp03t(smsr, card, pki):
    package = upp()
    offcard, response, _ = personalise_isdp(smsr, pki)
    _, (enc, mac, _dek) = offcard.keys(response)
    sd = host.Scp03tHost(enc, mac)
    (tag, value), = scp03t_run(smsr, [sd.initialize_update()])
    assert tag == 0x84
    assert scp03t_run(smsr, [sd.external_authenticate(host.ber(tag, value), AID)]) == [(0x85, b"")]
    chunks = [package[i:i + 900] for i in range(0, len(package), 900)]   # 16-SMS reassembly buffer
    for start in range(0, len(chunks), 2):
        answers = scp03t_run(smsr, [sd.data(c) for c in chunks[start:start + 2]])
        assert answers == [(0x86, b"")] * len(chunks[start:start + 2])
    record = card.services.profiles.get(AID)
    assert record.state == 0 and card.services.registry.get(AID).lifecycle == 0x1F


def test_scp03t_with_wrong_mac_is_refused(smsr, pki):
    offcard, response, _ = personalise_isdp(smsr, pki)
    _, (enc, mac, _dek) = offcard.keys(response)
    sd = host.Scp03tHost(enc, bytes(16))
    (tag, value), = scp03t_run(smsr, [sd.initialize_update()])
    assert tag == 0x84
    # host's session keys from a wrong MAC key: the card cryptogram check fails on the host side
    with pytest.raises(AssertionError):
        sd.external_authenticate(host.ber(tag, value), AID)


def test_connectivity_parameters_token_key_and_master_delete(smsr, card, pki):
    offcard, response, _ = personalise_isdp(smsr, pki)
    _, (enc, mac, dek) = offcard.keys(response)
    scp = Scp03Host(HostKeySet(0x30, enc, mac, dek), 0x03)
    (rsp, sw), = smsr.run([scp.initialize_update()], tar=AID[12:15])
    scp.process_initialize_update(rsp, AID)
    (_, sw), = smsr.run([scp.external_authenticate()], tar=AID[12:15])
    assert sw == 0x9000
    params = host.dgi(0x3A07, host.ber(0xA0, host.ber(0x06, bytes.fromhex("913386994211F1"))))
    token_key = bytes(range(16))
    wrapped = AES.new(dek, AES.MODE_CBC, iv=bytes(16)).encrypt(token_key)
    put_key = bytes([0x80, 0xD8, 0x00, 0x70, 24, 0x70, 0x88, 0x11, 0x10]) + wrapped + b"\x03" + kcv(token_key)
    results = smsr.run([scp.wrap(host.store_data(params)), scp.wrap(put_key)], tar=AID[12:15])
    assert [sw for _, sw in results] == [0x9000, 0x9000]
    assert card.store.get(f"isdp/{AID.hex().upper()}/connectivity") == params[3:]
    body = host.ber(0x4F, AID) + host.ber(0xB6, host.ber(0x42, b"SMDP") + host.ber(0x93, b"\x01"))
    token = CMAC.new(token_key, msg=bytes([0x00, 0x40, len(body)]) + body, ciphermod=AES).digest()
    bad = body + host.ber(0x9E, bytes(16))
    assert smsr.one(bytes([0x80, 0xE4, 0x00, 0x40, len(bad)]) + bad + b"\x00")[1] == 0x6982
    good = body + host.ber(0x9E, token)
    assert smsr.one(bytes([0x80, 0xE4, 0x00, 0x40, len(good)]) + good + b"\x00")[1] == 0x9000
    assert card.services.registry.get(AID) is None


def test_isdp_commands_need_the_ota_channel(terminal):
    _, sw = terminal.send(bytes.fromhex("00A4040010") + AID)
    assert sw == 0x6A82                                         # not selectable by the terminal
