"""The SMS-PP OTA path (ETSI TS 102 223 §7.1.1, TS 31.115, TS 102 225 §5, TS 102 226 §5):
packets built by the host builder tools/ota, answered by the card through Card.transmit."""
from __future__ import annotations

from tests.m2m import host
from tests.m2m.conftest import KIC, KID
from tools.ota import packet as ota
from tools.ota import transport

GET_EID = bytes.fromhex("80CA005A00")


def test_expanded_script_runs_on_isdr_and_answers_with_por(smsr, card):
    (data, sw), = smsr.run([GET_EID])
    assert sw == 0x9000
    assert data == b"\x5a\x10" + card.services.eid


def test_compact_script_response(smsr, card):
    data, sw = smsr.deliver(smsr.packet(transport.compact_script([GET_EID])))
    por = smsr.por(data)
    assert sw == 0x9000 and por.status == 0x00 and por.checksum_valid
    result = transport.decode_compact_response(por.data)
    assert result.executed == 1 and result.responses[0] == b"\x5a\x10" + card.services.eid + b"\x90\x00"


def test_indefinite_script_answers_without_count(smsr):
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID], indefinite=True)))
    por = smsr.por(data)
    assert por.data[:2] == b"\xaf\x80" and por.data[-2:] == b"\x00\x00"
    assert transport.decode_expanded_response(por.data).responses[0][-2:] == b"\x90\x00"


def test_concatenated_sms_is_reassembled(smsr):
    apdus = [GET_EID] * 30              # > 140 bytes: several SMS-DELIVERs
    packet = smsr.packet(transport.expanded_script(apdus))
    assert len(transport.sms_deliver_tpdus(packet)) > 1
    data, sw = smsr.deliver(packet)
    (tag, body), = host.parse_tlvs(smsr.por(data).data)    # 'AB' with a 2-byte length
    items = host.parse_tlvs(body)
    assert sw == 0x9000 and tag == 0xAB and items[0] == (0x80, b"\x1e") and len(items) == 31


def test_unknown_tar_gives_por_09(smsr):
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID]), tar=bytes.fromhex("ABCDEF")))
    assert smsr.por(data).status == 0x09


def test_bad_checksum_gives_por_01(smsr, terminal):
    wrong = host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, KIC, ota.AES, bytes(16)))
    data, _ = wrong.deliver(wrong.packet(transport.expanded_script([GET_EID]), spi=bytes.fromhex("1619")))
    assert smsr.por(data).status == 0x01


def test_unknown_key_set_is_refused(smsr, terminal):
    other = host.OtaServer(terminal, ota.OtaKeyset(0x05, ota.AES, KIC, ota.AES, KID))
    data, _ = other.deliver(other.packet(transport.expanded_script([GET_EID])))
    assert ota.decode_response_packet(other.keyset, host.SPI_CC_CIPHER_POR, data).status == 0x06


def test_wrong_kic_gives_ciphering_error(smsr, terminal):
    wrong = host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, bytes(16), ota.AES, KID))
    data, _ = wrong.deliver(wrong.packet(transport.expanded_script([GET_EID])))
    # the deciphered counter/padding/CC are garbage: the CC check fails first
    assert smsr.por(data).status in (0x01, 0x05)


def test_replayed_counter_is_refused_and_counter_persisted(smsr, card):
    smsr.run([GET_EID], counter=10)
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID]), counter=10))
    assert smsr.por(data).status == 0x02
    assert card.store.get("m2m/isdr/scp80/01").counter == 10


def test_counter_is_persisted_even_when_the_command_fails(smsr, card):
    (_, sw), = smsr.run([bytes.fromhex("80CA00FF00")], counter=42)
    assert sw == 0x6A88
    assert card.store.get("m2m/isdr/scp80/01").counter == 42


def test_por_by_sms_submit(smsr, terminal):
    data, sw = smsr.deliver(smsr.packet(transport.expanded_script([GET_EID]), spi=host.SPI_POR_SUBMIT))
    assert data == b"" and sw == 0x9000
    sms, = terminal.take(0x13)
    tpdu = dict(host.parse_tlvs(host.parse_tlvs(sms)[0][1]))[0x8B]
    submit = transport.parse_sms_submit(tpdu)
    assert submit.destination == smsr.originator and submit.udh == b"\x71\x00"
    por = ota.decode_response_packet(smsr.keyset, host.SPI_POR_SUBMIT, b"\x02\x71\x00" + submit.payload)
    assert por.status == 0 and por.checksum_valid
    assert transport.decode_expanded_response(por.data).responses[0][-2:] == b"\x90\x00"


def test_es5_is_refused_outside_the_ota_channel(terminal, first_isdp):
    _, sw = terminal.send(bytes.fromhex("00A4040010") + host.ISDR_AID)
    assert sw == 0x9000
    _, sw = terminal.send(host.store_data(host.dgi(0x3A05, host.ber(0x4F, first_isdp))))
    assert sw == 0x6982


def test_es5_is_refused_without_security(smsr, card, first_isdp):
    """SPI '0001' is below the ISD-R's Minimum Security Level (TS 102 226 §8.2.1.3.2.2, SGP.02
    §2.4): PoR '0A' (TS 102 225 §5.2), unsecured, and nothing runs (was '6982' inside the PoR)."""
    script = transport.expanded_script([host.store_data(host.dgi(0x3A05, host.ber(0x4F, first_isdp)))])
    data, _ = smsr.deliver(smsr.packet(script, spi=bytes.fromhex("0001")))
    por = smsr.por(data, spi=bytes.fromhex("0001"))
    assert (por.status, por.checksum_valid, por.data) == (0x0A, None, b"")
    assert card.services.profiles.enabled().isdp_aid == first_isdp


def test_malformed_envelope_is_6a80(terminal):
    tpdu = transport.sms_deliver_tpdus(b"\x00\x01")[0]
    _, sw = terminal.send(transport.envelope_apdu(tpdu[:-3]))
    assert sw == 0x6A80


def test_rfm_tar_reaches_the_enabled_profile_file_system(card, terminal, first_isdp):
    from euicc.m2m.records import OtaKeySet
    with card.store.transaction():
        card.store.put(f"isdp/{first_isdp.hex().upper()}/scp80/03", OtaKeySet(0x03, KID, KIC))
    mno = host.OtaServer(terminal, ota.OtaKeyset(0x03, ota.AES, KID, ota.AES, KIC))
    (data, sw), = mno.run([bytes.fromhex("00A40004022FE2")], tar=bytes.fromhex("B00000"))
    assert sw == 0x9000 and data[:1] == b"\x62"


def test_rfm_tar_below_the_minimum_security_level(card, terminal, first_isdp):
    """The SGP.02 ``rfm_tars`` route has the ISD-R's minimum security level (CC, ciphering,
    counter higher): a CC-only packet gets PoR '0A' (TS 102 226 §8.2.1.3.2.2)."""
    from euicc.m2m.records import OtaKeySet
    with card.store.transaction():
        card.store.put(f"isdp/{first_isdp.hex().upper()}/scp80/03", OtaKeySet(0x03, KID, KIC))
    mno = host.OtaServer(terminal, ota.OtaKeyset(0x03, ota.AES, KID, ota.AES, KIC))
    spi = bytes.fromhex("0209")
    data, _ = mno.deliver(mno.packet(transport.expanded_script([bytes.fromhex("00A40004022FE2")]),
                                     tar=bytes.fromhex("B00000"), spi=spi))
    assert mno.por(data, spi=spi).status == 0x0A
