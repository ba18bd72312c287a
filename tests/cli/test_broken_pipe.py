"""`euicc-emu ... | head`: the reader of the output goes away before the command has written it all.

Found following the README ("SGP.02 services": `euicc-emu info --state card.state`, piped to
`head` to read the EID): the command died with a BrokenPipeError traceback.  A command line tool
ends quietly there, with the status a shell reports for SIGPIPE (128 + 13)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from euicc.composition import open_card

ROOT = Path(__file__).resolve().parents[2]


def _run_with_closed_stdout(*args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)   # the reader has gone before the first byte
    try:
        return subprocess.run([sys.executable, "-m", "tools.cli", *args], stdout=write_end,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write_end)


def test_short_output_into_a_closed_pipe_ends_quietly() -> None:
    done = _run_with_closed_stdout("quirks", "list")
    assert done.returncode == 141, done.stderr.decode()
    assert done.stderr == b""


def test_long_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    state = tmp_path / "card.state"
    open_card(state).close()   # a new card: its JSON description is longer than a pipe buffer
    done = _run_with_closed_stdout("info", "--state", str(state), "--json")
    assert done.returncode == 141, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"BrokenPipeError" not in done.stderr


def test_a_reader_that_stays_gets_everything_and_status_0() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.cli", "quirks", "list"], capture_output=True,
                          cwd=ROOT, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.strip()
