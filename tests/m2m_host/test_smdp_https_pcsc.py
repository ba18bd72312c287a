"""``euicc-emu smdp-m2m --transport https`` against a card on real pcscd + ifd-vpcd + `euicc-emu run`:
a TS.48 profile downloaded in HTTPS administration sessions (GP Amd B over the terminal
simulator's BIP channels on loopback), found DISABLED by the SM-SR's audit, enabled, and its USIM
read through a fresh PC/SC connection (the same command lines as test_smdp_https.py)."""
from __future__ import annotations

import pytest

import tools.smsr.cli as smsr_cli
from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.test_smdp_https import https_download_cycle
from tools.terminal.link import PcscLink

pytestmark = pytest.mark.pcsc


def test_ts48_download_over_https_through_pcsc(start_card, pcscd, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(smsr_cli.HttpsTransport, "timeout", 15.0)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    start_card(tmp_path / "download.state")
    https_download_cycle(capsys, tmp_path, ["--reader", reader_name(pcscd)], lambda: PcscLink(reader_name(pcscd)))
