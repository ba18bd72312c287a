"""The SGP.02 command-line tools against a card on real pcscd + ifd-vpcd + `euicc-emu run`, used as a
user would: separate `euicc-emu smsr / smdp-m2m / terminal` runs chained by one EIS file, on a card
with the default SGP.02 personalisation (the package's test CI / EUM and ISD-R key set 01), with the
test PKI written by `euicc-emu smsr pki` (see tests/m2m_host/m2m_world.py cli_life_cycle)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.e2e.pcsc_host import REPO, reader_name
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, cli_life_cycle, duplicate_iccid_download, invoke_cli

pytestmark = pytest.mark.pcsc


def test_cli_life_cycle_over_pcsc(start_card, pcscd, tmp_path, capsys):
    start_card(tmp_path / "cli.state")
    started = time.monotonic()
    cli_life_cycle(lambda argv: invoke_cli(capsys, argv), tmp_path / "pki", ["--reader", reader_name(pcscd)])
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nSGP.02 command-line life cycle through PC/SC: {elapsed:.1f} s")


def test_download_of_an_iccid_already_on_the_card_over_pcsc(start_card, pcscd, tmp_path, capsys):
    """The refused download through pcscd + vpcd (m2m_world.duplicate_iccid_download)."""
    start_card(tmp_path / "dup.state")
    duplicate_iccid_download(capsys, tmp_path / "pki", ["--reader", reader_name(pcscd)])


def test_readme_m2m_sequence_as_subprocesses(start_card, pcscd, tmp_path):
    """The README's first M2M lines, each a separate `euicc-emu` process against `euicc-emu run`
    through pcscd + vpcd: keys on the command line, then the EIS file `smsr pki` wrote.  The second
    run must not reuse the first one's SCP80 counter (TS 102 225 §5.1.1: PoR '02' CNTR low)."""
    start_card(tmp_path / "readme.state")
    reader = ["--reader", reader_name(pcscd)]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "xdg-state"), "PYTHONPATH": str(REPO)}

    def euicc_emu(*argv: str) -> str:
        out = subprocess.run([sys.executable, "-m", "tools.cli", *argv], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"euicc-emu {' '.join(argv)}: {out.stdout}{out.stderr}"
        return out.stdout

    euicc_emu("smsr", "pki", "--out", "m2m")
    first = euicc_emu("smsr", "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, *reader, "--algo", "aes", "audit")
    second = euicc_emu("smsr", "--eis", "m2m/eis.json", *reader, "audit")
    assert "ENABLED" in first and "ECASD certificate 7f21" in first
    assert [line for line in second.splitlines() if "ENABLED" in line] == \
           [line for line in first.splitlines() if "ENABLED" in line]
    assert first.splitlines()[-1] == "next counter 2" and second.splitlines()[-1] == "next counter 3"
