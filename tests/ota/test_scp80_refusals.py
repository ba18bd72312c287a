"""Every refusal of TS 102 225 §5 processing, with its PoR status (§5.2 Table 5)."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import (COUNTER_MAX, Accepted, CounterState, KeyType, MinimumSecurityLevel, PorStatus,
                                Refused, Scp80, Scp80Settings, parse_command_packet)
from tools.ota import packet as host

TAR = bytes.fromhex("000001")
KIC, KID = bytes(range(16)), bytes(range(16, 32))
KEYSET = host.OtaKeyset(1, host.AES, KIC, host.AES, KID)
SPI_HIGHER = bytes.fromhex("1639")  # SGP.02 ES5 default: counter higher, ciphered, CC, PoR ciphered+CC
SPI_ONE_HIGHER = bytes.fromhex("1E39")


def _unwrap(dict_keys, command: bytes, counter: int = 5, settings: Scp80Settings = Scp80Settings(),
            keys=None):
    card = Scp80(keys or dict_keys(1, KIC, KID), settings)
    parsed = parse_command_packet(command, settings)
    return card, parsed if isinstance(parsed, Refused) else card.unwrap(parsed, CounterState(counter))


def _status_of_por(card: Scp80, result: Refused) -> bytes:
    por = card.response_packet(result.por, result.status)
    assert por is not None
    return por


def test_wrong_key_fails_the_checksum_and_por_is_unsecured(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    card, result = _unwrap(dict_keys, command, keys=dict_keys(1, KIC, bytes(16)))
    assert isinstance(result, Refused) and result.status == PorStatus.RC_CC_DS_FAILED
    por = _status_of_por(card, result)
    # unsecured PoR: RHL '0A', plain CNTR (zeros: nothing unauthenticated is echoed), status 01
    assert por.hex() == "027100" "000b" "0a" "000001" "0000000000" "00" "01"


def test_wrong_cipher_key_also_fails_the_checksum(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, command, keys=dict_keys(1, bytes(16), KID))
    assert result.status == PorStatus.RC_CC_DS_FAILED


def test_missing_key_set(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, command, keys=dict_keys(2, KIC, KID))
    assert result.status == PorStatus.UNIDENTIFIED_SECURITY_ERROR and "KIc" in result.reason


def test_bad_checksum(dict_keys):
    command = bytearray(host.build_command_packet(KEYSET, bytes.fromhex("1239"), TAR, b"\xAA\x00", counter=6))
    command[-1] ^= 1
    _, result = _unwrap(dict_keys, bytes(command))
    assert result.status == PorStatus.RC_CC_DS_FAILED


@pytest.mark.parametrize("counter, stored, spi, status", [
    (5, 5, SPI_HIGHER, PorStatus.CNTR_LOW),  # replay
    (4, 5, SPI_HIGHER, PorStatus.CNTR_LOW),  # lower
    (5, 5, SPI_ONE_HIGHER, PorStatus.CNTR_LOW),
    (7, 5, SPI_ONE_HIGHER, PorStatus.CNTR_HIGH),  # not exactly one higher
    (COUNTER_MAX, COUNTER_MAX, SPI_HIGHER, PorStatus.CNTR_BLOCKED),
])
def test_counter_refusals_keep_the_stored_counter(dict_keys, counter, stored, spi, status):
    command = host.build_command_packet(KEYSET, spi, TAR, b"\xAA\x00", counter=counter)
    card, result = _unwrap(dict_keys, command, counter=stored)
    assert isinstance(result, Refused) and result.status == status
    # counter errors happen after authentication: the PoR is secured, CNTR echoed
    decoded = host.decode_response_packet(KEYSET, spi, _status_of_por(card, result))
    assert decoded.checksum_valid is True and decoded.status == status and decoded.counter == counter


def test_counter_accepted_when_exactly_one_higher(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_ONE_HIGHER, TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, command, counter=5)
    assert isinstance(result, Accepted) and result.counter == CounterState(6)


def test_replay_status_is_a_setting(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=5)
    settings = Scp80Settings(replay_status=PorStatus.UNIDENTIFIED_SECURITY_ERROR)
    _, result = _unwrap(dict_keys, command, settings=settings)
    assert result.status == PorStatus.UNIDENTIFIED_SECURITY_ERROR


@pytest.mark.parametrize("kic, kid, status", [
    (0x1F, 0x12, PorStatus.CIPHERING_ERROR),  # KIc algorithm F: not defined
    (0x1D, 0x12, PorStatus.CIPHERING_ERROR),  # DES-ECB: not supported
    (0x10, 0x12, PorStatus.CIPHERING_ERROR),  # implicit, none configured
    (0x12, 0x13, PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # KID proprietary
])
def test_unknown_algorithm(dict_keys, kic, kid, status):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6, kic=kic, kid=kid)
    _, result = _unwrap(dict_keys, command)
    assert isinstance(result, Refused) and result.status == status


def test_digital_signature_not_supported(dict_keys):
    command = host.build_command_packet(KEYSET, bytes.fromhex("1739"), TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, command)
    assert result.status == PorStatus.UNIDENTIFIED_SECURITY_ERROR


@pytest.mark.parametrize("msl, spi1, accepted", [
    ("", 0x00, True),            # empty MSL field: no check (TS 102 226 §8.2.1.3.2.2)
    ("0116", 0x16, True),        # CC + ciphering + counter higher: exactly the minimum
    ("0116", 0x1E, True),        # counter one higher is above "higher"
    ("0116", 0x12, False),       # not ciphered
    ("0116", 0x15, False),       # RC instead of CC
    ("0116", 0x0E, False),       # counter available but not checked
    ("0116", 0x06, False),       # no counter
    ("0102", 0x02, True),        # TS.48 RFM minimumSecurityLevel '02': CC only
    ("0102", 0x01, False),
    ("0216", 0x16, False),       # MSL parameter '02' is RFU: nothing satisfies it
])
def test_minimum_security_level(dict_keys, msl, spi1, accepted):
    """MSL 'Minimum SPI1' coding, TS 102 226 §8.2.1.3.2.2: each SPI1 field at least the MSL's;
    below it the packet is refused with '0A' before any key is used, with an unsecured PoR."""
    keyset = host.OtaKeyset(1, host.AES, KIC, host.CRC32, KID) if spi1 & 0x03 == 1 else KEYSET
    spi2 = 0x35 if spi1 & 0x03 == 1 else 0x39    # PoR with the same kind of check
    command = host.build_command_packet(keyset, bytes([spi1, spi2]), TAR, b"\xAA\x00", counter=6)
    card = Scp80(dict_keys(1, KIC, KID), minimum=MinimumSecurityLevel(bytes.fromhex(msl)))
    result = card.unwrap(parse_command_packet(command), CounterState(5))
    if accepted:
        assert isinstance(result, Accepted), result
        return
    assert result.status == PorStatus.INSUFFICIENT_SECURITY_LEVEL
    assert card.response_packet(result.por, result.status)[5:6] == b"\x0a"  # RHL: unsecured


@pytest.mark.parametrize("key_type, kic, kid, status", [
    (KeyType.AES, 0x15, 0x15, PorStatus.CIPHERING_ERROR),      # 3DES header on an AES key set
    (KeyType.AES, 0x12, 0x15, PorStatus.RC_CC_DS_FAILED),      # 3DES CC on an AES key set
    (KeyType.DES, 0x12, 0x12, PorStatus.CIPHERING_ERROR),      # AES header on a 3DES key set
])
def test_algorithm_is_the_key_sets(dict_keys, key_type, kic, kid, status):
    """The algorithm belongs to the key set (TS 102 225 §5.1.2/§5.1.3): another one is refused."""
    keys = (KIC, KID) if key_type == KeyType.AES else (bytes(range(16)), bytes(range(1, 17)))
    ks = host.OtaKeyset(1, kic & 0x0F, keys[0], kid & 0x0F, keys[1])
    command = host.build_command_packet(ks, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, command, keys=dict_keys(1, *keys, key_type))
    assert isinstance(result, Refused) and result.status == status


@pytest.mark.parametrize("mutate, status", [
    (lambda c: c[:9], PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # no header
    (lambda c: c[:-1], PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # truncated: CPL mismatch
    (lambda c: c + b"\x00", PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # extra byte
    (lambda c: c[:2] + b"\x14" + c[3:], PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # CHL 20: no 7-byte CC
    (lambda c: c[:2] + b"\xff" + c[3:], PorStatus.UNIDENTIFIED_SECURITY_ERROR),  # CHL beyond CPL
    (lambda c: (len(c) - 1).to_bytes(2, "big") + c[2:] + b"\x00", PorStatus.CIPHERING_ERROR),  # not blocks
    (lambda c: c + bytes(5000), PorStatus.INSUFFICIENT_MEMORY),  # oversized
])
def test_malformed_packets(dict_keys, mutate, status):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    _, result = _unwrap(dict_keys, mutate(command))
    assert isinstance(result, Refused) and result.status == status


def test_tar_unknown_refusal_by_caller(dict_keys):
    command = host.build_command_packet(KEYSET, SPI_HIGHER, TAR, b"\xAA\x00", counter=6)
    card = Scp80(dict_keys(1, KIC, KID))
    result = card.refuse(parse_command_packet(command), PorStatus.TAR_UNKNOWN, "no such TAR")
    assert card.response_packet(result.por, result.status) == bytes.fromhex("027100" "000b" "0a" "000001" "0000000000" "00" "09")


def test_bad_padding_counter(dict_keys):
    # unciphered packet whose PCNTR claims more padding than data
    keyset = host.OtaKeyset(1, host.AES, KIC, host.AES, KID)
    command = bytearray(host.build_command_packet(keyset, bytes.fromhex("0200"), TAR, b"\xAA", counter=0))
    command[15] = 9  # PCNTR, then re-MAC so that only the padding is wrong
    command[16:24] = host.checksum(2, host.AES, KID, bytes(command[:16]) + bytes(command[24:]))
    _, result = _unwrap(dict_keys, bytes(command))
    assert result.status == PorStatus.UNIDENTIFIED_SECURITY_ERROR and "padding" in result.reason


def test_por_on_error_only(dict_keys):
    command = host.build_command_packet(KEYSET, bytes.fromhex("163A"), TAR, b"\xAA\x00", counter=5)
    card, result = _unwrap(dict_keys, command)
    assert result.status == PorStatus.CNTR_LOW
    assert card.response_packet(result.por, result.status) is not None
    assert card.response_packet(result.por, PorStatus.POR_OK) is None


def test_counter_state_range():
    with pytest.raises(ValueError):
        CounterState(COUNTER_MAX + 1)
    assert CounterState(COUNTER_MAX).blocked and not CounterState(0).blocked
