"""End to end against the real card (euicc/, in process and through pcscd/vpcd): the LPA and
the test SM-DP+ drive ES10 on the card's ISD-R.  These tests FAIL when the card side does not
answer as SGP.22 v2.5 §5.7 says.  A new card trusts the test CI shipped with it (the
`card_smdp` fixture holds that CI's SM-DP+ certificates); with the GSMA SGP.26 test eUICC identity
imported (`euicc-emu identity import`) it works with the SGP.26 SM-DP+ certificates."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.rsp_host.conftest import SGP26, SGP26_EID, TS48, TS48_ICCID, make_lpa
from tools.lpa.activation_code import parse
from tools.lpa.lpa import iccid_bytes, iccid_digits
from tools.smdpp.orders import INSTALLED, order_from_upp


def _lifecycle(lpa, smdp, upp, matching_id: str) -> None:
    smdp.add_order(order_from_upp(matching_id, upp))
    result = lpa.download(parse(f"LPA:1${smdp.address}${matching_id}"))
    assert iccid_digits(result.iccid) == TS48_ICCID
    assert smdp.orders[matching_id].state == INSTALLED and smdp.notifications[-1].verified
    ident = ("iccid", iccid_bytes(TS48_ICCID))
    listed = {iccid_digits(p["iccid"]): p for p in lpa.es10.get_profiles_info() if "iccid" in p}
    assert listed[TS48_ICCID]["profileState"] == 0
    assert lpa.es10.enable_profile(ident) == 0
    assert {iccid_digits(p["iccid"]): p["profileState"] for p in lpa.es10.get_profiles_info()}[TS48_ICCID] == 1
    assert lpa.es10.disable_profile(ident) == 0
    assert lpa.es10.delete_profile(ident) == 0
    assert TS48_ICCID not in {iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p}
    assert lpa.es10.delete_profile(ident) == 1          # iccidOrAidNotFound


def test_in_process_download_enable_disable_delete(card_smdp, upp):
    from euicc.composition import open_card   # transport only
    card = open_card(None)
    lpa = make_lpa(card.transmit)
    lpa.es10.transport.open()
    _lifecycle(lpa, card_smdp, upp, "E2E-1")


def test_in_process_sgp26_identity(smdp, upp, tmp_path):
    """With the card carrying the SGP.26 test eUICC identity (EID 89049032123451234512345678901235)."""
    from euicc.composition import open_card
    card = open_card(tmp_path / "card.state")
    card.close()
    assert subprocess.run([sys.executable, "-m", "tools.cli", "identity", "import", str(SGP26),
                           "--state", str(tmp_path / "card.state")], check=False).returncode == 0
    card = open_card(tmp_path / "card.state")
    lpa = make_lpa(card.transmit)
    lpa.es10.transport.open()
    assert lpa.es10.get_eid() == SGP26_EID, "the card does not carry the SGP.26 test identity"
    _lifecycle(lpa, smdp, upp, "E2E-2")


def test_in_process_altered_segment(card_smdp, upp, monkeypatch):
    smdp = card_smdp
    from euicc.composition import open_card
    from tools.lpa.lpa import DownloadError
    card = open_card(None)
    lpa = make_lpa(card.transmit)
    smdp.add_order(order_from_upp("E2E-BAD", upp))
    original = smdp.get_bound_profile_package

    def tamper(transaction_id, response):
        out = original(transaction_id, response)
        bpp = bytearray(out["boundProfilePackage"])
        bpp[len(bpp) - 100] ^= 0x01
        return {**out, "boundProfilePackage": bytes(bpp)}

    monkeypatch.setattr(smdp, "get_bound_profile_package", tamper)
    with pytest.raises(DownloadError) as err:
        lpa.download(parse(f"LPA:1${smdp.address}$E2E-BAD"))
    assert err.value.result.get("errorReason") == 8            # scp03tSecurityError
    assert TS48_ICCID not in {iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p}


@pytest.mark.pcsc
def test_pcsc_cli_download_and_delete(start_card, card_smdp, upp, tmp_path):
    """Through pcscd + vpcd with `euicc-emu run`, driving the LPA's command line."""
    start_card()
    from tests.e2e.pcsc_host import reader_name
    from tests.rsp_host.conftest import PCSC_SLOT
    from tools.lpa import cli

    def main(argv):
        return cli.main(["--reader", reader_name(PCSC_SLOT), *argv])
    smdp = card_smdp
    smdp.add_order(order_from_upp("PCSC-1", upp))
    assert main(["--http", "download", "--activation-code", f"LPA:1${smdp.address}$PCSC-1"]) == 0
    assert smdp.orders["PCSC-1"].state == INSTALLED
    assert main(["profile", "enable", TS48_ICCID]) == 0
    assert main(["profile", "disable", TS48_ICCID]) == 0
    assert main(["profile", "delete", TS48_ICCID]) == 0


