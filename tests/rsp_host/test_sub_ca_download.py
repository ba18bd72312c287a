"""A download from an SM-DP+ whose CERT.DPauth / CERT.DPpb an SM-DP+ sub-CA issued (SGP.22 v3.1
§4.5.2 certificate chains, §5.7.13 otherCertsInChain), all with the host tools: ``euicc-emu pki
create --dp-sub-ca`` writes the PKI, the card imports its eUICC identity, the test SM-DP+ at SVN
3.1.0 sends the sub-CA as otherCertsInChain and the LPA forwards it to AuthenticateServer.  A v2
session cannot carry the chain: the card then finds no CI above CERT.DPauth (ciPKUnknown, 7).
"""
from __future__ import annotations

import pytest
from cryptography import x509

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp.identity import import_identity
from tests.rsp_host.conftest import make_lpa
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError
from tools.pki import cli as pki_cli
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SVN_V3, SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import INSTALLED, order_from_upp

DP_SUB_CA_OID = x509.ObjectIdentifier("2.23.146.1.2.1.0.0.1")      # id-rspRole-dpSubCa (v3.1)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    out = tmp_path_factory.mktemp("pki")
    assert pki_cli.main(["create", "--out", str(out), "--curves", "NIST", "--dp-sub-ca"]) == 0
    return out


def serve(pki, svn: bytes):
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(pki, ("NIST",)), svn=svn))
    server.smdp.address = f"127.0.0.1:{server.port}"
    return server


def lpa_on_card(pki):
    card = open_card(None, CardConfig())
    import_identity(card.store, pki)
    lpa = make_lpa(card.transmit)
    lpa.es10.transport.open()
    return lpa


def test_pki_writes_a_sub_ca_chain(pki):
    sub = x509.load_der_x509_certificate((pki / "DPSubCA" / "CERT_S_SM_DPSubCA_ECDSA_NIST.der").read_bytes())
    auth = x509.load_der_x509_certificate((pki / "DPauth" / "CERT_S_SM_DPauth_ECDSA_NIST.der").read_bytes())
    assert auth.issuer == sub.subject
    assert DP_SUB_CA_OID in [p.policy_identifier for p in sub.extensions.get_extension_for_class(
        x509.CertificatePolicies).value]


def test_v3_download_through_a_sub_ca(pki, upp):
    with serve(pki, SVN_V3) as server:
        smdp = server.smdp
        smdp.add_order(order_from_upp("SUBCA-1", upp))
        result = make_download(lpa_on_card(pki), smdp, "SUBCA-1")
        assert result.seq_number is not None
        assert smdp.orders["SUBCA-1"].state == INSTALLED and smdp.notifications[-1].verified


def test_v2_session_cannot_carry_the_chain(pki, upp):
    with serve(pki, bytes((2, 5, 0))) as server:
        server.smdp.add_order(order_from_upp("SUBCA-2", upp))
        with pytest.raises(DownloadError, match="AuthenticateServer: error 7"):
            make_download(lpa_on_card(pki), server.smdp, "SUBCA-2")


def make_download(lpa, smdp, matching_id: str):
    return lpa.download(parse(f"LPA:1${smdp.address}${matching_id}"))
