"""Security refusals of the SGP.02 card side (issue #6 item 4, issue #5's untested refusals), each
checked over the air with the exact answer the specs give and with the card's state unchanged:

- SCP03t (SGP.02 v4.2 §4.1.3.3, GP Amd D computations; response codings SPEC_NOTES §2.5 / §8.6:
  '9F45 01 01' / '9F46 01 01' verification failure, '9F45 01 02' / '9F46 01 02' other error):
  wrong host cryptogram or C-MAC in EXTERNAL AUTHENTICATE, wrong C-MAC or padding on a data
  block, data before authentication, replayed and reordered blocks (MAC chaining);
- SCP80 for ES5 (ETSI TS 102 225 §5.1.1-§5.1.3, PoR status codes §5.2 Table 5): wrong KIc,
  wrong KID, lower counter, counter not exactly one higher, the minimum security level
  (TS 102 226 §8.2.1.3.2.2, '0A'), a 3DES header on the AES key set, replays, and a counter
  that a packet without counter check may not lower;
- certificates of the SM-SR change and of ES8 key establishment (SGP.02 §3.1.2 / §3.10, GP Amd E
  scenario #3): not from the CI, signature over another challenge, replayed key agreement.

Refusals already covered in tests/m2m (unknown TAR '09', unknown key set '06', replayed equal
counter '02', certificate of the wrong role, SM-SR certificate not from the CI, signature by
another key, key agreement without certificate) are not repeated here.  Expected values come
from the host side (tests/m2m/host.py, tools/ota, tools/scp), never from the card's modules.
"""
from __future__ import annotations

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from euicc.crypto.scp80 import MinimumSecurityLevel
from euicc.m2m.settings import M2mSettings
from tests.m2m import host
from tests.m2m.conftest import KIC, KID, card, clock, first_isdp, pki, settings, smsr, terminal  # noqa: F401
from tests.m2m.test_es8 import AID, personalise_isdp, scp03t_run
from tools.fuzz.invariants import snapshot
from tools.ota import packet as ota
from tools.ota import transport
from tools.scp.scp03_host import DD_HOST_CRYPTOGRAM, derive

GET_EID = bytes.fromhex("80CA005A00")
TAR = AID[12:15]


def unchanged(card) -> dict:  # noqa: F811 - the card fixture
    """The committed state except the SCP80 counters, which a refused packet may not touch
    but an accepted probe does."""
    return {k: v for k, v in snapshot(card.store).items() if "/scp80/" not in k}


# -- SCP03t ------------------------------------------------------------------------------------
@pytest.fixture
def scp03t(smsr, pki):  # noqa: F811
    """An ISD-P with SCP03 keys from EstablishISDPKeySet, and the SM-DP's SCP03t side after a
    successful INITIALIZE UPDATE (the '84' answer is kept in ``sd.iu``)."""
    offcard, response, sw = personalise_isdp(smsr, pki)
    assert sw == 0x9000
    _, (enc, mac, _dek) = offcard.keys(response)
    sd = host.Scp03tHost(enc, mac)
    (tag, value), = scp03t_run(smsr, [sd.initialize_update()])
    assert tag == 0x84
    sd.iu = host.ber(tag, value)
    return sd


def external_authenticate(sd: host.Scp03tHost, cryptogram: bytes | None = None, mac: bytes | None = None) -> bytes:
    """'85' {33 host cryptogram C-MAC} (SPEC_NOTES §2.5), with a chosen cryptogram or MAC."""
    good = sd.external_authenticate(sd.iu, AID)                 # sets S-ENC / S-MAC, MCV
    if cryptogram is None and mac is None:
        return good
    ctx = sd.host_challenge + dict(host.parse_tlvs(sd.iu))[0x84][13:21]
    body = b"\x33" + (cryptogram or derive(sd.s_mac, DD_HOST_CRYPTOGRAM, ctx, 64))
    chained = CMAC.new(sd.s_mac, msg=bytes(16) + b"\x85\x11" + body, ciphermod=AES).digest()
    return host.ber(0x85, body + (mac or chained[:8]))


