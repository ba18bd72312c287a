"""Access to /work/shared/reference for the SAIP tests (skips clearly when it is absent)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference import REFERENCE


def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data folder {REFERENCE} is absent")
    return REFERENCE


def profile_files() -> list[Path]:
    if not REFERENCE.is_dir():
        return []
    return sorted(REFERENCE.glob("profiles/*/*.der"))


def vectors() -> dict:
    return json.loads((reference_dir() / "vectors" / "test_vectors.json").read_text())
