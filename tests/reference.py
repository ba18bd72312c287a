"""Where the shared test data lives (GSMA SGP.26 certificates, TS.48 packages, vectors).

``EUICC_REFERENCE_DIR`` if set, else ``../shared/reference`` beside the checkout, else
``/work/shared/reference``.  Tests that need it skip, saying so, only when none exists.
"""
from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "reference",
    Path("/work/shared/reference"),
)


def reference_dir() -> Path:
    env = os.environ.get("EUICC_REFERENCE_DIR")
    if env:
        return Path(env)
    return next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])


REFERENCE = reference_dir()
