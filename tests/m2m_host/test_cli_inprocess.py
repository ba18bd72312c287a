"""The SGP.02 command-line tools (smsr, smdp-m2m, terminal) against an in-process card with the
default SGP.02 personalisation: the same chained command lines as the PC/SC test, with the PC/SC
link replaced by ``Card.transmit`` (the only change), plus the CLI refusals."""
from __future__ import annotations

import json

import pytest

import tools.smsr.cli as smsr_cli
import tools.terminal.cli as terminal_cli
from euicc.card import Card
from euicc.composition import open_card
from tests.m2m_host.m2m_world import (DEFAULT_KIC, DEFAULT_KID, TS48, cli_life_cycle, duplicate_iccid_download,
                                      invoke_cli)
from tools.terminal.link import CallableLink


@pytest.fixture
def card(monkeypatch):
    card = open_card(None)
    link = lambda reader: CallableLink(card.transmit, card.reset)  # noqa: E731
    monkeypatch.setattr(smsr_cli, "open_link", link)
    monkeypatch.setattr(terminal_cli, "open_link", link)
    yield card
    card.close()


@pytest.fixture
def run(capsys):
    return lambda argv: invoke_cli(capsys, argv)


def test_cli_life_cycle_in_process(card, run, tmp_path):
    cli_life_cycle(run, tmp_path / "pki", [])


def test_readme_audit_command_line_unchanged(card, run):
    """The README's audit line (keys on the command line, no EIS file) still works."""
    status, out = run(["smsr", "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--algo", "aes", "audit"])
    assert status == 0 and "ENABLED" in out and "ECASD certificate 7f21" in out
    assert out.splitlines()[-1] == "next counter 2"


def test_counter_is_kept_in_the_eis_file(card, run, tmp_path):
    eis = tmp_path / "eis.json"
    assert run(["smsr", "--eis", str(eis), "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "audit"])[0] == 0
    assert json.loads(eis.read_text())["keysets"][0]["counter"] == 1
    status, out = run(["smsr", "--eis", str(eis), "audit"])                    # no keys on the line
    assert status == 0 and out.splitlines()[-1] == "next counter 3"
    doc = json.loads(eis.read_text())
    assert doc["ecasd_certificate"].startswith("7F21") and doc["active_kvn"] == 1
    # a replayed counter is refused by the card (TS 102 225 §5.1.1); the file still records it
    status, _ = run(["smsr", "--eis", str(eis), "--counter", "2", "audit"])
    assert status == 1
    assert json.loads(eis.read_text())["keysets"][0]["counter"] == 2


def test_wrong_keys_and_wrong_token_are_refused(card, run, tmp_path):
    pki = tmp_path / "pki"
    assert run(["smsr", "pki", "--out", str(pki)])[0] == 0
    eis = str(pki / "eis.json")
    assert run(["smsr", "--kic", "00" * 16, "--kid", DEFAULT_KID, "audit"])[0] == 1
    isdp = run(["smsr", "--eis", eis, "create-isdp"])[1].split()[1]
    assert run(["smdp-m2m", "--eis", eis, "download", "--key", str(pki / "SK_DP.pem"), "--cert",
                str(pki / "CERT_DP.hex"), "--isdp", isdp, str(TS48)])[0] == 0
    assert run(["smsr", "--eis", eis, "master-delete", isdp, "--token", "00" * 16])[0] == 1
    # the SM-SR change with a certificate the given CI did not sign is stopped before the card
    other = tmp_path / "other"
    assert run(["smsr", "pki", "--out", str(other), "--ci-key", str(pki / "SK_DP.pem")])[0] == 0
    status, _ = run(["smsr", "--eis", eis, "change-smsr", "--new-key", str(other / "SK_SR2.pem"),
                     "--new-cert", str(other / "CERT_SR2.hex"), "--ci-key", str(pki / "PK_CI.pem")])
    assert status == 1
    # without --ci-key the card itself refuses it (certificate not from its CI) and keeps key set 1
    status, _ = run(["smsr", "--eis", eis, "change-smsr", "--new-key", str(other / "SK_SR2.pem"),
                     "--new-cert", str(other / "CERT_SR2.hex")])
    assert status == 1
    assert json.loads((pki / "eis.json").read_text())["active_kvn"] == 1
    assert run(["smsr", "--eis", eis, "audit"])[0] == 0


def test_download_of_an_iccid_already_on_the_card_names_it_and_deletes_the_isdp(card, capsys, tmp_path):
    duplicate_iccid_download(capsys, tmp_path / "pki", [])


def test_readme_sequence_keys_on_the_line_then_eis_file(card, run, tmp_path, counter_ledger):
    """README: `smsr pki --out m2m`, `smsr --kic .. --kid .. audit`, `smsr --eis m2m/eis.json audit`:
    the second run starts above the first one's counter (the ledger's), and the other way round."""
    pki = tmp_path / "m2m"
    assert run(["smsr", "pki", "--out", str(pki)])[0] == 0
    keys = ["--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--algo", "aes"]
    status, out = run(["smsr", *keys, "audit"])
    assert status == 0 and out.splitlines()[-1] == "next counter 2"
    status, out = run(["smsr", "--eis", str(pki / "eis.json"), "audit"])
    assert status == 0 and out.splitlines()[-1] == "next counter 3", out
    status, out = run(["smsr", *keys, "audit"])
    assert status == 0 and out.splitlines()[-1] == "next counter 4", out
    ledger = counter_ledger.read_text()
    assert json.loads(ledger)["counters"] and DEFAULT_KIC.lower() not in ledger.lower()   # no keys in it


def test_terminal_profile_options(card, run):
    """`--no-bip`: only the location status event registered (TS 102 223 §6.4.16); a profile
    without the location status event (byte 5 b5): the location is not sent, and said so."""
    status, out = run(["terminal", "start"])
    assert status == 0 and "events registered: 03 09 0A" in out
    status, out = run(["terminal", "--no-bip", "start"])
    assert status == 0 and "events registered: 03\n" in out
    status, out = run(["terminal", "--terminal-profile", "FFFFFFFF6F0300DF7F0302", "location", "none"])
    assert status == 0 and "events registered: none" in out and "nothing sent" in out
    status, out = run(["terminal", "--terminal-profile", "XYZ", "start"])
    assert status == 2
    status, out = run(["terminal", "--dns-server", "127.0.0.1", "--dns-server", "2001:db8::35", "start"])
    assert status == 0
    status, out = run(["terminal", "--dns-server", "dns.example", "start"])     # an address, not a name
    assert status == 2
