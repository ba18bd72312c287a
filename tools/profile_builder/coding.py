"""Value codings for elementary-file contents used by the profile builder.

Pure functions, no host-only dependencies (the card's first-run code imports the builder).

* ICCID: ITU-T E.118 digits with Luhn check digit; EF.ICCID is BCD with nibbles swapped
  (ETSI TS 102 221 §13.2); the SAIP ProfileHeader ``iccid`` holds plain BCD, 'F'-padded
  (TCA SAIP v3.3.1 §8.2, as in the GSMA TS.48 packages).
* IMSI: EF.IMSI (3GPP TS 31.102 §4.2.2, TS 24.008 §10.5.1.4 mobile identity digits).
* PLMN: 3-byte MCC/MNC coding (TS 24.008 §10.5.1.3), used by EF.EHPLMN / EF.xPLMNwAcT.
* SPN: EF.SPN (TS 31.102 §4.2.12), alpha field per TS 102 221 Annex A (GSM 7-bit default
  alphabet with b8=0, 3GPP TS 23.038 §6.2.1, or UCS2 with the '80' prefix).
* PIN/PUK values: ASCII digits padded with 'FF' to 8 bytes (TS 102 221 §9.5.1).
"""
from __future__ import annotations

# 3GPP TS 23.038 §6.2.1 GSM 7-bit default alphabet; index = code point. 0x1B (escape to the
# extension table) is not a character and is marked with "\x00" so it never matches.
GSM_DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_INDEX = {ch: i for i, ch in enumerate(GSM_DEFAULT_ALPHABET) if ch != "\x00"}

EF_SPN_SIZE = 17  # TS 31.102 §4.2.12: 1 byte display condition + 16 bytes name


def _digits(value: str, what: str, lengths: range) -> str:
    if not value.isascii() or not value.isdigit() or len(value) not in lengths:
        raise ValueError(f"{what} must be {lengths.start}..{lengths.stop - 1} decimal digits")
    return value


def luhn_check_digit(digits: str) -> str:
    """ISO/IEC 7812-1 Annex B (Luhn) check digit for ``digits`` (E.118 ICCID)."""
    _digits(digits, "Luhn payload", range(1, 64))
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if pos % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """True when the last digit of ``number`` is its Luhn check digit."""
    return len(number) > 1 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def iccid_header_bcd(iccid: str) -> bytes:
    """ProfileHeader ``iccid``: 10 bytes of plain BCD, right-padded with 'F'."""
    _digits(iccid, "ICCID", range(18, 21))
    return bytes.fromhex(iccid.ljust(20, "F"))


def iccid_ef(iccid: str) -> bytes:
    """EF.ICCID content: BCD with each byte's nibbles swapped, 'F'-padded (TS 102 221 §13.2)."""
    return swap_nibbles(iccid_header_bcd(iccid))


def swap_nibbles(data: bytes) -> bytes:
    """Swap the two nibbles of every byte."""
    return bytes(((b & 0x0F) << 4) | (b >> 4) for b in data)


def decode_iccid_ef(content: bytes) -> str:
    """Digits of an EF.ICCID content (inverse of :func:`iccid_ef`)."""
    return swap_nibbles(content).hex().upper().rstrip("F")


def imsi_ef(imsi: str) -> bytes:
    """EF.IMSI content (TS 31.102 §4.2.2): length byte, then identity digits.

    The first nibble pair carries digit 1 and the type/parity nibble ('9' odd, '1' even count:
    b1-b3 = 001 IMSI, b4 = odd/even), remaining digits low nibble first, 'F' filler. Padded with
    'FF' to the 9-byte file size.
    """
    _digits(imsi, "IMSI", range(6, 16))
    parity = "9" if len(imsi) % 2 else "1"
    nibbles = parity + imsi
    if len(nibbles) % 2:
        nibbles += "F"
    body = swap_nibbles(bytes.fromhex(nibbles))
    return (bytes([len(body)]) + body).ljust(9, b"\xff")


def decode_imsi_ef(content: bytes) -> str:
    """Digits of an EF.IMSI content (inverse of :func:`imsi_ef`)."""
    if not content or content[0] == 0xFF or content[0] == 0 or content[0] > len(content) - 1:
        raise ValueError("EF.IMSI: bad length byte")
    nibbles = swap_nibbles(content[1:1 + content[0]]).hex().upper()
    return nibbles[1:].rstrip("F")


def plmn(mcc: str, mnc: str) -> bytes:
    """3-byte PLMN identity (TS 24.008 §10.5.1.3): MCC2 MCC1 | MNC3 MCC3 | MNC2 MNC1."""
    _digits(mcc, "MCC", range(3, 4))
    _digits(mnc, "MNC", range(2, 4))
    mnc3 = mnc[2] if len(mnc) == 3 else "F"
    return bytes.fromhex(mcc[1] + mcc[0] + mnc3 + mcc[2] + mnc[1] + mnc[0])


def alpha_field(text: str) -> bytes:
    """TS 102 221 Annex A alpha field: GSM default alphabet if possible, else UCS2 ('80' form)."""
    if all(ch in _GSM_INDEX for ch in text):
        return bytes(_GSM_INDEX[ch] for ch in text)
    return b"\x80" + text.encode("utf-16-be")


def spn_ef(name: str, display_condition: int = 0x01) -> bytes:
    """EF.SPN content (TS 31.102 §4.2.12): display condition, name, 'FF' padding to 17 bytes."""
    encoded = alpha_field(name)
    if len(encoded) > EF_SPN_SIZE - 1:
        raise ValueError("SPN longer than 16 bytes once encoded")
    if not 0 <= display_condition <= 0xFF:
        raise ValueError("SPN display condition must be one byte")
    return (bytes([display_condition]) + encoded).ljust(EF_SPN_SIZE, b"\xff")


def pin_value(pin: str, what: str = "PIN") -> bytes:
    """PIN/PUK/ADM reference data: ASCII digits padded with 'FF' to 8 bytes (TS 102 221 §9.5.1).

    An ADM key given as 16 hex digits is taken as the raw 8-byte value.
    """
    if len(pin) == 16 and all(c in "0123456789abcdefABCDEF" for c in pin):
        return bytes.fromhex(pin)
    _digits(pin, what, range(4, 9))
    return pin.encode("ascii").ljust(8, b"\xff")


def service_table(services: set[int], size: int) -> bytes:
    """Service table bit map (TS 31.102 §4.2.8 UST / TS 31.103 §4.2.7 IST): service n is bit
    (n-1) % 8 of byte (n-1) // 8."""
    table = bytearray(size)
    for n in services:
        if not 1 <= n <= size * 8:
            raise ValueError(f"service {n} outside a {size}-byte table")
        table[(n - 1) // 8] |= 1 << ((n - 1) % 8)
    return bytes(table)


def tlv80(text: str) -> bytes:
    """ISIM NAI/URI data object: tag '80', length, UTF-8 value (TS 31.103 §4.2.2-§4.2.4)."""
    value = text.encode("utf-8")
    if len(value) > 0x7F:
        raise ValueError("ISIM value longer than 127 bytes")
    return b"\x80" + bytes([len(value)]) + value
