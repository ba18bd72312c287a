"""EID check digits (host side): GSMA SGP.29 §2 EID structure, ISO/IEC 7064 MOD 97-10.

An EID is 32 decimal digits; the last two are check digits chosen so that the whole number
mod 97 equals 1 (as for IBANs): with the check digits set to ``00``, check = 98 - (n mod 97).
"""
from __future__ import annotations

EID_DIGITS = 32


class EidError(ValueError):
    """Not an EID (wrong length or non-digits)."""


def _digits(text: str, count: int) -> str:
    if len(text) != count or not all("0" <= ch <= "9" for ch in text):
        raise EidError(f"expected {count} decimal digits, got {text!r}")
    return text


def check_digits(base: str) -> str:
    """The two check digits for the first 30 digits ``base`` of an EID."""
    remainder = int(_digits(base, EID_DIGITS - 2) + "00") % 97
    return f"{98 - remainder:02d}"


def complete(base: str) -> str:
    """``base`` (30 digits) followed by its check digits."""
    return base + check_digits(base)


def is_valid(eid: str) -> bool:
    """True for 32 digits whose check digits are right."""
    try:
        return check_digits(eid[: EID_DIGITS - 2]) == _digits(eid, EID_DIGITS)[EID_DIGITS - 2 :]
    except EidError:
        return False


def from_prefix(prefix: str, serial: int = 1) -> str:
    """An EID starting with ``prefix`` (e.g. the EUM's permitted ``89049032``), ``serial`` in the
    individual-number field, zero-padded to 30 digits, plus check digits."""
    room = EID_DIGITS - 2 - len(prefix)
    body = str(serial).rjust(room, "0")
    if room < 0 or len(body) != room:
        raise EidError(f"prefix {prefix!r} and serial {serial} do not fit in 30 digits")
    return complete(prefix + body)
