"""DER codec of the ES10 messages: GSMA SGP.22 v2.5 §5.7 with the ``RSPDefinitions`` ASN.1 module,
or (``v3=True``) SGP.22 v3.1 §5.7 with the v3.1 module, for an RSP session held in v3.

Requests are decoded with asn1tools (constraints checked); a request that does not decode, or
carries bytes after its end, is refused with '6A80' (SGP.22 §5.7.2: the ISD-R returns an ISO
status word when the command data cannot be parsed).  Signature inputs are the bytes as
received, taken with :func:`children` rather than re-encoded.
"""
from __future__ import annotations

from typing import Any

import asn1tools

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.asn1 import rsp, rsp3

# What the third-party decoder can raise on hostile input besides its own error type.
_DECODE_ERRORS = (asn1tools.Error, ValueError, TypeError, KeyError, IndexError, OverflowError,
                  RecursionError)


def spec(v3: bool = False) -> asn1tools.compiler.Specification:
    """The compiled module: SGP.22 v3.1 when `v3`, else v2.5."""
    return rsp3() if v3 else rsp()


def decode(type_name: str, data: bytes, *, v3: bool = False) -> Any:
    """Decode one complete ``type_name`` value; malformed input -> SwError('6A80')."""
    try:
        value, length = spec(v3).decode_with_length(type_name, bytes(data), check_constraints=True)
    except _DECODE_ERRORS:
        raise SwError(SW.INCORRECT_DATA) from None
    if length != len(data):
        raise SwError(SW.INCORRECT_DATA)
    return value


def undefined_alternative(value: Any) -> bool:
    """Whether a decoded request holds, at any depth, a CHOICE alternative its module does not
    define: both RSPDefinitions modules are ``EXTENSIBILITY IMPLIED``, so asn1tools decodes an
    unknown alternative as ``(None, None)`` instead of refusing it."""
    if isinstance(value, dict):
        return any(undefined_alternative(member) for member in value.values())
    if isinstance(value, list):
        return any(undefined_alternative(member) for member in value)
    if isinstance(value, tuple) and len(value) == 2:
        return value == (None, None) or (isinstance(value[0], str) and undefined_alternative(value[1]))
    return False


def alternative(choice: tuple[str | None, Any]) -> tuple[str, Any]:
    """A decoded CHOICE of a request, (name, value); an alternative the module does not define
    (:func:`undefined_alternative`) is data the card cannot parse: SwError('6A80') (§5.7.2)."""
    if undefined_alternative(choice):
        raise SwError(SW.INCORRECT_DATA)
    return choice  # type: ignore[return-value]


def encode(type_name: str, value: Any, *, v3: bool = False) -> bytes:
    """Encode a value the card built itself (a failure here is a defect, not bad input)."""
    return spec(v3).encode(type_name, value, check_constraints=True)


_INTEGER = asn1tools.compile_string("Integer DEFINITIONS ::= BEGIN Integer ::= INTEGER END", "der")


def integer(data: bytes) -> int:
    """One complete universal INTEGER TLV ('02'), e.g. a member read at TLV level; malformed ->
    SwError('6A80').  X.690 §8.3.1 (at least one contents octet) and §8.3.2 (the first nine bits
    neither all zero nor all one) are checked here: the decoder reads '02 00' as 0 and takes
    leading '00' / 'FF' octets."""
    try:
        value, length = _INTEGER.decode_with_length("Integer", bytes(data))
        content = tlv.unwrap(bytes(data), 0x02)
    except (*_DECODE_ERRORS, tlv.TlvError):
        raise SwError(SW.INCORRECT_DATA) from None
    if length != len(data) or not content or len(content) > 1 and content[0] in (0x00, 0xFF) and (
            content[0] & 0x80) == (content[1] & 0x80):
        raise SwError(SW.INCORRECT_DATA)
    return value


def children(data: bytes) -> list[bytes]:
    """The complete TLVs (tag, length and value) inside the single TLV ``data``."""
    try:
        tag, _ = tlv.read_tag(data, 0)
        return [whole for _, whole in tlv.split(tlv.unwrap(data, tag))]
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None


def bits_to_int(bits: tuple[bytes, int]) -> int:
    """First octet of an asn1tools BIT STRING value (bit 0 = 0x80), for flag sets of <= 8 bits."""
    data, _ = bits
    return data[0] if data else 0


def int_to_bits(value: int, length: int) -> tuple[bytes, int]:
    """Inverse of :func:`bits_to_int`, with ``length`` named bits (DER drops trailing zeros)."""
    used = length
    while used and not value & (0x80 >> (used - 1)):
        used -= 1
    return (bytes((value,)) if used else b"", used)


def decode_stored(type_name: str, data: bytes, *, v3: bool = False) -> Any:
    """Decode DER the card wrote itself (its own store): no input checks needed."""
    return spec(v3).decode(type_name, bytes(data))


def decode_certificate(certificate: bytes) -> Any:
    """A DER certificate as an asn1tools ``Certificate`` value (re-encodes byte-identically)."""
    return decode_stored("Certificate", certificate)


def canonical_oid(text: str) -> str:
    """An OBJECT IDENTIFIER as asn1tools decodes it, in its X.690 §8.19.4 form: asn1tools does not
    split a first subidentifier >= 80 (arc 2 with a second arc >= 40, e.g. the SGP.26 SM-DP+ OID
    2.999.10 comes back as '26.39.10')."""
    arcs = text.split(".")
    if len(arcs) >= 2 and arcs[0].isdigit() and arcs[1].isdigit() and int(arcs[0]) > 2:
        return ".".join(["2", str(int(arcs[0]) * 40 + int(arcs[1]) - 80), *arcs[2:]])
    return text
