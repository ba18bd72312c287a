"""Errors of the authentication library.

:class:`AuthParameterError` is raised for malformed inputs or configuration (wrong lengths,
out-of-range constants).  The AUTHENTICATE / GET IDENTITY handlers map it to a status word
(TS 31.102 §7.1.1 / ISO 7816-4: wrong length ``6700`` or incorrect data ``6A80``).
"""
from __future__ import annotations


class AuthParameterError(ValueError):
    """A parameter of an authentication function has the wrong length or value."""


def require_length(name: str, value: bytes, *lengths: int) -> bytes:
    """Return ``value`` as bytes if its length is one of ``lengths``, else raise."""
    if not isinstance(value, (bytes, bytearray)) or len(value) not in lengths:
        raise AuthParameterError(f"{name} must be {' or '.join(map(str, lengths))} bytes")
    return bytes(value)
