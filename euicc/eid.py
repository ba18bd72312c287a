"""The eUICC identifier: GSMA SGP.29 §2 (32 digits, two check digits by ISO 7064 MOD 97-10)."""
from __future__ import annotations

import secrets


def check_digits(first30: str) -> str:
    """The two check digits that make the 32-digit number ≡ 1 (mod 97)."""
    if len(first30) != 30 or not first30.isdigit():
        raise ValueError("an EID has 30 digits before its check digits")
    return f"{98 - int(first30 + '00') % 97:02d}"


def is_valid(eid: str) -> bool:
    return len(eid) == 32 and eid.isdigit() and int(eid) % 97 == 1


def generate(prefix: str = "89049032") -> str:
    """A random EID under `prefix` (default: the SGP.26 test EUM's range), with check digits."""
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(30 - len(prefix)))
    return body + check_digits(body)


def to_bytes(eid: str) -> bytes:
    """EID as the 16-byte value of tag '5A' (the digits as hex nibbles, SGP.22 §4.1)."""
    return bytes.fromhex(eid)
