"""Fixtures of the quirk profile tests: an SGP.22 ASN.1 codec independent of the card's."""
from __future__ import annotations

import asn1tools
import pytest

from tests.reference import REFERENCE


@pytest.fixture(scope="session")
def rsp_asn1():
    """SGP.22 RSPDefinitions with the RFC 5280 modules it imports, compiled with asn1tools from the
    published text in the reference folder (not the card's euicc/asn1 copy)."""
    folder = REFERENCE / "asn1" / "sgp22"
    files = [folder / n for n in ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")]
    if not all(f.is_file() for f in files):
        pytest.skip(f"the published SGP.22 ASN.1 is not in {folder}")
    return asn1tools.compile_files([str(f) for f in files], "der")
