"""``euicc-emu smsr --transport https`` against an in-process card (the PC/SC link replaced by
``Card.transmit``, as in test_cli_inprocess.py): the SM-SR creates the card's SCP81 key set with
PUT KEY by SMS, then runs ES5 over HTTPS administration sessions (GP Amd B) through the terminal
simulator's BIP channels on loopback; a wrong PSK is refused and changes nothing."""
from __future__ import annotations

import pytest

import tools.smsr.cli as smsr_cli
from euicc.composition import open_card
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, invoke_cli
from tools.terminal.dns_server import DnsServer, Record
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


@pytest.mark.parametrize("where", ["trigger", "terminal"])
def test_smsr_given_by_name_from_the_command_line(card, capsys, tmp_path, where):
    """``--dns-name``: the trigger names the SM-SR only ('B3'); the card resolves it over a BIP UDP
    channel with the test DNS server given in the trigger (``--dns-server``) or by the terminal
    simulator when OPEN CHANNEL asks (``--terminal-dns``, TS 102 223 §6.4.27), then runs ES5."""
    eis = str(tmp_path / "eis.json")
    status, out = invoke_cli(capsys, ["smsr", "--eis", eis, "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID,
                                      "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK, "--dek", DEFAULT_DEK])
    assert status == 0, out
    dns = DnsServer({"smsr.example.test": Record("127.0.0.1", ttl=1)}).start()
    server = ["--dns-server", "127.0.0.1"] if where == "trigger" else ["--terminal-dns", "127.0.0.1"]
    try:
        status, out = invoke_cli(capsys, ["smsr", "--eis", eis, "--transport", "https", "--psk", PSK,
                                          "--dns-name", "smsr.example.test", "--dns-port", str(dns.port), *server,
                                          "audit"])
    finally:
        dns.stop()
    assert status == 0 and "ENABLED" in out, out
    assert dns.queries == ["smsr.example.test."]


@pytest.mark.parametrize("argv", [["--dns-server", "127.0.0.1"], ["--dns-port", "5353"],
                                  ["--transport", "sms", "--dns-name", "smsr.example.test"],
                                  ["--dns-name", "x", "--dns-server", "not-an-address"]])
def test_dns_options_need_each_other(card, capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        smsr_cli.main(["--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--transport", "https", "--psk", PSK,
                       *argv, "audit"])
    assert exit_.value.code == 2 and "--dns" in capsys.readouterr().err
