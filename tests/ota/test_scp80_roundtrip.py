"""Host builder -> card parser -> card PoR -> host decoder, for every SPI / algorithm option."""
from __future__ import annotations

import itertools

import pytest

from euicc.crypto.scp80 import Accepted, CounterState, PorStatus, Scp80, crc16_x25, parse_command_packet
from tools.ota import packet as host

TAR = bytes.fromhex("000001")
DATA = bytes.fromhex("AA0A2208" "80CA00FF00" "00A40004")
KEYS = {host.DES: bytes(range(1, 9)), host.TDES2: bytes(range(1, 17)), host.TDES3: bytes(range(1, 25)),
        host.AES: bytes(range(0x40, 0x50))}
MAC_KEYS = {alg: bytes(b ^ 0x5A for b in key) for alg, key in KEYS.items()}


def test_crc16_check_value():
    # CRC-16/X-25 catalogue check value (ISO/IEC 13239), card and host independently
    assert crc16_x25(b"123456789") == 0x906E == host.crc16_x25(b"123456789")


def _cases():
    for cipher in KEYS:
        for kind, cc_length, mac in [(0, 8, cipher), (1, 8, host.CRC16), (1, 8, host.CRC32),
                                     (2, 8, cipher)] + ([(2, 4, cipher)] if cipher == host.AES else []):
            for ciphered, counter_mode, por_mode, por_cipher in itertools.product((0, 1), range(4), (1, 2), (0, 1)):
                por_kind = kind  # RC/CC codings of KID cannot mix within one packet
                yield cipher, kind, cc_length, mac, ciphered, counter_mode, por_mode, por_kind, por_cipher


CASES = list(_cases())


@pytest.mark.parametrize("cipher, kind, cc_length, mac, ciphered, counter_mode, por_mode, por_kind, por_cipher", CASES)
def test_round_trip(dict_keys, cipher, kind, cc_length, mac, ciphered, counter_mode, por_mode, por_kind, por_cipher):
    mac_key = MAC_KEYS.get(mac, b"")
    keyset = host.OtaKeyset(3, cipher, KEYS[cipher], mac, mac_key or MAC_KEYS[cipher])
    spi = bytes([counter_mode << 3 | ciphered << 2 | kind, por_cipher << 4 | por_kind << 2 | por_mode])
    command = host.build_command_packet(keyset, spi, TAR, DATA, counter=7, cc_length=cc_length)
    card = Scp80(dict_keys(3, KEYS[cipher], keyset.kid))
    parsed = parse_command_packet(command)
    result = card.unwrap(parsed, CounterState(6))
    assert isinstance(result, Accepted), result
    assert result.secured_data == DATA
    # TS 102 225 §5.1.1: only a checked counter ('10', '11') is stored; '00'/'01' leave it as it was
    assert result.counter == (CounterState(6) if counter_mode in (0, 1) else CounterState(7))
    por = card.response_packet(result.por, PorStatus.POR_OK, b"\x01\x90\x00")
    if por_mode == 2:  # PoR only on error
        assert por is None
        return
    decoded = host.decode_response_packet(keyset, spi, por, cc_length=cc_length)
    assert decoded.status == 0 and decoded.data == b"\x01\x90\x00" and decoded.tar == TAR
    assert decoded.counter == 7
    assert decoded.checksum_valid is (True if por_kind else None)
