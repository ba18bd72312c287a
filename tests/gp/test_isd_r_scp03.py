"""GlobalPlatform card management on the ISD-R over SCP03, in process (GP Card Spec v2.3 §11,
GP Amd D §6-§7): secure channel levels 01 / 03 / 33 in S8 and S16 mode, the commands inside it,
PUT KEY / DELETE of key sets, and the refusals.  The host side is tools/scp/scp03_host.py."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.gp import key_store
from euicc.gp.registry import Registry, RegistryEntry
from tests.extensions import requires
from tests.gp.helpers import DEFAULT_KEYS, ISD_R_AID, SELECT_ISD_R, Terminal, new_card
from tools.scp.scp03_host import (DD_HOST_CRYPTOGRAM, DD_S_MAC, HostKeySet, Scp03Host, Scp03HostError,
                                  cmac, delete_key_apdu, derive, key_data_field, kcv, put_key_apdu,
                                  put_key_response)

AES256 = HostKeySet(0x31, bytes(range(0x00, 0x20)), bytes(range(0x20, 0x40)), bytes(range(0x40, 0x60)))
AES192 = HostKeySet(0x32, bytes(range(0x60, 0x78)), bytes(range(0x78, 0x90)), bytes(range(0x90, 0xA8)))
GET_EID = "80E2910006BF3E035C015A00"                     # ES10c GetEID (SGP.22 §5.7.20)
GET_STATUS_ISD = "80F28002024F0000"
KEY_INFO = "80CA00E000"


@pytest.fixture
def card():
    c = new_card()
    yield c
    c.close()


@pytest.fixture
def term(card) -> Terminal:
    return Terminal(card.transmit)


def key_info(term: Terminal) -> bytes:
    r = term.send(KEY_INFO)
    assert r.sw == 0x9000
    return r.data


# -- the default key set and the channel at each level --------------------------------------


def test_default_key_information(term):
    """GET DATA 'E0' (GP CS §11.3.3.1): KVN 30, key IDs 01-03, AES ('88'), 16 bytes."""
    term.send(SELECT_ISD_R)
    assert key_info(term) == bytes.fromhex("E012" "C00401308810" "C00402308810" "C00403308810")


@requires("rsp")   # ES10 GetEID inside the channel
@pytest.mark.parametrize("s_mode", (8, 16))
@pytest.mark.parametrize("level", (0x01, 0x03, 0x33))
def test_channel_at_each_level(card, term, level, s_mode):
    key_store.set_isd_r_mode(card.store, s16=s_mode == 16)
    host = term.open_scp03(level=level, s_mode=s_mode)
    assert host.i_parameter == (0x71 if s_mode == 16 else 0x70)
    status = term.secure(host, GET_STATUS_ISD)
    assert status.sw == 0x9000 and status.data.startswith(bytes.fromhex("E31B4F10") + ISD_R_AID)
    assert term.secure(host, GET_EID).data == bytes.fromhex("BF3E125A10") + card.services.eid
    assert term.secure(host, KEY_INFO).data[:2] == bytes.fromhex("E012")
    card_data = term.secure(host, "80CA006600").data
    assert bytes.fromhex("2A864886FC6B0403") + bytes([host.i_parameter]) in card_data  # GP §H.2 {gp 4 scp i}
    for tag in ("0042", "0045", "005A"):
        r = term.secure(host, f"80CA{tag}00")
        assert r.sw == 0x9000 and r.data[:1] == bytes.fromhex(tag[2:])


def test_get_status_more_data_is_r_maced(card, term):
    """A '6310' GET STATUS response (GP CS §11.4.3) carries data: it gets R-MAC / R-ENC too
    (Amd D §6.2.5: warnings '62xx' / '63xx' are protected), and 'next occurrence' continues."""
    with card.store.transaction():
        registry = Registry(card.store)
        for i in range(20):
            registry.put(RegistryEntry(bytes.fromhex("A0000009990000") + bytes((i, 1)), "APP", 0x07))
    host = term.open_scp03(level=0x33)
    r = term.secure(host, "80F24002024F0000")
    rounds = 0
    while r.sw == 0x6310:
        assert r.data[:1] == b"\xE3"
        r = term.secure(host, "80F24003024F0000")
        rounds += 1
    assert r.sw == 0x9000 and rounds >= 1


def test_s16_card_refuses_s8_host(card, term):
    key_store.set_isd_r_mode(card.store, s16=True)
    term.send(SELECT_ISD_R)
    host = Scp03Host(DEFAULT_KEYS, 0x33, s_mode=8)
    assert term.send(host.initialize_update()).sw == 0x6700       # an 8-byte host challenge
    host16 = Scp03Host(DEFAULT_KEYS, 0x33, s_mode=16)
    r = term.send(host16.initialize_update())
    assert r.sw == 0x9000 and len(r.data) == 10 + 3 + 16 + 16 + 3
    with pytest.raises(Scp03HostError):
        host.process_initialize_update(r.data)


@requires("rsp")
def test_es10_without_a_session_and_on_another_channel(term):
    """LPAs do not use SCP03: ES10 STORE DATA stays plain, also beside a session on channel 1."""
    term.send(SELECT_ISD_R)
    assert term.send(GET_EID).sw == 0x9000
    assert term.send("0070000001").data == b"\x01"
    term.send(bytes([0x01]) + SELECT_ISD_R[1:])
    host = Scp03Host(DEFAULT_KEYS, 0x33)
    r = term.send(bytes([0x81]) + host.initialize_update()[1:])
    host.process_initialize_update(r.data, sd_aid=ISD_R_AID)
    ea = host.external_authenticate()
    assert term.send(ea).sw == 0x6985          # channel 0 has no INITIALIZE UPDATE pending
    assert term.send(GET_EID).sw == 0x9000


# -- refusals -------------------------------------------------------------------------------


def _initialized(term: Terminal, level: int = 0x33) -> Scp03Host:
    term.send(SELECT_ISD_R)
    host = Scp03Host(DEFAULT_KEYS, level)
    r = term.send(host.initialize_update())
    host.process_initialize_update(r.data, sd_aid=ISD_R_AID)
    return host


def test_wrong_host_cryptogram_with_good_cmac(term):
    """Amd D §7.2.3: a host cryptogram that does not verify (behind a correct C-MAC) is 6300."""
    host = _initialized(term)
    context = host.host_challenge + host.card_challenge
    s_mac = derive(DEFAULT_KEYS.mac, DD_S_MAC, context, 128)
    wrong = bytes(b ^ 0xFF for b in derive(s_mac, DD_HOST_CRYPTOGRAM, context, 64))
    header = bytes.fromhex("8482330010")
    mac = cmac(s_mac, bytes(16) + header + wrong)[:8]
    assert term.send(header + wrong + mac).sw == 0x6300
    assert term.send(host.external_authenticate()).sw == 0x6985     # the session is gone


def test_wrong_cmac_on_external_authenticate(term):
    host = _initialized(term)
    apdu = bytearray(host.external_authenticate())
    apdu[-1] ^= 0x01
    assert term.send(bytes(apdu)).sw == 0x6982


def test_external_authenticate_without_initialize_update(term):
    host = _initialized(term)
    term.send(SELECT_ISD_R)                                    # re-SELECT ends the pending session
    assert term.send(host.external_authenticate()).sw == 0x6985


def test_replayed_session_is_refused(term):
    """The same host challenge gets a new card challenge (sequence counter): an old EXTERNAL
    AUTHENTICATE no longer verifies."""
    host = _initialized(term)
    replay = host.external_authenticate()
    again = Scp03Host(DEFAULT_KEYS, 0x33, host_challenge=host.host_challenge)
    r = term.send(again.initialize_update())
    assert r.sw == 0x9000 and r.data[13:21] != host.card_challenge
    assert term.send(replay).sw == 0x6982


@requires("rsp")
def test_replayed_command_ends_the_session(term):
    host = term.open_scp03()
    wrapped = host.wrap(bytes.fromhex(GET_STATUS_ISD))
    r = term.send(wrapped)
    assert r.sw == 0x9000
    host.unwrap(r.data, r.sw)
    assert term.send(wrapped).sw == 0x6982                     # C-MAC chaining
    assert term.send(host.wrap(bytes.fromhex(GET_STATUS_ISD))).sw == 0x6982   # session ended
    assert term.send(GET_EID).sw == 0x9000                     # plain again


def test_wrong_cmac_inside_the_session_runs_nothing(card, term):
    host = term.open_scp03()
    apdu = bytearray(host.wrap(put_key_apdu(DEFAULT_KEYS.dek, 0, AES256)))
    apdu[-2] ^= 0x01                                           # last C-MAC byte (before Le)
    assert term.send(bytes(apdu)).sw == 0x6982
    assert key_info(term) == bytes.fromhex("E012C00401308810C00402308810C00403308810")


def test_plain_command_inside_the_session_ends_it(term):
    host = term.open_scp03(level=0x01)
    assert term.send(GET_STATUS_ISD).sw == 0x6982
    assert term.send(host.wrap(bytes.fromhex(GET_STATUS_ISD))).sw == 0x6982


def test_secure_messaging_without_a_session(term):
    term.send(SELECT_ISD_R)
    assert term.send("84F280020A4F000102030405060708").sw == 0x6982


@pytest.mark.parametrize("kvn,sw", ((0x31, 0x6A88), (0x01, 0x6A88), (0x00, 0x9000)))
def test_initialize_update_key_version(term, kvn, sw):
    """KVN '00' is the first key set; one the ISD-R does not hold (an SCP80 KVN too) is 6A88."""
    term.send(SELECT_ISD_R)
    assert term.send(Scp03Host(DEFAULT_KEYS, 0x33).initialize_update(kvn)).sw == sw


@pytest.mark.parametrize("level", (0x02, 0x10, 0x12, 0x30, 0x31, 0x23))
def test_invalid_security_level(term, level):
    host = _initialized(term, level)
    assert term.send(host.external_authenticate()).sw == 0x6A86


@pytest.mark.parametrize("apdu", (put_key_apdu(DEFAULT_KEYS.dek, 0, AES256), delete_key_apdu(0x30)))
@pytest.mark.parametrize("level", (None, 0x00, 0x01))
def test_key_management_needs_c_dec(term, apdu, level):
    """PUT KEY / DELETE key need an authenticated session with C-MAC and C-DEC: 6982 below."""
    if level is None:
        term.send(SELECT_ISD_R)
        r = term.send(apdu)
    else:
        host = term.open_scp03(level=level)
        r = term.secure(host, apdu)
        term.send(SELECT_ISD_R)
    assert r.sw == 0x6982
    assert key_info(term) == bytes.fromhex("E012C00401308810C00402308810C00403308810")


def _put_key_data(new: HostKeySet, dek: bytes = DEFAULT_KEYS.dek) -> bytes:
    return put_key_apdu(dek, 0, new)[5:-1]


def _apdu(p1: int, p2: int, data: bytes) -> bytes:
    return bytes([0x80, 0xD8, p1, p2, len(data)]) + data + b"\x00"


BAD_KCV = bytearray(_put_key_data(AES256))
BAD_KCV[-1] ^= 0x01
DES_TYPE = bytearray(_put_key_data(AES256))
DES_TYPE[1] = 0x80
MIXED = bytes([0x31]) + key_data_field(DEFAULT_KEYS.dek, AES256.enc) + key_data_field(
    DEFAULT_KEYS.dek, AES192.mac) + key_data_field(DEFAULT_KEYS.dek, AES256.dek)


@pytest.mark.parametrize("apdu,sw", (
    (_apdu(0x00, 0x81, bytes(BAD_KCV)), 0x9485),                       # KCV does not match
    (_apdu(0x00, 0x81, bytes(DES_TYPE)), 0x9484),                      # not an AES key
    (put_key_apdu(DEFAULT_KEYS.dek, 0, DEFAULT_KEYS), 0x6A80),         # add: KVN 30 exists
    (put_key_apdu(DEFAULT_KEYS.dek, 0x3A, AES256), 0x6A88),            # replace: no KVN 3A
    (put_key_apdu(DEFAULT_KEYS.dek, 0, replace(AES256, kvn=0x40)), 0x6A80),   # not an SCP03 KVN
    (_apdu(0x00, 0x81, MIXED), 0x6A80),                                # two AES lengths in one set
    (put_key_apdu(DEFAULT_KEYS.dek, 0x30, AES256), 0x6A80),            # replace: other key length
    (_apdu(0x00, 0x01, _put_key_data(AES256)), 0x6A80),                # 3 keys, P2 says one
    (_apdu(0x00, 0x84, _put_key_data(AES256)), 0x6A86),                # key ID 04
    (_apdu(0x00, 0x81, _put_key_data(AES256)[:-4]), 0x6A80),           # truncated
    (_apdu(0x00, 0x81, _put_key_data(AES256, dek=bytes(16))), 0x9485),  # enciphered with another DEK
    (delete_key_apdu(0x30), 0x6985),                                   # the only complete key set
    (delete_key_apdu(0x3F), 0x6A88),
    (bytes.fromhex("80E4000004D202303100"), 0x6A80),                  # 'D2' of two bytes
    pytest.param(bytes.fromhex("80E40000034F0100"), 0x6982,            # an application: ES5 only (OTA)
                 marks=requires("m2m")),
))
def test_key_management_refusals_leave_the_keys(term, apdu, sw):
    host = term.open_scp03(level=0x03)
    assert term.secure(host, apdu).sw == sw
    assert term.secure(host, KEY_INFO).data == bytes.fromhex("E012C00401308810C00402308810C00403308810")


# -- PUT KEY / DELETE that succeed -------------------------------------------------------------


@pytest.mark.parametrize("length_byte", (True, False))
def test_put_key_adds_an_aes256_set_and_replaces_the_default(card, term, length_byte):
    host = term.open_scp03()
    r = term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0, AES256, length_byte))
    assert (r.data, r.sw) == (put_key_response(AES256), 0x9000)
    assert term.secure(host, KEY_INFO).data == bytes.fromhex(
        "E024C00401308810C00402308810C00403308810C00401318820C00402318820C00403318820")
    replacement = HostKeySet(0x30, *(bytes(b ^ 0x5A for b in k) for k in (DEFAULT_KEYS.enc, DEFAULT_KEYS.mac, DEFAULT_KEYS.dek)))
    r = term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0x30, replacement))
    assert (r.data, r.sw) == (put_key_response(replacement), 0x9000)
    for keys in (AES256, replacement):
        assert term.secure(term.open_scp03(keys), GET_STATUS_ISD).sw == 0x9000
    term.send(SELECT_ISD_R)
    host = Scp03Host(DEFAULT_KEYS, 0x33)
    r = term.send(host.initialize_update())
    with pytest.raises(Scp03HostError):                         # the old keys are gone
        host.process_initialize_update(r.data)


def test_aes192_set_single_key_rotation_and_new_kvn(term):
    host = term.open_scp03(level=0x03)
    assert term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0, AES192)).sw == 0x9000
    host = term.open_scp03(AES192, level=0x03)
    new_mac = bytes(range(0xA8, 0xC0))
    single = bytes([0x33]) + key_data_field(AES192.dek, new_mac)       # replace key 02 of KVN 32 -> KVN 33
    r = term.secure(host, _apdu(0x32, 0x02, single))
    assert (r.data, r.sw) == (bytes([0x33]) + kcv(new_mac), 0x9000)
    rotated = HostKeySet(0x33, AES192.enc, new_mac, AES192.dek)
    assert term.secure(term.open_scp03(rotated), GET_STATUS_ISD).sw == 0x9000


def test_delete_one_key_then_put_it_back(term):
    """pySim's delete_key removes one key ('D0' 'D2'); the incomplete set opens no channel."""
    host = term.open_scp03(level=0x03)
    assert term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0, AES256)).sw == 0x9000
    r = term.secure(host, delete_key_apdu(0x31, key_id=0x02))
    assert (r.data, r.sw) == (b"\x00", 0x9000)
    assert term.secure(host, KEY_INFO).data == bytes.fromhex(
        "E01EC00401308810C00402308810C00403308810C00401318820C00403318820")
    r = term.secure(host, _apdu(0x00, 0x02, bytes([0x31]) + key_data_field(DEFAULT_KEYS.dek, AES256.mac)))
    assert r.sw == 0x9000
    assert term.secure(term.open_scp03(AES256), delete_key_apdu(0x30)).sw == 0x9000
    term.send(SELECT_ISD_R)
    assert term.send(Scp03Host(DEFAULT_KEYS, 0x33).initialize_update()).sw == 0x6A88


