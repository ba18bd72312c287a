"""`python -m tools.bench.smsr_change_bench --show-commands` prints each `euicc-emu` command so
that it can be pasted into a shell: it printed `--reader Virtual PCD 00 00` unquoted (four words
to the shell), as found following the README's "The SM-SR change, four parties"."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from euicc.composition import open_card
from tools.bench.smsr_change_bench import _run, euicc_emu


def test_a_shown_command_with_spaces_reads_back_as_the_same_words(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "a card.state"
    open_card(state).close()
    _run(euicc_emu("info", "--state", str(state)), show=True)
    shown = capsys.readouterr().out.splitlines()[0]
    assert shown.startswith("$ ")
    assert shlex.split(shown[2:]) == ["euicc-emu", "info", "--state", str(state)]