def test_refusals_scp03t_wrong_host_cryptogram(smsr, scp03t, card):  # noqa: F811
    before = unchanged(card)
    assert scp03t_run(smsr, [external_authenticate(scp03t, cryptogram=bytes(8))]) == [(0x9F45, b"\x01")]
    assert unchanged(card) == before


def test_refusals_scp03t_wrong_cmac_on_external_authenticate(smsr, scp03t):
    assert scp03t_run(smsr, [external_authenticate(scp03t, mac=bytes(8))]) == [(0x9F45, b"\x01")]


def test_refusals_scp03t_external_authenticate_without_initialize_update(smsr, pki):  # noqa: F811
    personalise_isdp(smsr, pki)
    assert scp03t_run(smsr, [host.ber(0x85, bytes(17))]) == [(0x9F45, b"\x02")]


def test_refusals_scp03t_second_external_authenticate(smsr, scp03t):
    first = external_authenticate(scp03t)
    assert scp03t_run(smsr, [first]) == [(0x85, b"")]
    assert scp03t_run(smsr, [first]) == [(0x9F45, b"\x02")]


def test_refusals_scp03t_data_without_session(smsr, pki):  # noqa: F811
    personalise_isdp(smsr, pki)
    assert scp03t_run(smsr, [host.ber(0x86, bytes(24))]) == [(0x9F46, b"\x02")]


def test_refusals_scp03t_data_before_external_authenticate(smsr, scp03t, card):  # noqa: F811
    scp03t.external_authenticate(scp03t.iu, AID)               # host keys, but the card never saw '85'
    assert scp03t_run(smsr, [scp03t.data(b"\xA0\x00")]) == [(0x9F46, b"\x02")]
    assert AID not in [r.isdp_aid for r in card.services.profiles.records()]


def test_refusals_scp03t_wrong_cmac_on_data(smsr, scp03t):
    assert scp03t_run(smsr, [external_authenticate(scp03t)]) == [(0x85, b"")]
    block = scp03t.data(b"\xA0\x03\x80\x01\x02")
    assert scp03t_run(smsr, [block[:-1] + bytes([block[-1] ^ 1])]) == [(0x9F46, b"\x01")]
    # the session is closed: the next block, even a well-formed one, is out of sequence
    assert scp03t_run(smsr, [scp03t.data(b"\xA0\x00")]) == [(0x9F46, b"\x02")]


def test_refusals_scp03t_wrong_padding(smsr, scp03t):
    """A block whose deciphered data lacks the '80 00..' padding (GP Amd D §6.2.6) but whose
    C-MAC is right."""
    assert scp03t_run(smsr, [external_authenticate(scp03t)]) == [(0x85, b"")]
    scp03t.counter += 1
    icv = AES.new(scp03t.s_enc, AES.MODE_ECB).encrypt(scp03t.counter.to_bytes(16, "big"))
    ct = AES.new(scp03t.s_enc, AES.MODE_CBC, iv=icv).encrypt(b"\xA0\x00" + bytes(14))   # no '80'
    mac = CMAC.new(scp03t.s_mac, msg=scp03t.mcv + b"\x86\x18" + ct, ciphermod=AES).digest()
    assert scp03t_run(smsr, [host.ber(0x86, ct + mac[:8])]) == [(0x9F46, b"\x01")]


def test_refusals_scp03t_replayed_block(smsr, scp03t):
    assert scp03t_run(smsr, [external_authenticate(scp03t)]) == [(0x85, b"")]
    block = scp03t.data(b"\xA0\x00")
    assert scp03t_run(smsr, [block]) == [(0x86, b"")]
    assert scp03t_run(smsr, [block]) == [(0x9F46, b"\x01")]


