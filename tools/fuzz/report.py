"""The assurance report (issue #6): fuzzing, power-cut and refusal figures in one place.

Sources, all under the output directory (default build/fuzz/):

* ``results.json`` — written by ``python -m tools.fuzz run`` / ``campaign``;
* ``powercut.json`` — written by tests/robustness/test_power_loss.py when ``EUICC_ROBUSTNESS_OUT``
  names the directory (``report --run-tests`` sets it);
* ``robustness.xml`` — pytest's junit XML of tests/robustness (``report --run-tests``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).parents[2]


def run_tests(out: Path) -> int:
    """Run tests/robustness with junit XML and the power-cut log; returns pytest's exit code."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "powercut.json").unlink(missing_ok=True)
    env = dict(os.environ, EUICC_ROBUSTNESS_OUT=str(out.resolve()))
    args = [sys.executable, "-m", "pytest", "tests/robustness", "-q", "-p", "no:cacheprovider",
            f"--junitxml={(out / 'robustness.xml').resolve()}"]
    return subprocess.run(args, cwd=REPO, env=env).returncode


def _junit(path: Path) -> dict:
    if not path.exists():
        return {}
    cases = list(ET.parse(path).getroot().iter("testcase"))
    def status(case: ET.Element) -> str:
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                return tag
        return "passed"
    by_status: dict[str, list[str]] = {}
    for case in cases:
        by_status.setdefault(status(case), []).append(f"{case.get('classname')}::{case.get('name')}")
    return by_status


def build(out: Path) -> dict:
    """Collect the figures; `ok` is False when anything must be looked at."""
    fuzz = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    cuts = json.loads((out / "powercut.json").read_text()) if (out / "powercut.json").exists() else {}
    junit = _junit(out / "robustness.xml")
    refusals = [n for n in junit.get("passed", []) if "test_refusals" in n]
    failing = junit.get("failure", []) + junit.get("error", [])
    harnesses = fuzz.get("harnesses", {})
    report = {
        "fuzz": {n: {"runs": h["runs"], "crashes": h["crashes"], "artifacts": h["artifacts"]}
                 for n, h in harnesses.items()},
        "fuzz_total_runs": sum(h["runs"] for h in harnesses.values()),
        "fuzz_crashes": sum(h["crashes"] for h in harnesses.values()),
        "powercut_points": sum(c["points"] for c in cuts.values()),
        "powercut_violations": sum(len(c["violations"]) for c in cuts.values()),
        "powercut": cuts,
        "refusal_cases_passing": len(refusals),
        "robustness_tests": {k: len(v) for k, v in junit.items()},
        "failing_tests": failing,
    }
    report["ok"] = bool(harnesses) and bool(cuts) and not failing and \
        report["fuzz_crashes"] == 0 and report["powercut_violations"] == 0
    return report


def render(report: dict) -> str:
    lines = ["fuzzing (inputs executed, crashes):"]
    for name, h in sorted(report["fuzz"].items()):
        lines.append(f"  {name:<16} {h['runs']:>12,} {h['crashes']:>3}")
        lines += [f"      {a}" for a in h["artifacts"]]
    if not report["fuzz"]:
        lines.append("  (no results.json: run `python -m tools.fuzz run` first)")
    lines.append(f"  total            {report['fuzz_total_runs']:>12,} {report['fuzz_crashes']:>3}")
    lines.append("power loss (cut points tested, violations):")
    for name, c in sorted(report["powercut"].items()):
        lines.append(f"  {name:<28} {c['points']:>5} {len(c['violations']):>3}")
        lines += [f"      {v}" for v in c["violations"][:5]]
    if not report["powercut"]:
        lines.append("  (no powercut.json: run `python -m tools.fuzz report --run-tests`)")
    lines.append(f"  total                        {report['powercut_points']:>5} {report['powercut_violations']:>3}")
    lines.append(f"security refusal cases passing: {report['refusal_cases_passing']}")
    lines.append(f"tests/robustness: {report['robustness_tests'] or '(no junit xml)'}")
    lines += [f"  FAILING {n}" for n in report["failing_tests"]]
    lines.append("RESULT: " + ("OK" if report["ok"] else "ATTENTION NEEDED"))
    return "\n".join(lines)
