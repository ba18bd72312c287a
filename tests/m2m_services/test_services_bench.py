"""The services benchmark runs its no-card part and says why it leaves the card part out."""
from __future__ import annotations

import re
from pathlib import Path

from tools.bench import m2m_services_bench


def test_no_card_part_and_missing_profile(capsys, tmp_path: Path):
    assert m2m_services_bench.main(["--calls", "20", "--rounds", "2", "--enables", "1",
                                    "--profile", str(tmp_path / "absent.der")]) == 0
    out = capsys.readouterr().out
    echo = float(re.search(r"HTTP echo baseline\s+([\d.]+)", out)[1])
    es4 = float(re.search(r"ES4.GetEIS \(no card\)\s+([\d.]+)", out)[1])
    assert 0 < echo and 0 < es4
    assert "20 calls per side in 2 alternating rounds" in out
    assert f"ES4.EnableProfile through the card: left out (profile package {tmp_path / 'absent.der'} is absent)" in out
