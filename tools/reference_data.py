"""Where the developer scripts find the reference data folder (GSMA TS.48 packages, SGP.26 test
PKI, vectors; see its README.md): ``EUICC_REFERENCE_DIR`` if set, else ``../shared/reference``
beside the checkout.  Only the fuzz seed generator and the benchmarks read it; the product never
does, and the tests carry their small vectors in ``tests/vectors``.
"""
from __future__ import annotations

import os
from pathlib import Path

BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "reference"


def reference_dir() -> Path | None:
    """The reference folder, or None when it is absent (a path that is not a directory)."""
    env = os.environ.get("EUICC_REFERENCE_DIR")
    path = Path(env) if env else BESIDE_CHECKOUT
    return path if path.is_dir() else None


def require_reference(what: str) -> Path:
    """The reference folder, or SystemExit naming what needed it and how to point at it."""
    path = reference_dir()
    if path is None:
        raise SystemExit(f"{what} needs the reference data folder: set EUICC_REFERENCE_DIR or put "
                         f"it at {BESIDE_CHECKOUT}")
    return path
