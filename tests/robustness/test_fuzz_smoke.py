"""CI smoke run of every fuzz harness (tools/fuzz), and replay of inputs the fuzzers found.

Each registered harness runs in an atheris subprocess for SMOKE_SECONDS (two at a time); a crash,
an invariant violation, a timeout or an OOM fails the test with the harness's traceback.  The
committed seeds must pass every target, and tests/robustness/fuzz_regressions/<harness>/* holds
inputs that once crashed a harness: each must now be handled (replayed in a subprocess so that a
hang is a failure, not a stuck test run).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.fuzz.harnesses import HARNESSES
from tools.fuzz.runner import run_all
from tools.fuzz.seeds import CORPUS_DIR

SMOKE_SECONDS = 2
REPO = Path(__file__).parents[2]
REGRESSIONS = sorted((Path(__file__).parent / "fuzz_regressions").glob("*/*"))


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_committed_seeds_pass(name):
    seeds = sorted((CORPUS_DIR / name).iterdir()) if (CORPUS_DIR / name).is_dir() else []
    assert seeds, f"no seed corpus for {name}: run `python -m tools.fuzz seeds --harness {name}`"
    target = HARNESSES[name].target()
    for seed in seeds:
        target(seed.read_bytes())


def test_every_harness_runs_without_crash(tmp_path):
    summary = run_all(sorted(HARNESSES), SMOKE_SECONDS, tmp_path, jobs=2)
    crashed = {n: h["errors"] for n, h in summary["harnesses"].items() if h["crashes"]}
    idle = [n for n, h in summary["harnesses"].items() if h["runs"] == 0 and not h["crashes"]]
    assert not idle, f"harnesses that executed nothing: {idle}"
    assert not crashed, "\n\n".join(f"{n}:\n" + "\n".join(e) for n, e in crashed.items())


REPLAY = """
import sys
from pathlib import Path
from tools.fuzz.harnesses import HARNESSES
HARNESSES[sys.argv[1]].target()(Path(sys.argv[2]).read_bytes())
"""


@pytest.mark.parametrize("path", REGRESSIONS, ids=[f"{p.parent.name}/{p.name}" for p in REGRESSIONS])
def test_fuzz_regression_input_is_handled(path):
    try:
        proc = subprocess.run([sys.executable, "-c", REPLAY, path.parent.name, str(path)], cwd=REPO,
                              capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.parent.name}: input {path.read_bytes().hex()} still hangs (> 15 s)")
    assert proc.returncode == 0, proc.stderr[-3000:]
