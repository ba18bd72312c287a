"""The GSMA SGP.22 ``RSPDefinitions`` ASN.1 module, compiled with asn1tools for the runner.

The module text is read as a data file (default: the copy the project's host tools use,
``euicc/asn1/RSPDefinitions.asn`` with the RFC 5280 modules it imports); the runner does not
import the card's package to get it.  ``EUICC_CONFORMANCE_ASN1_DIR`` points elsewhere.

asn1tools 0.169 loops forever in a DER ``SEQUENCE OF`` whose element does not match (a CHOICE
that consumes nothing); a card under test may answer exactly that, so each ``SEQUENCE OF`` /
``SET OF`` decoder here raises ``DecodeError`` when an element makes no progress (X.690 §8.10).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import asn1tools
from asn1tools.codecs import DecodeError, der

MODULES = ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "euicc" / "asn1"
DECODE_ERRORS = (asn1tools.Error, ValueError, KeyError, IndexError, TypeError)


def module_dir() -> Path:
    return Path(os.environ.get("EUICC_CONFORMANCE_ASN1_DIR", DEFAULT_DIR))


@functools.cache
def rsp() -> asn1tools.compiler.Specification:
    """SGP.22 ``RSPDefinitions`` with the DER codec (compiled once per process)."""
    texts = [(module_dir() / name).read_text(encoding="utf-8") for name in MODULES]
    spec = asn1tools.compile_string("\n".join(texts), codec="der")
    seen: set[int] = set()
    for compiled in spec.types.values():
        stack = [compiled.type]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, der.ArrayType):
                node.decode_content = _progressing(node)
            for attr in ("members", "root_members", "element_type", "inner"):
                child = getattr(node, attr, None)
                stack.extend(child if isinstance(child, list) else [child] if child is not None else [])
            for addition in getattr(node, "additions", None) or ():
                stack.extend(addition if isinstance(addition, list) else [addition])
    return spec


def _progressing(node: Any):
    def decode_content(data: bytes, offset: int, length: int) -> tuple[list[Any], int]:
        end, values = offset + length, []
        while offset < end:
            value, following = node.element_type.decode(data, offset)
            if following <= offset or following > end:
                raise DecodeError(f"element does not fit the SEQUENCE OF at offset {offset}", node)
            values.append(value)
            offset = following
        return values, offset

    return decode_content
