"""JUnit XML of a run (the de-facto schema CI systems read: ``testsuites`` / ``testsuite`` /
``testcase`` with ``failure`` and ``skipped``; Jenkins, GitLab and GitHub reporters accept it).

FAIL -> ``<failure>``, INCONCLUSIVE -> ``<skipped>`` (a precondition not met is not a defect of the
card); each case's steps and APDUs go to ``<system-out>``.  Built with xml.etree.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tools.conformance.model import CaseResult, Verdict


def step_log(result: CaseResult) -> str:
    lines = []
    for step in result.steps:
        lines.append(f"== {step.title}")
        lines += [f"   {note}" for note in step.notes]
        for exchange in step.exchanges:
            lines.append(f"   >> {exchange.command.hex().upper()}")
            lines.append(f"   << {exchange.response.hex().upper()}")
    return "\n".join(lines)


def build(results: list[CaseResult], name: str = "euicc-emu conformance") -> ET.ElementTree:
    root = ET.Element("testsuites", name=name)
    suites: dict[str, list[CaseResult]] = {}
    for result in results:
        suites.setdefault(f"{result.case.suite}.{result.case.group}", []).append(result)
    for suite_name, members in suites.items():
        suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(members)),
                              failures=str(sum(r.verdict == Verdict.FAIL for r in members)),
                              skipped=str(sum(r.verdict == Verdict.INCONCLUSIVE for r in members)),
                              errors="0", time=f"{sum(r.seconds for r in members):.3f}")
        for result in members:
            element = ET.SubElement(suite, "testcase", name=result.case.id, classname=suite_name,
                                    time=f"{result.seconds:.3f}")
            if result.verdict == Verdict.FAIL:
                ET.SubElement(element, "failure", message=result.reason, type="FAIL").text = result.reason
            elif result.verdict == Verdict.INCONCLUSIVE:
                ET.SubElement(element, "skipped", message=result.reason)
            ET.SubElement(element, "system-out").text = f"{result.case.title} ({result.case.clause})\n{step_log(result)}"
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(r.verdict == Verdict.FAIL for r in results)))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    return ET.ElementTree(root)


def write(results: list[CaseResult], path: Path) -> None:
    tree = build(results)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