@pytest.mark.pcsc
def test_pcsc_sgp26_identity_download(start_card, smdp, upp, tmp_path):
    """The GSMA SGP.26 test eUICC identity imported with `euicc-emu identity import`, the SGP.26
    SM-DP+ certificates and a TS.48 package: download, enable, disable, delete through PC/SC."""
    from euicc.composition import open_card
    from tests.e2e.pcsc_host import reader_name
    from tests.rsp_host.conftest import PCSC_SLOT
    from tools.lpa import cli
    state = tmp_path / "sgp26.state"
    open_card(state).close()
    assert subprocess.run([sys.executable, "-m", "tools.cli", "identity", "import", str(SGP26),
                           "--state", str(state)], check=False).returncode == 0
    start_card(state=state)

    def main(argv):
        return cli.main(["--reader", reader_name(PCSC_SLOT), *argv])
    smdp.add_order(order_from_upp("PCSC-SGP26", upp))
    assert main(["--http", "download", "--activation-code", f"LPA:1${smdp.address}$PCSC-SGP26"]) == 0
    assert smdp.orders["PCSC-SGP26"].state == INSTALLED
    assert main(["profile", "enable", TS48_ICCID]) == 0
    assert main(["profile", "disable", TS48_ICCID]) == 0
    assert main(["profile", "delete", TS48_ICCID]) == 0


def test_smdpp_command_line_serves(tmp_path):
    """`python -m tools.smdpp serve` starts and answers ES9+ (a real subprocess)."""
    import socket
    from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tools.smdpp", "serve", "--port", str(port), "--certs", str(SGP26),
                             "--upp", str(TS48), "--matching-id", "CLI-1"], stdout=subprocess.PIPE, text=True)
    try:
        assert "listening" in proc.stdout.readline()
        client = Es9PlusClient(f"127.0.0.1:{port}", use_tls=False)
        with pytest.raises(Es9FunctionError) as err:
            client.authenticate_client(b"\x01", b"\xbf\x38\x00")
        assert (err.value.subject, err.value.reason) == ("8.10.1", "3.9")
    finally:
        proc.terminate()
        proc.wait(10)


def test_tls_with_dp_tls_certificate(credentials, stub, upp, tmp_path):
    """HTTPS with CERT.DP.TLS (SGP.26 NIST), trusted through the test CI."""
    import ssl
    from cryptography.hazmat.primitives import serialization
    from tools.lpa.es9plus import Es9PlusClient
    from tools.smdpp.es9plus import SmDpPlus
    from tools.smdpp.http_binding import Es9PlusServer
    cred = next(iter(credentials.sets.values()))
    server = Es9PlusServer(SmDpPlus("x", credentials), tls=cred.tls)
    server.smdp.address = f"127.0.0.1:{server.port}"
    server.smdp.add_order(order_from_upp("TLS", upp))
    ctx = ssl.create_default_context(cadata=cred.ci.public_bytes(serialization.Encoding.PEM).decode())
    ctx.check_hostname = False    # the certificate names testsmdpplus1.example.com
    with server:
        from tools.lpa.es10 import Es10Client
        from tools.lpa.lpa import Lpa
        from tools.lpa.transport import Es10Transport
        lpa = Lpa(Es10Client(Es10Transport(stub.transmit)), es9=lambda a: Es9PlusClient(a, True, ctx))
        lpa.download(parse(f"LPA:1${server.smdp.address}$TLS"))
    assert stub.profiles[0].upp == upp
