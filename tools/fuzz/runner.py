"""Run atheris harnesses in subprocesses and record what they did (inputs executed, crashes).

Each harness runs as ``python -m tools.fuzz.atheris_main NAME`` with libFuzzer's
``-max_total_time``; new interesting inputs go to a work corpus under the output directory (the
committed seeds are only read).  A crash is a non-zero exit or a ``crash-*``/``timeout-*``/
``oom-*`` artifact; with ``keep_going`` (the long campaign) the harness is restarted after a
crash until its time budget is spent.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.fuzz.seeds import CORPUS_DIR

DEFAULT_OUT = Path("build/fuzz")
_DONE = re.compile(r"stat::number_of_executed_units:\s*(\d+)|Done (\d+) runs")
_COV = re.compile(r"cov: (\d+) ft: (\d+)")
ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-")


@dataclass
class HarnessResult:
    name: str
    runs: int = 0
    seconds: float = 0.0
    crashes: int = 0
    coverage: int = 0
    features: int = 0
    artifacts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _run_once(name: str, seconds: int, out: Path, runs: int | None) -> tuple[int, str, list[Path]]:
    work = out / "corpus" / name
    artifacts = out / "artifacts" / name
    work.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    args = [sys.executable, "-m", "tools.fuzz.atheris_main", name,
            f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/", "-rss_limit_mb=1024",
            "-timeout=10", "-print_final_stats=1"]
    if runs is not None:
        args.append(f"-runs={runs}")
    args += [str(work), str(CORPUS_DIR / name)]
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=Path(__file__).parents[2], timeout=seconds + 120)
    new = sorted(p for p in set(artifacts.iterdir()) - before if p.name.startswith(ARTIFACT_PREFIXES))
    return proc.returncode, proc.stdout, new


def run_harness(name: str, seconds: int, out: Path = DEFAULT_OUT, keep_going: bool = False,
                runs: int | None = None) -> HarnessResult:
    result = HarnessResult(name)
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while True:
        left = max(1, int(deadline - time.monotonic()))
        code, log, artifacts = _run_once(name, left, out, runs)
        executed = [int(a or b) for a, b in _DONE.findall(log)]
        result.runs += max(executed, default=0)
        cov = _COV.findall(log)
        if cov:
            result.coverage, result.features = map(int, cov[-1])
        if code != 0 or artifacts:
            result.crashes += 1
            result.artifacts += [str(a) for a in artifacts]
            result.errors.append(_crash_summary(log))
        if not (keep_going and code != 0) or time.monotonic() >= deadline - 1:
            break
    result.seconds = round(time.monotonic() - start, 1)
    return result


def _crash_summary(log: str) -> str:
    """The Python exception (or libFuzzer error line) of a crashed run, shortened."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "Uncaught Python exception" in line or line.startswith("==") and "ERROR" in line:
            return "\n".join(lines[i:i + 40])[:4000]
    return "\n".join(lines[-20:])[:4000]


def run_all(names: list[str], seconds: int, out: Path = DEFAULT_OUT, jobs: int = 2,
            keep_going: bool = False) -> dict:
    """Run `names` (in parallel, `jobs` at a time) and write ``out/results.json``."""
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda n: run_harness(n, seconds, out, keep_going), names))
    summary = {
        "seconds_per_harness": seconds,
        "harnesses": {r.name: asdict(r) for r in results},
        "total_runs": sum(r.runs for r in results),
        "total_crashes": sum(r.crashes for r in results),
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    return summary
