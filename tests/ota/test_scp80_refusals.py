"""Every refusal of TS 102 225 §5 processing, with its PoR status (§5.2 Table 5)."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import (COUNTER_MAX, Accepted, CounterState, PorStatus, Refused, Scp80, Scp80Settings,
                                parse_command_packet)
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


def test_insufficient_security_level_hook(dict_keys):
    command = host.build_command_packet(KEYSET, bytes.fromhex("1039"), TAR, b"\xAA\x00", counter=6)
    settings = Scp80Settings(accept_security=lambda spi: spi.ciphered)
    card, result = _unwrap(dict_keys, command, settings=settings)
    assert result.status == PorStatus.INSUFFICIENT_SECURITY_LEVEL
    assert card.response_packet(result.por, result.status)[5:6] == b"\x0a"  # RHL: unsecured


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
