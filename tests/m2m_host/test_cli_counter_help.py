"""`euicc-emu smsr --help` / `smdp-m2m --help` tell where the first SCP80 counter comes from as the
README ("M2M (SGP.02)") and the code (tools.smsr.cli, the counter ledger) do: it said "from the EIS
file, else 1", which the ledger made stale (a run with the keys on the line starts above it too)."""
from __future__ import annotations

import pytest

from tools import cli


@pytest.mark.parametrize("command", ["smsr", "smdp-m2m"])
def test_counter_help_names_the_ledger(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "from the EIS file, else 1" not in text
    assert "counter ledger" in text and "scp80-counters.json" in text
