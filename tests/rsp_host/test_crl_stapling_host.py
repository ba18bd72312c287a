"""CRL stapling with the host tools (SGP.22 v3.1 InitiateAuthentication / AuthenticateServer
``crlList``): CRLs of the shipped test CI made by ``euicc-emu pki crl`` (tools.pki, cryptography),
stapled by the test SM-DP+ (``smdpp serve --crl``), forwarded by the LPA and checked by the card,
in process and through PC/SC.

Checked independently of the card's code: the SM-DP+'s InitiateAuthentication answer (decoded with
the v3.1 module), the download's outcome and the installed profile list (ES10c).
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography import x509

from euicc.asn1 import rsp3
from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID, make_lpa
from tests.rsp_host.test_v3_download import smdp_v3  # noqa: F401
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError, iccid_digits
from tools.lpa.transport import PcscTransmit
from tools.pki import cli as pki_cli
from tools.smdpp.es9plus import SVN_V3
from tools.smdpp.orders import order_from_upp

REVOKED_CERT = 11
CI = SHIPPED_PKI / "CertificateIssuer"


def pki_crl(tmp_path, *revoke: int) -> bytes:
    out = tmp_path / "ci.crl"
    argv = ["crl", "--ca-cert", str(CI / "CERT_CI_ECDSA_NIST.der"), "--ca-key", str(CI / "SK_CI_ECDSA_NIST.pem"),
            "--out", str(out)] + [a for s in revoke for a in ("--revoke", f"{s:x}")]
    assert pki_cli.main(argv) == 0
    return out.read_bytes()


def card(**settings):
    config = replace(CardConfig(), euicc_info=replace(DEFAULT_SETTINGS, highest_svn=SVN_V3, **settings))
    lpa = make_lpa(open_card(None, config).transmit)
    lpa.es10.transport.open()
    return lpa


def initiate(lpa, smdp) -> tuple[dict, dict]:
    """InitiateAuthentication as the LPA would call it: (answer, decoded serverSigned1)."""
    answer = smdp.initiate_authentication(lpa.es10.get_euicc_challenge(), lpa.es10.get_euicc_info1(), smdp.address)
    return answer, rsp3().decode("ServerSigned1", answer["serverSigned1"])


def dpauth_serial() -> int:
    return x509.load_der_x509_certificate((SHIPPED_PKI / "DPauth" / "CERT_S_SM_DPauth_ECDSA_NIST.der")
                                          .read_bytes()).serial_number


def test_stapled_crl_then_download(smdp_v3, upp, tmp_path):
    crl = pki_crl(tmp_path, 0x1234)
    smdp_v3.crls = [crl]
    lpa = card()
    answer, signed1 = initiate(lpa, smdp_v3)
    assert signed1["sessionContext"]["crlStaplingV3Used"] is True
    assert answer["crlList"][0] == 0xA2 and answer["crlList"].endswith(crl)      # crlList [2] with the one CRL
    smdp_v3.add_order(order_from_upp("CRL-1", upp))
    assert iccid_digits(lpa.download(parse(f"LPA:1${smdp_v3.address}$CRL-1")).iccid) == TS48_ICCID


def test_revoked_smdp_certificate_stops_the_download(smdp_v3, upp, tmp_path):
    smdp_v3.crls = [pki_crl(tmp_path, dpauth_serial())]
    smdp_v3.add_order(order_from_upp("CRL-2", upp))
    lpa = card()
    with pytest.raises(DownloadError, match=f"AuthenticateServer: error {REVOKED_CERT}"):
        lpa.download(parse(f"LPA:1${smdp_v3.address}$CRL-2"))
    assert TS48_ICCID not in [iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p]


def test_no_stapling_for_a_card_without_the_capability(smdp_v3, upp, tmp_path):
    smdp_v3.crls = [pki_crl(tmp_path, dpauth_serial())]
    lpa = card(crl_stapling=False)
    answer, signed1 = initiate(lpa, smdp_v3)
    assert signed1["sessionContext"]["crlStaplingV3Used"] is False and "crlList" not in answer



@pytest.mark.pcsc
def test_crl_stapling_through_pcsc(start_card, pcscd, smdp_v3, upp, tmp_path):
    """A default card behind pcscd + vpcd + pyscard: a CRL revoking CERT.DPauth stops the download
    (revokedCert), a CRL revoking another serial lets it through."""
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        smdp_v3.add_order(order_from_upp("CRL-PCSC", upp))
        smdp_v3.crls = [pki_crl(tmp_path, dpauth_serial())]
        with pytest.raises(DownloadError, match=f"AuthenticateServer: error {REVOKED_CERT}"):
            lpa.download(parse(f"LPA:1${smdp_v3.address}$CRL-PCSC"))
        smdp_v3.crls = [pki_crl(tmp_path, dpauth_serial() + 1)]
        assert iccid_digits(lpa.download(parse(f"LPA:1${smdp_v3.address}$CRL-PCSC")).iccid) == TS48_ICCID
        lpa.es10.transport.close()
    finally:
        transmit.close()