def test_refusals_scp03t_blocks_out_of_order(smsr, scp03t):
    assert scp03t_run(smsr, [external_authenticate(scp03t)]) == [(0x85, b"")]
    first, second = scp03t.data(b"\xA0\x00"), scp03t.data(b"\xA0\x00")
    assert scp03t_run(smsr, [second, first]) == [(0x9F46, b"\x01")]   # the script stops at '9F'


# -- SCP80 for ES5 ------------------------------------------------------------------------------
def disable(aid: bytes) -> bytes:
    """ES5.DisableProfile (DGI '3A04', SGP.02 §4.1.1.3)."""
    return host.store_data(host.dgi(0x3A04, host.ber(0x4F, aid)))


def por_of(server: host.OtaServer, apdus: list[bytes], spi: bytes = host.SPI_CC_CIPHER_POR, **kw):
    data, sw = server.deliver(server.packet(transport.expanded_script(apdus), spi=spi, **kw))
    assert sw == 0x9000
    return server.por(data, spi=spi)


@pytest.mark.parametrize("wrong", ["kic", "kid"])
def test_refusals_scp80_wrong_key_gives_unsecured_por_01(terminal, card, first_isdp, wrong):  # noqa: F811
    """TS 102 225 §5.1.3: the CC is over the plain data, so a wrong KIc (garbage after
    deciphering) and a wrong KID both fail it: PoR '01', sent without CC (RHL '0A')."""
    keys = {"kic": KIC, "kid": KID, wrong: bytes(16)}
    server = host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, keys["kic"], ota.AES, keys["kid"]))
    before = snapshot(card.store)
    por = por_of(server, [disable(first_isdp)])
    assert (por.status, por.checksum_valid, por.data) == (0x01, None, b"")
    assert snapshot(card.store) == before                      # not even the counter moved


def test_refusals_scp80_lower_counter(smsr, card):  # noqa: F811
    assert smsr.one(GET_EID, counter=20)[1] == 0x9000
    assert por_of(smsr, [GET_EID], counter=19).status == 0x02
    assert card.store.get("m2m/isdr/scp80/01").counter == 20


def test_refusals_scp80_counter_not_exactly_one_higher(smsr, card):  # noqa: F811
    """SPI b5-b4 = '11': process only if exactly one higher; '03' when higher by more."""
    spi = bytes.fromhex("1E19")
    assert smsr.one(GET_EID, counter=5)[1] == 0x9000
    assert por_of(smsr, [GET_EID], spi=spi, counter=7).status == 0x03
    assert por_of(smsr, [GET_EID], spi=spi, counter=5).status == 0x02
    assert por_of(smsr, [GET_EID], spi=spi, counter=6).status == 0x00


