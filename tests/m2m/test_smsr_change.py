"""SM-SR change (SGP.02 v4.2 §3.8): ES5.EstablishISDRKeySet (GP Amd E scenario #3, checked by an
independent host implementation of the receipt) and ES5.FinaliseISDRhandover."""
from __future__ import annotations

from tests.m2m import host
from tools.ota import packet as ota
from tools.ota import transport

GET_EID = bytes.fromhex("80CA005A00")


def establish(smsr, pki, kvn=0x02, signer=None, cert=None, bare=False, kuq=0x10, key_type=0x88):
    cert = cert if cert is not None else pki.cert(pki.smsr, 0x02)
    (rc_tlv, sw), = smsr.run([host.store_data(host.dgi(0x3A01, cert), p1=0x09)])
    if sw != 0x9000:
        return None, sw
    rc = dict(host.parse_tlvs(rc_tlv))[0x85]
    offcard = host.OffCardKeyAgreement(signer or pki.smsr, host.point(pki.ecasd), kvn, kuq, key_type=key_type)
    (receipt, sw), = smsr.run([host.store_data(offcard.second_store_data(rc, bare), p1=0x89, p2=0x01)])
    return (offcard, receipt), sw


def test_smsr_change_end_to_end(smsr, card, pki, terminal):
    (offcard, response), sw = establish(smsr, pki)
    assert sw == 0x9000
    receipt, (kic, kid, dek) = offcard.keys(response)
    assert dict(host.parse_tlvs(response))[0x86] == receipt
    new = host.OtaServer(terminal, ota.OtaKeyset(0x02, ota.AES, kic, ota.AES, kid))
    assert new.one(GET_EID)[1] == 0x9000                       # the new SM-SR's keys work
    assert new.one(bytes.fromhex("80E400000A F203020103 F203410102".replace(" ", "")))[1] == 0x6985
    assert new.one(bytes.fromhex("80E400000A F203010103 F203410102".replace(" ", ""))) == (b"", 0x9000)
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID])))
    assert new.por(data).status == 0x06                          # the old key set is gone
    assert card.store.get("m2m/isdr/scp80/02").dek == dek


def test_bare_ephemeral_point_is_accepted(smsr, pki):
    (_, response), sw = establish(smsr, pki, bare=True)
    assert sw == 0x9000 and 0x86 in dict(host.parse_tlvs(response))


def test_certificate_not_from_the_ci_is_refused(smsr, pki):
    _, sw = establish(smsr, pki, cert=pki.cert(pki.smsr, 0x02, issuer=pki.eum))
    assert sw == 0x6982


def test_certificate_with_wrong_role_is_refused(smsr, pki):
    _, sw = establish(smsr, pki, cert=pki.cert(pki.smsr, 0x01))
    assert sw == 0x6A80


def test_signature_by_another_key_is_refused(smsr, pki, card):
    _, sw = establish(smsr, pki, signer=pki.smdp)
    assert sw == 0x6982 and card.store.get("m2m/isdr/scp80/02") is None


def test_key_agreement_without_certificate_is_refused(smsr, pki):
    offcard = host.OffCardKeyAgreement(pki.smsr, host.point(pki.ecasd), 0x02)
    (_, sw), = smsr.run([host.store_data(offcard.second_store_data(bytes(16)), p1=0x89, p2=0x01)])
    assert sw == 0x6985


def test_existing_kvn_is_refused(smsr, pki):
    _, sw = establish(smsr, pki, kvn=0x01)
    assert sw == 0x6A80


def test_finalise_unknown_key_set(smsr):
    assert smsr.one(bytes.fromhex("80E4000005F203070103"))[1] == 0x6A88
    assert smsr.one(bytes.fromhex("80E4000004F2030701"))[1] == 0x6A80


def test_scp81_key_set_replaced_at_smsr_change(smsr, card, pki, terminal):
    """SGP.02 §3.8 with SCP81 (GP Amd B): the new SM-SR puts its PSK-TLS key set with PUT KEY
    ciphered with the DEK of its new SCP80 key set, and FinaliseISDRhandover removes the old SM-SR's
    SCP80 and SCP81 key sets together."""
    from tests.m2m.conftest import DEK
    from tools.smsr_https.psk_keys import kcv, put_psk_key
    old_psk, new_psk = bytes(range(16)), bytes(range(16, 32))
    assert smsr.one(put_psk_key(0x40, old_psk, None, DEK))[1] == 0x9000     # the old SM-SR's PSK
    (offcard, response), sw = establish(smsr, pki)
    _, (kic, kid, dek) = offcard.keys(response)
    new = host.OtaServer(terminal, ota.OtaKeyset(0x02, ota.AES, kic, ota.AES, kid))
    assert new.one(put_psk_key(0x41, new_psk, None, DEK))[1] == 0x9485      # ciphered with the old DEK: bad KCV
    assert new.one(put_psk_key(0x41, new_psk, None, dek)) == (b"\x41" + kcv(new_psk), 0x9000)
    assert new.one(bytes.fromhex("80E400000A F203010103 F203400102".replace(" ", ""))) == (b"", 0x9000)
    assert card.store.keys("m2m/isdr/scp81/") == ["m2m/isdr/scp81/41"]
    assert card.store.keys("m2m/isdr/scp80/") == ["m2m/isdr/scp80/02"]


def test_scp81_key_set_established_from_the_shared_secret(smsr, card, pki):
    """SGP.02 §3.8 key establishment of an SCP81 key set (GP Amd E scenario #3): KVN '41', key type
    '85' (TLS PSK), KUQ '5C' (one key): the PSK is the first key of the X9.63 key data, whose
    sharedInfo carries the CRT's key type ('5C 85 10'); no DEK comes with it."""
    (offcard, response), sw = establish(smsr, pki, kvn=0x41, kuq=0x5C, key_type=0x85)
    assert sw == 0x9000
    receipt, (psk,) = offcard.keys(response)
    assert dict(host.parse_tlvs(response))[0x86] == receipt
    stored = card.store.get("m2m/isdr/scp81/41")
    assert (stored.kvn, stored.psk, stored.dek) == (0x41, psk, b"")


def test_key_set_kind_must_fit_its_kvn_range(smsr, card, pki):
    """An AES key set in the SCP81 range, a PSK in the SCP80 range, an SCP81 key set of three keys:
    '6A80', nothing stored."""
    for kvn, kuq, key_type in ((0x41, 0x10, 0x88), (0x03, 0x5C, 0x85), (0x41, 0x10, 0x85)):
        _, sw = establish(smsr, pki, kvn=kvn, kuq=kuq, key_type=key_type)
        assert sw == 0x6A80, (kvn, kuq, key_type)
    assert card.store.keys("m2m/isdr/scp81/") == [] and card.store.get("m2m/isdr/scp80/03") is None


def test_finalise_is_all_or_nothing(smsr, card, pki):
    """A DELETE whose second item is refused (unknown SCP80 key set) deletes nothing."""
    assert establish(smsr, pki)[1] == 0x9000
    assert establish(smsr, pki, kvn=0x41, kuq=0x5C, key_type=0x85)[1] == 0x9000
    assert smsr.one(bytes.fromhex("80E400000F F203020103 F203410101 F203070103".replace(" ", "")))[1] == 0x6A88
    assert card.store.get("m2m/isdr/scp80/02") is not None and card.store.get("m2m/isdr/scp81/41") is not None
