"""``euicc-emu smsr --transport https`` against an in-process card (the PC/SC link replaced by
``Card.transmit``, as in test_cli_inprocess.py): the SM-SR creates the card's SCP81 key set with
PUT KEY by SMS, then runs ES5 over HTTPS administration sessions (GP Amd B) through the terminal
simulator's BIP channels on loopback; a wrong PSK is refused and changes nothing."""
from __future__ import annotations

import pytest

import tools.smsr.cli as smsr_cli
from euicc.composition import open_card
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, invoke_cli
from tools.terminal.link import CallableLink

DEFAULT_DEK = "202122232425262728292A2B2C2D2E2F"     # the default card's test ISD-R key set, key 03
PSK = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
PSK_DEK = "5566778899AABBCCDDEEFF0011223344"


@pytest.fixture
def card(monkeypatch):
    card = open_card(None)
    monkeypatch.setattr(smsr_cli, "open_link", lambda reader: CallableLink(card.transmit, card.reset))
    monkeypatch.setattr(smsr_cli.HttpsTransport, "timeout", 10.0)
    yield card
    card.close()


def https_cycle(capsys, tmp_path, reader: list[str]) -> None:
    """put-psk by SMS, then audit / create-isdp / delete over HTTPS, a wrong PSK refused."""
    from tools.cli import main
    eis = str(tmp_path / "eis.json")
    keys = ["--eis", eis, "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, *reader]
    status, out = invoke_cli(capsys, ["smsr", *keys, "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK, "--dek", DEFAULT_DEK])
    assert status == 0 and "SCP81 key set 40 KCV" in out, out
    https = ["smsr", "--eis", eis, *reader, "--transport", "https", "--psk", PSK]
    status, out = invoke_cli(capsys, [*https, "audit"])
    assert status == 0 and "ENABLED" in out, out
    status, out = invoke_cli(capsys, [*https, "create-isdp"])
    assert status == 0 and out.startswith("created "), out
    created = out.split()[1]
    status, out = invoke_cli(capsys, [*https, "audit"])
    assert status == 0 and created in out
    status, out = invoke_cli(capsys, [*https, "delete", created])
    assert status == 0, out
    capsys.readouterr()
    assert main([*https, "--psk", "00" * 16, "audit"]) == 1                         # wrong PSK
    assert "no answer over HTTPS" in capsys.readouterr().err
    status, out = invoke_cli(capsys, [*https, "audit"])
    assert status == 0 and created not in out
    status, out = invoke_cli(capsys, ["smsr", "--eis", eis, *reader, "--transport", "https", "audit"])
    assert status == 0 and "ENABLED" in out, out                                  # the PSK put-psk kept in the EIS


def test_es5_over_https_from_the_command_line(card, capsys, tmp_path):
    https_cycle(capsys, tmp_path, [])


def test_https_needs_a_psk(card, capsys):
    with pytest.raises(SystemExit) as exit_:
        smsr_cli.main(["--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--transport", "https", "audit"])
    assert exit_.value.code == 2 and "--psk" in capsys.readouterr().err
