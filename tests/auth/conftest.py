"""Shared fixture for the authentication tests: osmo-auc-gen (the vectors are tests/vectors)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

OSMO_AUC_GEN = "/usr/bin/osmo-auc-gen"


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
