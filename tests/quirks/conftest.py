"""Fixtures of the quirk profile tests: an SGP.22 ASN.1 codec independent of the card's."""
from __future__ import annotations

import asn1tools
import pytest

from tests.vectors import ASN1


@pytest.fixture(scope="session")
def rsp_asn1():
    """SGP.22 RSPDefinitions with the RFC 5280 modules it imports, compiled with asn1tools from the
    published text kept in tests/vectors (not the card's euicc/asn1 copy)."""
    folder = ASN1 / "sgp22"
    files = [folder / n for n in ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")]
    return asn1tools.compile_files([str(f) for f in files], "der")
