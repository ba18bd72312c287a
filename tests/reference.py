"""The reference data folder: large third-party test data the repository does not carry.

Small vectors and the SGP.26 test PKI are in the repository (``tests/vectors``); what stays
outside is the TS.48 package set (``profiles/``).  The folder is ``EUICC_REFERENCE_DIR`` if set,
else ``../shared/reference`` beside the checkout (``tools.reference_data``); a path that is not a
directory means "absent"
(``EUICC_REFERENCE_DIR=/nonexistent`` runs the suite as a plain clone would).  Tests that need it
call :func:`require`, which skips with a reason starting ``reference data absent:`` that the
session summary counts (``tests/conftest.py``).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tools.reference_data import reference_dir

SKIP_PREFIX = "reference data absent"
TS48_PACKAGES = "TS.48 packages"
"""What a skip names: the reference README's section 2 (``profiles/``)."""


REFERENCE = reference_dir()


def skip_reason(what: str, rel: str) -> str:
    return (f"{SKIP_PREFIX}: {what} ({rel}); set EUICC_REFERENCE_DIR or put the folder at "
            f"../shared/reference beside the checkout")


def find(rel: str) -> Path | None:
    """REFERENCE / rel if the folder is present and holds it."""
    path = REFERENCE / rel if REFERENCE is not None else None
    return path if path is not None and path.exists() else None


def require(rel: str, what: str = TS48_PACKAGES) -> Path:
    """REFERENCE / rel, or skip the calling test saying which data is missing."""
    path = find(rel)
    if path is None:
        pytest.skip(skip_reason(what, rel))
    return path
