"""``euicc-emu smdp-m2m --transport https``: a TS.48 profile download (SGP.02 ES8 through the
ISD-R: ES5.CreateISDP, ES8.EstablishISDPKeySet, ES8.DownloadAndInstallation over SCP03t, the
delete-token PUT KEY) carried in GP Amd B HTTPS administration sessions, against an in-process
card (the PC/SC link replaced by ``Card.transmit``, as in test_cli_https.py); the same command
lines run through pcscd + vpcd in test_smdp_https_pcsc.py.

Known answers come from host tools only: the SM-SR's audit (GET STATUS), and after ES5.Enable
the USIM read with plain SELECT / READ BINARY: EF.ICCID and EF.IMSI of the TS.48 v7 package
(ICCID 89000123456789012341, IMSI 001010123456789, as its profile elements hold them)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

import tools.smsr.cli as smsr_cli
from euicc.composition import open_card
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, TS48, audit_states, invoke_cli
from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tests.vectors import TS48_V7_ICCID
from tools.cli import main
from tools.terminal.link import CallableLink, CardLink

TS48_IMSI = "001010123456789"      # EF.IMSI 080910101032547698 in the TS.48 v7 UPP (tests/rsp/test_mep.py)
SELECT_USIM = bytes.fromhex("00A4040C07A0000000871002")     # right-truncated AID, TS 101 220 Annex E


def swapped_digits(data: bytes) -> str:
    """BCD with swapped nibbles (TS 102 221 §13.2 EF.ICCID, TS 31.102 §4.2.2 EF.IMSI)."""
    return "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data)


def usim_identity(link: CardLink) -> tuple[str, str]:
    """(ICCID, IMSI) read after a reset: SELECT MF / EF.ICCID '2FE2', SELECT USIM / EF.IMSI '6F07'."""
    link.reset()

    def read(selects: list[bytes], length: int) -> bytes:
        for apdu in selects:
            _, sw = link.exchange(apdu)
            assert sw == 0x9000, f"{apdu.hex()}: {sw:04X}"
        data, sw = link.exchange(bytes([0x00, 0xB0, 0x00, 0x00, length]))
        assert sw == 0x9000, f"READ BINARY: {sw:04X}"
        return data

    iccid = read([bytes.fromhex("00A4000C023F00"), bytes.fromhex("00A4000C022FE2")], 10)
    imsi = read([SELECT_USIM, bytes.fromhex("00A4000C026F07")], 9)
    return swapped_digits(iccid).rstrip("F"), swapped_digits(imsi[1:1 + imsi[0]])[1:].rstrip("F")


def https_download_cycle(capsys, tmp_path, reader: list[str], link: Callable[[], CardLink]) -> None:
    """put-psk by SMS; smdp-m2m download of TS.48 over HTTPS; the new ISD-P DISABLED in an HTTPS
    audit; enabled over HTTPS, its notification confirmed; its USIM answers with TS.48's ICCID and
    IMSI."""
    pki = tmp_path / "pki"
    eis = str(pki / "eis.json")
    status, out = invoke_cli(capsys, ["smsr", "pki", "--out", str(pki)])
    assert status == 0, out
    status, out = invoke_cli(capsys, ["smsr", "--eis", eis, *reader, "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK,
                                      "--dek", DEFAULT_DEK])
    assert status == 0 and "SCP81 key set 40 KCV" in out, out
    https = ["--eis", eis, *reader, "--transport", "https", "--psk", PSK]
    before = audit_states(invoke_cli(capsys, ["smsr", *https, "audit"])[1])
    status, out = invoke_cli(capsys, ["smdp-m2m", *https, "download", "--key", str(pki / "SK_DP.pem"),
                                      "--cert", str(pki / "CERT_DP.hex"), "--eum-key", str(pki / "PK_EUM.pem"),
                                      str(TS48)])
    assert status == 0 and "delete-token key put" in out, out
    isdp = out.split()[1].rstrip(":")
    assert isdp not in before
    states = audit_states(invoke_cli(capsys, ["smsr", *https, "audit"])[1])
    assert states[isdp] == "DISABLED"                                          # installed, SGP.02 §4.1.3.3
    assert {a: s for a, s in states.items() if a != isdp} == before            # nothing else changed
    status, out = invoke_cli(capsys, ["smsr", *https, "enable", isdp])
    assert status == 0, out
    status, out = invoke_cli(capsys, ["smsr", *https, "notifications"])
    assert status == 0 and "confirmed" in out, out
    states = audit_states(invoke_cli(capsys, ["smsr", *https, "audit"])[1])
    assert states[isdp] == "ENABLED" and list(states.values()).count("ENABLED") == 1
    connection = link()
    try:
        assert usim_identity(connection) == (TS48_V7_ICCID, TS48_IMSI)
    finally:
        connection.close()


@pytest.fixture
def card(monkeypatch, tmp_path):
    card = open_card(None)
    monkeypatch.setattr(smsr_cli, "open_link", lambda reader: CallableLink(card.transmit, card.reset))
    monkeypatch.setattr(smsr_cli.HttpsTransport, "timeout", 10.0)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    yield card
    card.close()


def test_ts48_download_over_https_from_the_command_line(card, capsys, tmp_path):
    https_download_cycle(capsys, tmp_path, [], lambda: CallableLink(card.transmit, card.reset))


def test_smdp_https_needs_a_psk(card, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["smdp-m2m", "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--transport", "https", "download",
              "--key", "k.pem", "--cert", "c.hex", "upp.der"])
    assert exit_.value.code == 2 and "--psk" in capsys.readouterr().err
