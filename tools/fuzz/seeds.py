"""Seed corpus generator: ``python -m tools.fuzz seeds`` writes every harness's seeds (valid
traffic built from real commands and the published vectors in the reference data folder) to
tools/fuzz/corpus/<harness>/, and the data files a harness needs at run time to tools/fuzz/data/.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tools.fuzz.harnesses import HARNESSES, certificate_data
from tools.reference_data import require_reference

CORPUS_DIR = Path(__file__).parent / "corpus"
DATA_DIR = Path(__file__).parent / "data"


def write_seeds(names: list[str] | None = None) -> dict[str, int]:
    """(Re)write the seed directories; returns the number of seeds per harness."""
    require_reference("the seed generator")
    counts = {}
    for name in names or list(HARNESSES):
        out = CORPUS_DIR / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        seeds = HARNESSES[name].seeds()
        for seed in seeds:
            (out / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
        counts[name] = len(set(seeds))
    for rel, blob in certificate_data().items():
        (DATA_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
        (DATA_DIR / rel).write_bytes(blob)
    return counts