# The refusal table (TS 102 225 §5.1, TS 102 226 §8.2.1.3.2.2, SGP.02 §2.4): packets from the host-side
# SCP80 (tools/ota/packet.py) to the ISD-R carrying ES5.DisableProfile of the enabled profile.  Each
# gets its PoR status, executes nothing and leaves every store row, the counter included, unchanged.
TDES = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
REFUSALS = {
    # below the ISD-R's Minimum Security Level '01 16' (CC + ciphering + counter higher): '0A'
    "cc_not_ciphered": (ota.OtaKeyset(1, ota.AES, KIC, ota.AES, KID), "1219", 0x0A),
    "no_counter": (ota.OtaKeyset(1, ota.AES, KIC, ota.AES, KID), "0619", 0x0A),
    "counter_not_checked": (ota.OtaKeyset(1, ota.AES, KIC, ota.AES, KID), "0E19", 0x0A),
    "redundancy_check_only": (ota.OtaKeyset(1, ota.AES, KIC, ota.CRC32, KID), "1515", 0x0A),
    "nothing": (ota.OtaKeyset(1, ota.AES, KIC, ota.AES, KID), "0001", 0x0A),
    # the algorithm belongs to the (AES) key set: a 3DES header is a downgrade, refused
    "3des_header_on_aes_key_set": (ota.OtaKeyset(1, ota.TDES2, TDES, ota.TDES2, TDES), "1619", 0x05),
    "3des_cc_on_aes_key_set": (ota.OtaKeyset(1, ota.AES, KIC, ota.TDES2, TDES), "1619", 0x01),
    "wrong_kid": (ota.OtaKeyset(1, ota.AES, KIC, ota.AES, bytes(16)), "1619", 0x01),
    "unknown_key_set": (ota.OtaKeyset(9, ota.AES, KIC, ota.AES, KID), "1619", 0x06),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_scp80_table(terminal, card, first_isdp, case):  # noqa: F811
    keyset, spi, status = REFUSALS[case]
    server = host.OtaServer(terminal, keyset, counter=0x1000)
    before = snapshot(card.store)
    por = por_of(server, [disable(first_isdp)], spi=bytes.fromhex(spi))
    assert (por.status, por.checksum_valid, por.data) == (status, None, b"")     # unsecured PoR
    assert snapshot(card.store) == before                  # nothing ran, the counter did not move
    assert card.services.profiles.enabled().isdp_aid == first_isdp


def test_refusals_scp80_replayed_packets(smsr, card, first_isdp):  # noqa: F811
    """A captured packet sent again: with a checked counter '02' (counter low); without counter
    (SPI '0601', which the ISD-R's minimum level refuses) '0A' both times: ES5.CreateISDP never runs."""
    from tests.m2m.test_es5 import create_isdp
    accepted = smsr.packet(transport.expanded_script([GET_EID]), spi=host.SPI_CC_CIPHER_POR, counter=0x1000)
    assert smsr.por(smsr.deliver(accepted)[0]).status == 0x00
    before = snapshot(card.store)
    assert smsr.por(smsr.deliver(accepted)[0]).status == 0x02
    captured = smsr.packet(transport.expanded_script([create_isdp(AID)]), spi=bytes.fromhex("0601"), counter=0)
    for _ in range(2):
        data, _ = smsr.deliver(captured)
        assert smsr.por(data, spi=bytes.fromhex("0601")).status == 0x0A
    assert snapshot(card.store) == before and card.services.registry.get(AID) is None


@pytest.mark.parametrize("settings", [M2mSettings(isdr_minimum_security_level=MinimumSecurityLevel.spi1(0x0E))])
def test_refusals_scp80_unchecked_counter_never_lowers_it(smsr, card, settings):  # noqa: F811
    """TS 102 225 §5.1.1: with 'counter available, no replay or sequence checking' (SPI '0E01',
    admitted here by an ISD-R MSL lowered to '01 0E') the CNTR is information only: the stored
    counter stays at 0x1000, and a packet captured at counter 0x800 stays refused ('02')."""
    old = smsr.packet(transport.expanded_script([GET_EID]), counter=0x800)
    assert smsr.one(GET_EID, counter=0x1000)[1] == 0x9000
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID]), spi=bytes.fromhex("0E19"), counter=5))
    assert smsr.por(data, spi=bytes.fromhex("0E19")).status == 0x00
    assert card.store.get("m2m/isdr/scp80/01").counter == 0x1000
    assert smsr.por(smsr.deliver(old)[0]).status == 0x02
    assert card.store.get("m2m/isdr/scp80/01").counter == 0x1000


@pytest.mark.parametrize("settings", [M2mSettings(isdr_minimum_security_level=MinimumSecurityLevel())])
def test_refusals_unauthenticated_packet_gets_nothing_from_the_isd_r(smsr, card, first_isdp, settings):  # noqa: F811
    """Defence in depth behind the minimum security level (here switched off, an empty MSL): a
    packet without cryptographic checksum proves no key (TS 102 225 §5.1.3), so the ISD-R refuses
    every command of it ('6982'), ES5 and ES10 (GetProfilesInfo / DisableProfile) alike."""
    before = unchanged(card)
    es10 = host.ber(0xBF32, host.ber(0xA0, host.ber(0x4F, first_isdp)) + host.ber(0x81, b"\x00"))
    for script in ([bytes([0x80, 0xE2, 0x91, 0x00, len(es10)]) + es10], [GET_EID, disable(first_isdp)]):
        por = por_of(smsr, script, spi=bytes.fromhex("0001"))
        assert por.status == 0x00
        assert transport.decode_expanded_response(por.data).responses == [b"\x69\x82"]
    assert unchanged(card) == before
    assert card.services.profiles.enabled().isdp_aid == first_isdp


