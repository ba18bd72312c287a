"""Compiled ASN.1 modules of the card: GSMA SGP.22 RSP and TCA SAIP (eUICC Profile Package).

The module texts ship inside this package (the product never reads ``/work/shared``):

* ``RSPDefinitions.asn`` (GSMA SGP.22 v2.x ``RSPDefinitions``) with the RFC 5280 modules
  ``PKIX1Explicit88.asn`` / ``PKIX1Implicit88.asn`` it imports;
* ``PE_Definitions-3.3.1.asn`` (TCA "eUICC Profile Package: Interoperable Format Technical
  Specification" v3.3.1, ``PEDefinitions``), in pySim's edited form.

One correction to pySim's text: ``DeviceInfo.tac`` is ``Octet4`` as SGP.22 defines it (the TAC
is 8 digits), not ``Octet8``.

Each set is compiled once per process with asn1tools' DER codec (``functools.cache``).

The ``PE-AKAParameter.sqnInit`` fix-up: the TCA text declares
``sqnInit SEQUENCE (SIZE (32)) OF OCTET STRING (SIZE (6)) DEFAULT { '000000000000'H, ... }``
(32 zero SQNs), which asn1tools cannot parse; the edited module says ``DEFAULT '000000000000'H``,
which asn1tools turns into the ill-typed string ``'0x000000000000'``, so a decoded package cannot
be re-encoded. :func:`saip` replaces that default by the value the TCA text means (32 x six zero
bytes). Decoding then fills an absent ``sqnInit`` with that list and DER encoding omits it again
when equal (X.690 §11.5), so decode -> encode is byte-identical.

The ``SEQUENCE OF`` guard: asn1tools 0.169's DER ``SEQUENCE OF`` decoder loops forever when an
element does not match its type (e.g. a ``SEQUENCE OF CHOICE`` such as SAIP ``File`` meeting an
unexpected tag: the CHOICE reports a mismatch without consuming bytes). Both specifications get
each ``SEQUENCE OF`` / ``SET OF`` decoder replaced by one that raises ``DecodeError`` when an
element consumes no bytes or runs past the contents (X.690 §8.10/§8.12 contents = the elements).
"""
from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Callable, Iterator

import asn1tools
from asn1tools.codecs import DecodeError
from asn1tools.codecs import der

RSP_MODULES = ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")
SAIP_MODULES = ("PE_Definitions-3.3.1.asn",)

#: TCA SAIP v3.3.1 PE-AKAParameter: sqnInit DEFAULT = 32 sequence numbers of 6 zero octets.
SQN_INIT_DEFAULT: list[bytes] = [bytes(6)] * 32


def _compile(names: tuple[str, ...]) -> asn1tools.compiler.Specification:
    base = resources.files(__package__)
    texts = [base.joinpath(name).read_text(encoding="utf-8") for name in names]
    spec = asn1tools.compile_string("\n".join(texts), codec="der")
    seen: set[int] = set()
    for compiled in spec.types.values():
        for node in _walk(compiled.type, seen):
            if isinstance(node, der.ArrayType):
                node.decode_content = _guarded_array_decoder(node)
    return spec


def _guarded_array_decoder(node: Any) -> Callable[[bytes, int, int], tuple[list[Any], int]]:
    """SEQUENCE OF / SET OF contents decoder that always makes progress (see module doc)."""

    def decode_content(data: bytes, offset: int, length: int) -> tuple[list[Any], int]:
        end = offset + length
        values = []
        while offset < end:
            value, next_offset = node.element_type.decode(data, offset)
            if next_offset <= offset or next_offset > end:
                raise DecodeError(f"element does not fit the SEQUENCE OF at offset {offset}", node)
            values.append(value)
            offset = next_offset
        return values, offset

    return decode_content


@functools.cache
def rsp() -> asn1tools.compiler.Specification:
    """GSMA SGP.22 ``RSPDefinitions`` (+ PKIX1Explicit88/Implicit88), DER codec."""
    return _compile(RSP_MODULES)


@functools.cache
def saip() -> asn1tools.compiler.Specification:
    """TCA SAIP v3.3.1 ``PEDefinitions``, DER codec, with the ``sqnInit`` DEFAULT fixed."""
    spec = _compile(SAIP_MODULES)
    patched = 0
    seen: set[int] = set()
    for compiled in spec.types.values():
        for node in _walk(compiled.type, seen):
            if node.name == "sqnInit" and isinstance(node.default, str):
                node.set_default(list(SQN_INIT_DEFAULT))
                patched += 1
    if patched == 0:  # the module text changed: fail loudly rather than mis-encode
        raise RuntimeError("PEDefinitions: sqnInit member not found for the DEFAULT fix-up")
    return spec


def _walk(node: Any, seen: set[int]) -> Iterator[Any]:
    """Every node of a compiled asn1tools type tree, each once (``seen`` holds visited ids)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in ("members", "root_members", "element_type", "inner"):
            child = getattr(current, attr, None)
            if isinstance(child, list):
                stack.extend(child)
            elif child is not None:
                stack.append(child)
        for addition in getattr(current, "additions", None) or ():
            stack.extend(addition if isinstance(addition, list) else [addition])