def test_replaced_keys_survive_a_restart(tmp_path):
    state = tmp_path / "card.state"
    card = open_card(state, CardConfig(t0=False))
    term = Terminal(card.transmit)
    host = term.open_scp03()
    assert term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0, AES256)).sw == 0x9000
    assert term.secure(term.open_scp03(AES256), delete_key_apdu(0x30)).sw == 0x9000
    counter = term.open_scp03(AES256).sequence_counter
    card.close()
    card = open_card(state, CardConfig(t0=False))
    term = Terminal(card.transmit)
    host = term.open_scp03(AES256)
    assert host.sequence_counter == counter + 1
    assert term.secure(host, KEY_INFO).data == bytes.fromhex("E012C00401318820C00402318820C00403318820")
    term.send(SELECT_ISD_R)
    assert term.send(Scp03Host(DEFAULT_KEYS, 0x33).initialize_update()).sw == 0x6A88
    card.close()


# -- arbitrary key management data -------------------------------------------------------------

KEY_MANAGEMENT_SWS = {0x9000, 0x6700, 0x6985, 0x6A80, 0x6A86, 0x6A88, 0x9484, 0x9485}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ins=st.sampled_from((0xD8, 0xE4)), p1=st.integers(0, 0xFF), p2=st.integers(0, 0xFF),
       data=st.binary(min_size=0, max_size=120))
def test_arbitrary_key_management_data(ins, p1, p2, data):
    """Any PUT KEY / DELETE body in a level-03 session: a GP status word, never 6F00, and the
    key information changes only with 9000."""
    card = new_card()
    try:
        term = Terminal(card.transmit)
        host = term.open_scp03(level=0x03)
        before = term.secure(host, KEY_INFO).data
        if ins == 0xE4 and data[:1] not in (b"\xD0", b"\xD2"):
            data = b"\xD2" + data                  # a key DELETE, not ES5's
        apdu = bytes([0x80, ins, p1, p2]) + (bytes([len(data)]) + data if data else b"")
        r = term.secure(host, apdu)
        assert r.sw in KEY_MANAGEMENT_SWS
        if r.sw != 0x9000:
            assert term.secure(host, KEY_INFO).data == before
    finally:
        card.close()
