"""What `euicc-emu lpa rpm` prints, as the README's "Remote Profile Management (v3.1)" commands show
it: the ICCIDs of the card's LoadRpmPackageResult as digits (they were the nibble-swapped BCD hex
'98001032547698103214') and the SM-DP+ OIDs in dotted form (the SGP.26 test SM-DP+'s 2.999.10,
printed as asn1tools decodes it, '26.39.10').  Expected values: the TS.48 profile's ICCID and the
registeredID of the shipped CERT.DPauth (read with cryptography, not the card's code)."""
from __future__ import annotations

import json

from cryptography import x509

from euicc.composition import open_card
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID
from tests.rsp_host.test_rpm_host import managed_order, smdp_v3  # noqa: F401 (fixture)
from tools.lpa import cli as lpa_cli
from tools.smdpp import rpm


def _dp_oid() -> str:
    cert = x509.load_der_x509_certificate((SHIPPED_PKI / "DPauth" / "CERT_S_SM_DPauth_ECDSA_NIST.der").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.RegisteredID)[0].dotted_string


def test_rpm_output_shows_iccid_digits_and_dotted_oids(smdp_v3, upp, tmp_path, capsys):  # noqa: F811
    state = tmp_path / "card.state"
    open_card(state).close()
    smdp_v3.add_order(managed_order(smdp_v3, upp, "READABLE"))
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID), rpm.command("listProfileInfo", TS48_ICCID)]))
    assert lpa_cli.main(["--card-state", str(state), "--http", "download", "--activation-code",
                         f"LPA:1${smdp_v3.address}$READABLE"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["rpm"]
    kind, results = outcome["finalResult"]
    assert kind == "rpmPackageExecutionResult"
    assert results[0]["iccid"] == TS48_ICCID
    listed = results[1]["rpmCommandResultData"][1][1][0]
    assert listed["iccid"] == TS48_ICCID
    assert _dp_oid() == "2.999.10"
    assert listed["dpProprietaryData"]["dpOid"] == _dp_oid()
    assert listed["rpmConfiguration"]["managingDpList"][0]["managingDpOid"] == _dp_oid()
