"""SCP03 host <-> card round trips and the card's refusals (GP Amd D §6.2, §7)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from euicc.apdu import Command, SwError
from euicc.crypto.scp03 import (
    MAX_SEQUENCE_COUNTER,
    PaddingError,
    Scp03KeySet,
    Scp03Session,
    Scp03Settings,
    SessionState,
    cbc_decrypt,
)
from tests.crypto.helpers import ISD_R_AID
from tools.scp.scp03_host import HostKeySet, Scp03Host, Scp03HostError

KEYS = {n: (bytes(range(n)), bytes(range(0x10, 0x10 + n)), bytes(range(0x20, 0x20 + n))) for n in (16, 24, 32)}
LEVELS = (0x00, 0x01, 0x03, 0x11, 0x13, 0x33)
STORE_DATA = bytes.fromhex("80E2910006BF3E035C015A00")


def make_pair(level: int = 0x33, key_len: int = 16, kvn: int = 0x30, settings: Scp03Settings = Scp03Settings(),
              counter: int = 0) -> tuple[Scp03Session, Scp03Host]:
    enc, mac, dek = KEYS[key_len]
    card = Scp03Session({kvn: Scp03KeySet(kvn, enc, mac, dek, counter)}, ISD_R_AID, settings)
    # a fixed host challenge keeps every session (and so every ciphertext) deterministic
    return card, Scp03Host(HostKeySet(kvn, enc, mac, dek), level, host_challenge=bytes(range(8)))


def open_session(card: Scp03Session, host: Scp03Host) -> None:
    rsp = card.initialize_update(Command.parse(host.initialize_update()))
    host.process_initialize_update(rsp, sd_aid=ISD_R_AID)
    card.external_authenticate(Command.parse(host.external_authenticate()))


def sw_of(excinfo: pytest.ExceptionInfo) -> int:
    return excinfo.value.sw


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("key_len", (16, 24, 32))
@pytest.mark.parametrize("level", LEVELS)
def test_round_trip_every_level(level, key_len):
    card, host = make_pair(level, key_len)
    open_session(card, host)
    assert card.state is SessionState.AUTHENTICATED
    for apdu, rsp in ((STORE_DATA, b"\xbf\x3e\x03\x5a\x01\x02"), (bytes.fromhex("80F22002"), b""),
                      (bytes.fromhex("80CA006600"), bytes(40)), (bytes.fromhex("80F2800202" "4F0000"), b"\x01")):
        plain = card.unwrap(Command.parse(host.wrap(apdu)))
        assert plain == Command.parse(apdu)
        assert host.unwrap(card.wrap(rsp), 0x9000) == rsp


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=200), st.binary(max_size=200), st.sampled_from([0x9000, 0x6310, 0x6A88])),
                min_size=1, max_size=5))
def test_round_trip_random_traffic(traffic):
    card, host = make_pair(0x33)
    open_session(card, host)
    for data, rsp, sw in traffic:
        apdu = bytes([0x80, 0xE2, 0x91, 0x00, len(data)]) + data if data else bytes.fromhex("80E29100")
        got = card.unwrap(Command.parse(host.wrap(apdu)))
        assert got.data == data and got.cla == 0x80 and not got.secure_messaging
        body = card.wrap(rsp if sw != 0x6A88 else b"", sw)
        assert host.unwrap(body, sw) == (rsp if sw != 0x6A88 else b"")


@pytest.mark.parametrize("cla, wrapped_cla", [(0x81, 0x85), (0x83, 0x87), (0xC1, 0xE1)])
def test_logical_channels_keep_channel_bits(cla, wrapped_cla):
    card, host = make_pair(0x13)
    open_session(card, host)
    wrapped = host.wrap(bytes([cla]) + bytes.fromhex("CA006600"))
    assert wrapped[0] == wrapped_cla
    plain = card.unwrap(Command.parse(wrapped))
    assert plain.cla == cla and plain.channel == Command.parse(bytes([cla]) + bytes(3)).channel


def test_random_card_challenge_without_counter():
    card, host = make_pair(0x01, settings=Scp03Settings(i_parameter=0x00))
    rsp = card.initialize_update(Command.parse(host.initialize_update()))
    assert len(rsp) == 29 and rsp[10:13] == bytes((0x30, 0x03, 0x00))
    host.process_initialize_update(rsp)
    assert host.sequence_counter is None
    card.external_authenticate(Command.parse(host.external_authenticate()))
    assert card.unwrap(Command.parse(host.wrap(STORE_DATA))).data == bytes.fromhex("BF3E035C015A")


def test_sequence_counter_increments_per_initialize_update():
    card, host = make_pair()
    first = card.initialize_update(Command.parse(host.initialize_update()))
    second = card.initialize_update(Command.parse(host.initialize_update()))
    assert first[-3:] == b"\x00\x00\x01" and second[-3:] == b"\x00\x00\x02"
    assert first[13:21] != second[13:21]  # a new pseudo-random challenge every time


def test_kvn_zero_selects_lowest_key_set():
    enc, mac, dek = KEYS[16]
    sets = {kvn: Scp03KeySet(kvn, enc, mac, dek) for kvn in (0x32, 0x30, 0x31)}
    card = Scp03Session(sets, ISD_R_AID)
    rsp = card.initialize_update(Command.parse(bytes.fromhex("8050000008") + bytes(8) + b"\x00"))
    assert rsp[10] == 0x30


def test_unprotected_traffic_outside_a_session_passes():
    card, _ = make_pair()
    cmd = Command.parse(STORE_DATA)
    assert card.unwrap(cmd) is cmd
    assert card.wrap(b"\x01\x02") == b"\x01\x02"


def test_level_00_passes_plain_commands_and_refuses_protected_ones():
    card, host = make_pair(0x00)
    open_session(card, host)
    cmd = Command.parse(STORE_DATA)
    assert card.unwrap(cmd) is cmd
    with pytest.raises(SwError) as exc:
        card.unwrap(Command.parse(bytes.fromhex("84F22002")))
    assert sw_of(exc) == 0x6982 and card.state is SessionState.IDLE


# --- INITIALIZE UPDATE / EXTERNAL AUTHENTICATE refusals ----------------------------------------


@pytest.mark.parametrize("apdu, sw", [
    ("8050310008" + "00" * 8 + "00", 0x6A88),  # unknown key version
    ("8050300108" + "00" * 8 + "00", 0x6A86),  # P2 must be 00
    ("8050300007" + "00" * 7 + "00", 0x6700),  # host challenge is 8 bytes
    ("80503000", 0x6700),
])
def test_initialize_update_refusals(apdu, sw):
    card, _ = make_pair()
    with pytest.raises(SwError) as exc:
        card.initialize_update(Command.parse(bytes.fromhex(apdu)))
    assert sw_of(exc) == sw and card.state is SessionState.IDLE


def test_sequence_counter_exhausted():
    card, host = make_pair(counter=MAX_SEQUENCE_COUNTER)
    with pytest.raises(SwError) as exc:
        card.initialize_update(Command.parse(host.initialize_update()))
    assert sw_of(exc) == 0x6985


def test_external_authenticate_without_initialize_update():
    card, host = make_pair()
    with pytest.raises(SwError) as exc:
        card.external_authenticate(Command.parse(bytes.fromhex("8482330010") + bytes(16)))
    assert sw_of(exc) == 0x6985


def test_external_authenticate_bad_cmac_closes_session():
    card, host = make_pair()
    host.process_initialize_update(card.initialize_update(Command.parse(host.initialize_update())))
    ea = bytearray(host.external_authenticate())
    ea[-1] ^= 0x01
    with pytest.raises(SwError) as exc:
        card.external_authenticate(Command.parse(bytes(ea)))
    assert sw_of(exc) == 0x6982 and card.state is SessionState.IDLE


def test_wrong_host_cryptogram():
    card, host = make_pair()
    host.process_initialize_update(card.initialize_update(Command.parse(host.initialize_update())))
    ea = host._mac_command(bytes.fromhex("84823300"), bytes(8), None)  # right C-MAC, wrong cryptogram
    with pytest.raises(SwError) as exc:
        card.external_authenticate(Command.parse(ea))
    assert sw_of(exc) == 0x6300 and card.state is SessionState.IDLE


def test_external_authenticate_with_other_keys_fails():
    card, _ = make_pair()
    enc, mac, dek = KEYS[16]
    impostor = Scp03Host(HostKeySet(0x30, enc, bytes(16), dek), 0x33)
    rsp = card.initialize_update(Command.parse(impostor.initialize_update()))
    with pytest.raises(Scp03HostError):
        impostor.process_initialize_update(rsp)  # the host refuses the card's cryptogram too


@pytest.mark.parametrize("level, settings, sw", [
    (0x31, Scp03Settings(), 0x6A86),  # R-ENC without C-DECRYPTION: not a valid level
    (0x02, Scp03Settings(), 0x6A86),
    (0x11, Scp03Settings(i_parameter=0x10), 0x6A86),  # key set without R-MAC support
    (0x33, Scp03Settings(i_parameter=0x30), 0x6A86),  # no R-ENCRYPTION support
    (0x01, Scp03Settings(minimum_security_level=0x03), 0x6982),  # below the SD's minimum
])
def test_wrong_security_level(level, settings, sw):
    card, host = make_pair(level, settings=settings)
    host.process_initialize_update(card.initialize_update(Command.parse(host.initialize_update())))
    with pytest.raises(SwError) as exc:
        card.external_authenticate(Command.parse(host.external_authenticate()))
    assert sw_of(exc) == sw and card.state is SessionState.IDLE


def test_external_authenticate_wrong_p2_and_length_and_plain_cla():
    for mutate, sw in ((lambda a: a[:3] + b"\x01" + a[4:], 0x6A86), (lambda a: b"\x80" + a[1:], 0x6982),
                       (lambda a: a[:4] + b"\x08" + a[5:13], 0x6700)):
        card, host = make_pair()
        host.process_initialize_update(card.initialize_update(Command.parse(host.initialize_update())))
        with pytest.raises(SwError) as exc:
            card.external_authenticate(Command.parse(mutate(host.external_authenticate())))
        assert sw_of(exc) == sw


def test_other_command_between_initialize_update_and_external_authenticate():
    card, host = make_pair()
    host.process_initialize_update(card.initialize_update(Command.parse(host.initialize_update())))
    card.unwrap(Command.parse(bytes.fromhex("80CA006600")))
    assert card.state is SessionState.IDLE
    with pytest.raises(SwError) as exc:
        card.external_authenticate(Command.parse(host.external_authenticate()))
    assert sw_of(exc) == 0x6985


# --- refusals inside a session -----------------------------------------------------------------


def _expect_sw(card: Scp03Session, apdu: bytes, sw: int) -> None:
    with pytest.raises(SwError) as exc:
        card.unwrap(Command.parse(apdu))
    assert sw_of(exc) == sw
    assert card.state is SessionState.IDLE


@pytest.mark.parametrize("level", (0x01, 0x03, 0x33))
def test_bad_cmac(level):
    card, host = make_pair(level)
    open_session(card, host)
    wrapped = bytearray(host.wrap(STORE_DATA))
    wrapped[-2] ^= 0x80  # inside the C-MAC (last byte is Le)
    _expect_sw(card, bytes(wrapped), 0x6982)
    _expect_sw(card, host.wrap(STORE_DATA), 0x6982)  # the session is gone


def test_tampered_data_fails_cmac():
    card, host = make_pair(0x03)
    open_session(card, host)
    wrapped = bytearray(host.wrap(STORE_DATA))
    wrapped[6] ^= 0x01
    _expect_sw(card, bytes(wrapped), 0x6982)


def test_replayed_command():
    card, host = make_pair(0x03)
    open_session(card, host)
    wrapped = host.wrap(STORE_DATA)
    card.unwrap(Command.parse(wrapped))
    _expect_sw(card, wrapped, 0x6982)


def test_skipped_command():
    card, host = make_pair(0x03)
    open_session(card, host)
    host.wrap(bytes.fromhex("80F22002"))  # never reaches the card: MAC chain and counter skip
    _expect_sw(card, host.wrap(STORE_DATA), 0x6982)


def test_unprotected_command_in_mac_session():
    card, host = make_pair(0x01)
    open_session(card, host)
    _expect_sw(card, STORE_DATA, 0x6982)


def test_protected_command_without_room_for_a_mac():
    card, host = make_pair(0x01)
    open_session(card, host)
    _expect_sw(card, bytes.fromhex("84E2910003010203"), 0x6982)


def test_protected_command_without_any_session():
    card, _ = make_pair()
    with pytest.raises(SwError) as exc:
        card.unwrap(Command.parse(bytes.fromhex("84E2910008") + bytes(8)))
    assert sw_of(exc) == 0x6982


@pytest.mark.parametrize("data", (bytes(15), bytes(16)))
def test_unencrypted_data_in_decryption_session(data):
    """Host MACs but does not encipher: card's C-MAC passes, deciphering must fail with 6988."""
    card, host = make_pair(0x03)
    open_session(card, host)
    host.security_level = 0x01
    _expect_sw(card, host.wrap(bytes([0x80, 0xE2, 0x91, 0x00, len(data)]) + data), 0x6988)


def test_error_status_words_get_no_rmac():
    card, host = make_pair(0x33)
    open_session(card, host)
    card.unwrap(Command.parse(host.wrap(STORE_DATA)))
    assert card.wrap(b"", 0x6A88) == b""
    card.unwrap(Command.parse(host.wrap(STORE_DATA)))
    assert len(card.wrap(b"", 0x6310)) == 8  # warnings are protected


def test_host_detects_bad_rmac():
    card, host = make_pair(0x11)
    open_session(card, host)
    card.unwrap(Command.parse(host.wrap(STORE_DATA)))
    body = bytearray(card.wrap(b"\x01\x02"))
    body[0] ^= 1
    with pytest.raises(Scp03HostError):
        host.unwrap(bytes(body), 0x9000)


def test_cbc_decrypt_rejects_empty_and_unaligned():
    for data in (b"", bytes(17)):
        with pytest.raises(PaddingError):
            cbc_decrypt(bytes(16), bytes(16), data)


def test_key_set_validation():
    with pytest.raises(ValueError):
        Scp03KeySet(0x30, bytes(16), bytes(24), bytes(16))
    with pytest.raises(ValueError):
        Scp03KeySet(0x130, bytes(16), bytes(16), bytes(16))
