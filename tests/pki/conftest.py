"""Fixtures for the SGP.22 certificate tests (tests/pki)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.pki.pki_helpers import CURVE_TAGS, Sgp26
from tests.vectors import SGP26


@pytest.fixture(scope="session")
def sgp26() -> Path:
    """The published SGP.26 test PKI (tests/vectors/data/sgp26)."""
    return SGP26


@pytest.fixture(params=CURVE_TAGS)
def ref(request: pytest.FixtureRequest, sgp26: Path) -> Sgp26:
    return Sgp26(sgp26, request.param)
