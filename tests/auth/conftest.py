"""Shared fixtures for the authentication tests: published vectors and osmo-auc-gen."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.reference import REFERENCE

VECTORS = REFERENCE / "vectors" / "test_vectors.json"
OSMO_AUC_GEN = "/usr/bin/osmo-auc-gen"


@pytest.fixture(scope="session")
def vectors() -> dict:
    """test_vectors.json of the shared reference data (skipped, with reason, if absent)."""
    if not VECTORS.is_file():
        pytest.skip(f"reference vectors not available: {VECTORS} is absent")
    return json.loads(VECTORS.read_text())


@pytest.fixture(scope="session")
def auc_gen():
    """Run Debian's osmo-auc-gen (libosmocore-utils) and parse its 'NAME:\\tvalue' lines.

    Missing binary is a failure, not a skip: the cross-check against an independent
    implementation is part of the acceptance of this module.
    """
    path = OSMO_AUC_GEN if Path(OSMO_AUC_GEN).is_file() else shutil.which("osmo-auc-gen")
    if path is None:
        pytest.fail("osmo-auc-gen not found: install Debian package libosmocore-utils")

    def run(*args: str) -> dict[str, str]:
        out = subprocess.run([path, *args], capture_output=True, text=True, timeout=10,
                             check=True).stdout
        fields = {}
        for line in out.splitlines():
            name, sep, value = line.partition(":\t")
            if sep:
                fields[name.strip()] = value.strip()
        return fields

    return run