# -- certificates ------------------------------------------------------------------------------
def second_store_data(signer, pki, kvn: int, rc: bytes) -> bytes:  # noqa: F811
    offcard = host.OffCardKeyAgreement(signer, host.point(pki.ecasd), kvn)
    return host.store_data(offcard.second_store_data(rc), p1=0x89, p2=0x01)


def smsr_certificate_step(smsr, pki) -> bytes:  # noqa: F811
    (rc_tlv, sw), = smsr.run([host.store_data(host.dgi(0x3A01, pki.cert(pki.smsr, 0x02)), p1=0x09)])
    assert sw == 0x9000
    return dict(host.parse_tlvs(rc_tlv))[0x85]


def test_refusals_smsr_change_signature_over_another_challenge(smsr, pki, card):  # noqa: F811
    rc = smsr_certificate_step(smsr, pki)
    other = bytes(b ^ 0xFF for b in rc)
    (_, sw), = smsr.run([second_store_data(pki.smsr, pki, 0x02, other)])
    assert sw == 0x6982 and card.store.get("m2m/isdr/scp80/02") is None


def test_refusals_smsr_change_replayed_key_agreement(smsr, pki, card):  # noqa: F811
    """The challenge is used once: the same signed '3A02' sent again after success is out of
    sequence ('6985') and creates nothing."""
    rc = smsr_certificate_step(smsr, pki)
    command = second_store_data(pki.smsr, pki, 0x02, rc)
    assert smsr.run([command])[0][1] == 0x9000
    before = unchanged(card)
    assert smsr.run([command])[0][1] == 0x6985
    assert unchanged(card) == before


def test_refusals_smsr_change_truncated_certificate(smsr, pki):  # noqa: F811
    cert = pki.cert(pki.smsr, 0x02)
    (_, sw), = smsr.run([host.store_data(host.dgi(0x3A01, cert[:-5]), p1=0x09)])
    assert sw == 0x6A80


def test_refusals_es8_certificate_not_from_the_ci(smsr, pki, card):  # noqa: F811
    assert personalise_isdp(smsr, pki, cert=pki.cert(pki.smdp, 0x01, issuer=pki.eum)) == (None, 0x6982)
    assert card.store.keys(f"isdp/{AID.hex().upper()}/scp03/") == []


@pytest.mark.parametrize("case", ["another_challenge", "another_key"])
def test_refusals_es8_key_agreement_signature(smsr, pki, card, case):  # noqa: F811
    from tests.m2m.test_es5 import create_isdp
    smsr.one(create_isdp(AID))
    install = bytes.fromhex("80E62000160000") + bytes([16]) + AID + bytes.fromhex("00000000")
    (_, sw1), (rc_tlv, sw2) = smsr.run([install, host.store_data(host.dgi(0x3A01, pki.cert(pki.smdp, 0x01)), p1=0x09)])
    assert (sw1, sw2) == (0x9000, 0x9000)
    rc = dict(host.parse_tlvs(rc_tlv))[0x85]
    signer, challenge = (pki.smdp, bytes(len(rc))) if case == "another_challenge" else (pki.smsr, rc)
    (_, sw), = smsr.run([second_store_data(signer, pki, 0x30, challenge)])
    assert sw == 0x6982
    assert card.store.keys(f"isdp/{AID.hex().upper()}/scp03/") == []
    assert card.services.registry.get(AID).lifecycle != 0x0F      # not PERSONALIZED
