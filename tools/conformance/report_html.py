"""One self-contained HTML report of a run: a summary table and, per case, its steps with their
APDU logs, verdicts in colour.  Inline CSS, no script, every text through html.escape.
"""
from __future__ import annotations

import html
from pathlib import Path
from string import Template

from tools.conformance.report_junit import step_log
from tools.conformance.model import CaseResult, Verdict

PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<style>
body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}
.PASS{background:#c8f0c8}.FAIL{background:#f6c0c0}.INCONCLUSIVE{background:#f8e8a8}
pre{background:#f4f4f4;padding:.6em;overflow-x:auto;font-size:85%}
details{margin:.3em 0}summary{cursor:pointer}
</style></head><body>
<h1>$title</h1>
<p>Card: $card &middot; reader: $reader &middot; $count cases in $seconds s</p>
<table id="summary"><tr><th>verdict</th><th>cases</th></tr>$totals</table>
<table id="cases"><tr><th>case</th><th>group</th><th>title</th><th>verdict</th><th>reason</th><th>s</th></tr>
$rows</table>
<h2>Steps</h2>
$details
</body></html>
""")


def render(results: list[CaseResult], card: str, reader: str, title: str = "Conformance rehearsal") -> str:
    esc = html.escape
    totals = "".join(f'<tr class="{v.value}"><td>{v.value}</td><td>{sum(r.verdict == v for r in results)}</td></tr>'
                     for v in Verdict)
    rows = "".join(
        f'<tr><td><a href="#c{n}">{esc(r.case.id)}</a></td><td>{esc(r.case.group)}</td><td>{esc(r.case.title)}</td>'
        f'<td class="{r.verdict.value}">{r.verdict.value}</td><td>{esc(r.reason)}</td><td>{r.seconds:.2f}</td></tr>'
        for n, r in enumerate(results))
    details = "".join(
        f'<details id="c{n}"{" open" if r.verdict == Verdict.FAIL else ""}><summary class="{r.verdict.value}">'
        f'{esc(r.case.id)}: {r.verdict.value}</summary><p>{esc(r.case.clause)}'
        f'{"; restores: " + esc(r.case.restores) if r.case.restores else ""}</p><pre>{esc(step_log(r))}</pre></details>'
        for n, r in enumerate(results))
    return PAGE.substitute(title=esc(title), card=esc(card), reader=esc(reader), count=len(results),
                           seconds=f"{sum(r.seconds for r in results):.1f}", totals=totals, rows=rows, details=details)


def write(results: list[CaseResult], path: Path, card: str, reader: str) -> None:
    Path(path).write_text(render(results, card, reader), encoding="utf-8")
