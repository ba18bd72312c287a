"""Unprotected Profile Package codec: TCA eUICC Profile Package (SAIP) v3.3.1.

An Unprotected Profile Package (UPP) is a plain concatenation of DER-encoded
``PEDefinitions.ProfileElement`` values (TCA "eUICC Profile Package: Interoperable Format
Technical Specification" §2.2 / §8; GSMA SGP.22 §2.5.5 calls the decrypted ``86`` payload the
UPP). This module splits a package into its elements and joins them again; it does not
interpret them (that is the profile installer's job).

Strictness (card side): every malformed input ends in one exception type,
:class:`SaipDecodeError`, carrying the zero-based element index and byte offset so that the
caller can report it (e.g. as a ``PEStatus`` with ``identification`` / ``offset`` or as an
SGP.22 PIR error). Checked: package size limit, element count limit, truncated or bad
BER/DER, unknown CHOICE alternative, ASN.1 constraint violations (``SIZE``/value ranges),
bytes after the ``end`` element, and (``require_canonical_der``, default on) that each element
is in canonical DER form (X.690 §10/§11), which also makes decode -> encode byte-identical.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

import asn1tools
from asn1tools.codecs import OutOfDataError
from asn1tools.codecs.ber import OutOfByteDataError

from euicc import asn1

PE_TYPE = "ProfileElement"
END_ELEMENT = "end"

# Errors the third-party DER decoder can raise on hostile input besides its own types.
_LIBRARY_ERRORS = (asn1tools.Error, ValueError, TypeError, KeyError, IndexError, OverflowError,
                   RecursionError)


@dataclass(frozen=True)
class SaipLimits:
    """Bounds applied while decoding (settings, not spec values).

    ``max_package_size``: largest UPP accepted, in bytes (default 1 MiB; the TS.48 packages
    are about 12 KiB). ``max_elements``: largest number of PEs. ``require_canonical_der``:
    reject elements whose re-encoding differs from the input (non-DER BER, DEFAULT values
    encoded, unknown extension additions).
    """

    max_package_size: int = 1 << 20
    max_elements: int = 4096
    require_canonical_der: bool = True


DEFAULT_LIMITS = SaipLimits()


class ProfileElement(NamedTuple):
    """One decoded PE: the ``ProfileElement`` CHOICE alternative name and its value (asn1tools
    Python form: dict for SEQUENCE, bytes for OCTET STRING, (name, value) for CHOICE)."""

    name: str
    value: dict[str, Any]


class SaipError(ValueError):
    """Base of the codec's errors; ``index`` is the zero-based PE index (None: whole package)."""

    def __init__(self, reason: str, index: int | None = None, offset: int | None = None) -> None:
        where = "" if index is None else f" (element {index}, offset {offset})"
        super().__init__(reason + where)
        self.reason = reason
        self.index = index
        self.offset = offset


class SaipDecodeError(SaipError):
    """A UPP could not be decoded: raised for every kind of malformed input."""


class SaipEncodeError(SaipError):
    """A value does not encode as a ``ProfileElement``."""


def decode_element(data: bytes, offset: int = 0, index: int = 0,
                   limits: SaipLimits = DEFAULT_LIMITS) -> tuple[ProfileElement, int]:
    """Decode the PE starting at ``data[offset]``; return it and the offset just past it."""
    view = bytes(data[offset:])
    if not view:
        raise SaipDecodeError("truncated: no data for element", index, offset)
    try:
        decoded, length = asn1.saip().decode_with_length(PE_TYPE, view, check_constraints=True)
    except (OutOfDataError, OutOfByteDataError) as exc:
        raise SaipDecodeError(f"truncated element: {exc}", index, offset) from exc
    except _LIBRARY_ERRORS as exc:
        raise SaipDecodeError(f"bad DER: {exc}", index, offset) from exc
    name, value = decoded
    if name is None:
        raise SaipDecodeError(f"unknown element tag {view[:2].hex()}", index, offset)
    if length <= 0 or length > len(view):
        raise SaipDecodeError("bad element length", index, offset)
    if limits.require_canonical_der:
        try:
            canonical = encode_element(name, value)
        except SaipEncodeError as exc:
            raise SaipDecodeError(f"element does not re-encode: {exc.reason}", index, offset) from exc
        if canonical != view[:length]:
            raise SaipDecodeError(f"{name}: not canonical DER", index, offset)
    return ProfileElement(name, value), offset + length


def decode_upp(data: bytes, limits: SaipLimits = DEFAULT_LIMITS) -> list[ProfileElement]:
    """Decode a whole UPP into its ordered list of PEs (TCA SAIP v3.3.1 §2.2).

    Raises :class:`SaipDecodeError` (with the element index) on any malformed input.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SaipDecodeError("package must be bytes")
    data = bytes(data)
    if len(data) > limits.max_package_size:
        raise SaipDecodeError(f"package of {len(data)} bytes exceeds {limits.max_package_size}")
    elements: list[ProfileElement] = []
    offset = 0
    while offset < len(data):
        index = len(elements)
        if elements and elements[-1].name == END_ELEMENT:
            raise SaipDecodeError("trailing bytes after the end element", index, offset)
        if index >= limits.max_elements:
            raise SaipDecodeError(f"more than {limits.max_elements} elements", index, offset)
        element, offset = decode_element(data, offset, index, limits)
        elements.append(element)
    return elements


def encode_element(name: str, value: dict[str, Any]) -> bytes:
    """DER-encode one PE given its CHOICE alternative name and value."""
    try:
        return asn1.saip().encode(PE_TYPE, (name, value), check_constraints=True)
    except _LIBRARY_ERRORS as exc:
        raise SaipEncodeError(f"{name}: {exc}") from exc


def encode_upp(elements: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    """DER-encode and concatenate PEs into a UPP; the inverse of :func:`decode_upp`."""
    parts = []
    for index, (name, value) in enumerate(elements):
        try:
            parts.append(encode_element(name, value))
        except SaipEncodeError as exc:
            raise SaipEncodeError(exc.reason, index) from exc
    return b"".join(parts)
