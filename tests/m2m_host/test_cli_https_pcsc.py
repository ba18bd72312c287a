"""``euicc-emu smsr --transport https`` against a card on real pcscd + ifd-vpcd + `euicc-emu run`
(GP Amd B over the terminal simulator's BIP channels on loopback): the same command lines as the
in-process test (tests/m2m_host/test_cli_https.py)."""
from __future__ import annotations

import pytest

import tools.smsr.cli as smsr_cli
from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.test_cli_https import https_cycle

pytestmark = pytest.mark.pcsc


def test_es5_over_https_through_pcsc(start_card, pcscd, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(smsr_cli.HttpsTransport, "timeout", 15.0)
    start_card(tmp_path / "https.state")
    https_cycle(capsys, tmp_path, ["--reader", reader_name(pcscd)])
