"""The transport benchmark (tools/bench/transport_bench.py) with one round of each part through
PC/SC: the shape of its report (one line per transport with a positive wall time and byte count,
SMS the baseline of its ratios), SMS the fewest bytes of the three for EnableProfile (HTTPS and
CAT_TP are started by an SMS of their own).  No figure is asserted on otherwise."""
from __future__ import annotations

import re

import pytest

from tests.vectors import TS48_V7
from tools.bench import transport_bench

pytestmark = pytest.mark.pcsc
ROW = re.compile(r"\s+(\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$")


def rows(lines: list[str]) -> dict[str, tuple[float, ...]]:
    return {m[1]: tuple(float(m[i]) for i in range(2, 6)) for line in lines if (m := ROW.match(line))}


def test_one_round(pcscd, tmp_path):
    """measure + report as main() runs them (the fixture already holds the slot's lock)."""
    out = transport_bench.report(transport_bench.measure(pcscd, 1, 1, tmp_path, TS48_V7), 1, 1)
    assert out[0] == "ES5 EnableProfile through PC/SC, 1 alternating rounds x 2 switches (median)"
    assert out[1].split() == ["transport", "wall", "ms", "x", "SMS", "APDU", "bytes", "x", "SMS"]
    enable = rows(out[2:5])
    assert out[5] == "TS.48 download (ES5 + ES8) through PC/SC, 1 alternating rounds (median)"
    download = rows(out[7:])
    assert list(enable) == ["sms", "https", "cat_tp"] and list(download) == ["sms", "https", "https_1"]
    assert len(out) == 10
    for table in (enable, download):
        assert table["sms"][1] == 1.0 and table["sms"][3] == 1.0                 # the baseline's own ratio
        assert all(ms > 0 and wire > 0 for ms, _, wire, _ in table.values())
    assert enable["sms"][2] < enable["cat_tp"][2] and enable["sms"][2] < enable["https"][2]
