"""Fixtures for the profile installer tests: the TS.48 packages and an independent decoder."""
from __future__ import annotations

import re

import asn1tools
import pytest

from tests.vectors import ASN1


@pytest.fixture(scope="session")
def reference_saip():
    """asn1tools compiled from the published PE_Definitions (tests/vectors, not the card's
    euicc.asn1 copy).

    asn1tools cannot parse the sqnInit DEFAULT value; the test makes sqnInit OPTIONAL.
    """
    path = ASN1 / "saip" / "PE_Definitions-3.3.1.asn"
    text = re.sub(r"(sqnInit[^\n]*?)\s+DEFAULT\s+'0+'H", r"\1 OPTIONAL", path.read_text())
    return asn1tools.compile_string(text, "der")


def decode_package(spec, data: bytes) -> list[tuple[str, dict]]:
    """The (PE name, value) list of a UPP, decoded element by element with asn1tools."""
    out, offset = [], 0
    while offset < len(data):
        value, length = spec.decode_with_length("ProfileElement", data[offset:])
        out.append(value)
        offset += length
    return out
