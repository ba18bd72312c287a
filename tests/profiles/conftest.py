"""Fixtures for the profile installer tests: the TS.48 packages and an independent decoder."""
from __future__ import annotations

import re
from pathlib import Path

import asn1tools
import pytest

REFERENCE = Path("/work/shared/reference")
PROFILES = sorted(REFERENCE.glob("profiles/*/*.der"))


@pytest.fixture(scope="session")
def reference_saip():
    """asn1tools compiled from the published PE_Definitions (not the card's euicc.asn1 copy).

    asn1tools cannot parse the sqnInit DEFAULT value; the test makes sqnInit OPTIONAL.
    """
    path = REFERENCE / "asn1" / "saip" / "PE_Definitions-3.3.1.asn"
    if not path.is_file():
        pytest.skip(f"reference data folder {REFERENCE} is absent")
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
