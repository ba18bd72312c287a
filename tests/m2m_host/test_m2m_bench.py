"""The SGP.02 benchmark's own logic: the life-cycle record check and its PC/SC preconditions."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools.bench import m2m_bench
from tools.smsr.lifecycle import LifeCycle, Step
from tools.smsr.smsr import OtaFailure

NEW, OLD = b"\x01" * 16, b"\x02" * 16
GOOD = {"CreateISDP": "SELECTABLE", "EstablishISDPKeySet": "PERSONALIZED", "DownloadAndInstallation": "DISABLED",
        "EnableProfile": "ENABLED", "Fall-Back": "DISABLED", "ReturnFromFallBack": "ENABLED",
        "SM-SR change": "ENABLED"}


def record(**states: str) -> LifeCycle:
    out = LifeCycle(original=OLD, isdp=NEW, old_smsr_refused=OtaFailure("PoR status 01"))
    out.steps = [Step(name, {NEW: states.get(name.replace("-", "_").replace(" ", "_"), state)})
                 for name, state in GOOD.items()]
    return out


def test_a_correct_record_has_no_problems():
    assert m2m_bench.life_cycle_problems(record()) == []


def test_a_missing_fallback_is_reported():
    assert m2m_bench.life_cycle_problems(record(Fall_Back="ENABLED")) == [
        "Fall-Back: new ISD-P ENABLED instead of DISABLED"]


def test_old_keys_still_working_is_reported():
    bad = record()
    bad.old_smsr_refused = None
    assert m2m_bench.life_cycle_problems(bad) == ["the first SM-SR's keys still work after the SM-SR change"]


def test_missing_profile_leaves_the_pcsc_figure_out(tmp_path: Path):
    with pytest.raises(m2m_bench.PcscUnavailable, match="no profile package"):
        m2m_bench.pcsc_life_cycle(1, 1, tmp_path / "absent.der")


def test_in_process_figures_without_pcsc(capsys):
    assert m2m_bench.main(["--packets", "3", "--runs", "1", "--pcsc-runs", "0"]) == 0
    out = capsys.readouterr().out
    assert "SCP80 AES: median" in out and "SCP80 3DES: median" in out and "PC/SC" not in out
