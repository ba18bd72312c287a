"""The transport benchmark (tools/bench/transport_bench.py) with one round through PC/SC: one line
per transport with a positive wall time and byte count, SMS the fewest bytes of the three."""
from __future__ import annotations

import re

import pytest

from tools.bench import transport_bench

pytestmark = pytest.mark.pcsc


def test_one_round(pcscd, tmp_path):
    """measure + report as main() runs them (the fixture already holds the slot's lock)."""
    out = transport_bench.report(transport_bench.measure(pcscd, 1, tmp_path), 1)
    assert out[0] == "ES5 AuditEIS through PC/SC, 1 alternating rounds (median)"
    rows = {m[1]: (float(m[2]), float(m[3])) for line in out[2:] if (m := re.match(r"\s+(\w+)\s+([\d.]+)\s+([\d.]+)$", line))}
    assert set(rows) == {"sms", "https", "cat_tp"} and all(ms > 0 and wire > 0 for ms, wire in rows.values())
    assert rows["sms"][1] < rows["cat_tp"][1] and rows["sms"][1] < rows["https"][1]
