"""Shared fixtures: the published vectors in /work/shared/reference (see its README.md)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference import REFERENCE


@pytest.fixture(scope="session")
def reference() -> Path:
    if not (REFERENCE / "vectors" / "test_vectors.json").is_file():
        pytest.skip(f"reference data folder {REFERENCE} is absent (set EUICC_REFERENCE_DIR)")
    return REFERENCE


@pytest.fixture(scope="session")
def vectors(reference: Path) -> dict:
    return json.loads((reference / "vectors" / "test_vectors.json").read_text())


@pytest.fixture(scope="session")
def scp03_vectors(vectors: dict) -> dict:
    return vectors["scp03_gp_amd_d"]


@pytest.fixture(scope="session")
def bsp_vectors(vectors: dict) -> dict:
    return vectors["sgp22_bsp_scp03t"]
