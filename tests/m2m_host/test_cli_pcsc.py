"""The SGP.02 command-line tools against a card on real pcscd + ifd-vpcd + `euicc-emu run`, used as a
user would: separate `euicc-emu smsr / smdp-m2m / terminal` runs chained by one EIS file, on a card
with the default SGP.02 personalisation (the package's test CI / EUM and ISD-R key set 01), with the
test PKI written by `euicc-emu smsr pki` (see tests/m2m_host/m2m_world.py cli_life_cycle)."""
from __future__ import annotations

import time

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import TS48, cli_life_cycle, invoke_cli

pytestmark = pytest.mark.pcsc


def test_cli_life_cycle_over_pcsc(start_card, pcscd, tmp_path, capsys):
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    start_card(tmp_path / "cli.state")
    started = time.monotonic()
    cli_life_cycle(lambda argv: invoke_cli(capsys, argv), tmp_path / "pki", ["--reader", reader_name(pcscd)])
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nSGP.02 command-line life cycle through PC/SC: {elapsed:.1f} s")
