"""``python -m tools.pki create``: the generated hierarchy passes the card rules AND independent
checks (OpenSSL ``verify``, cryptography's ``verify_directly_issued_by``), and carries the same
extension set and criticality as the SGP.26 certificates."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.crypto.certificates import CertResult, CertificateRejected, Role
from tests.pki.pki_helpers import Sgp26
from tools.pki import eid as eid_util
from tools.pki.cli import main

EID = "89049032000000000000000000000163"  # prefix 89049032, serial 1, check digits 63
LEAVES = {"DPauth/CERT_S_SM_DPauth_ECDSA_{t}.der": Role.DP_AUTH, "DPpb/CERT_S_SM_DPpb_ECDSA_{t}.der": Role.DP_PB,
          "DPtls/CERT_S_SM_DP_VARO_TLS_{t}.der": Role.DP_TLS}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pki")
    assert main(["create", "--out", str(path), "--eid", EID]) == 0
    return path


@pytest.fixture(params=["NIST", "BRP"])
def made(out, request) -> Sgp26:
    return Sgp26(out, request.param)


def test_layout_matches_sgp26(out, sgp26):
    ours = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    theirs = {p.relative_to(sgp26) for p in sgp26.rglob("*") if p.is_file() and "DP2" not in p.name}
    assert ours == theirs


def test_card_rules_accept_generated_hierarchy(out, made):
    identity = EuiccIdentity.from_sgp26_layout(out, [made.tag])
    assert identity.check() == EID
    verifier = identity.verifier()
    for rel, role in LEAVES.items():
        assert verifier.verify_chain(made.der(rel), (role,), identity.ci_pkids_for_verification[0]).role is role


def test_independent_signature_links(made):
    ci, eum = made.cert("CertificateIssuer/CERT_CI_ECDSA_{t}.der"), made.cert("EUM/CERT_EUM_ECDSA_{t}.der")
    ci.verify_directly_issued_by(ci)
    eum.verify_directly_issued_by(ci)
    made.cert("eUICC/CERT_EUICC_ECDSA_{t}.der").verify_directly_issued_by(eum)
    for rel in LEAVES:
        made.cert(rel).verify_directly_issued_by(ci)


def test_openssl_verify(out, made, tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not installed: the independent OpenSSL check cannot run")
    ca = tmp_path / "ci.pem"
    shutil.copy(out / f"CertificateIssuer/CERT_CI_ECDSA_{made.tag}.pem", ca)
    for rel in ["EUM/CERT_EUM_ECDSA_{t}.der", *LEAVES]:
        pem = tmp_path / "leaf.pem"
        subprocess.run([openssl, "x509", "-inform", "DER", "-in", str(out / rel.format(t=made.tag)), "-out", str(pem)],
                       check=True, capture_output=True)
        done = subprocess.run([openssl, "verify", "-partial_chain", "-ignore_critical", "-CAfile", str(ca), str(pem)],
                              capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.strip().endswith("OK"), (rel, done.stdout, done.stderr)


def test_keys_match_certificates(made):
    for folder, stem in (("EUM", "EUM_ECDSA"), ("eUICC", "EUICC_ECDSA"), ("DPauth", "S_SM_DPauth_ECDSA")):
        key = made.key(f"{folder}/SK_{stem}_{{t}}.pem")
        assert made.cert(f"{folder}/CERT_{stem}_{{t}}.der").public_key() == key.public_key()


PAIRS = ["CertificateIssuer/CERT_CI_ECDSA_{t}.der", "EUM/CERT_EUM_ECDSA_{t}.der", "eUICC/CERT_EUICC_ECDSA_{t}.der",
         *LEAVES]


@pytest.mark.parametrize("rel", PAIRS)
def test_extension_set_as_sgp26(made, sgp26, rel):
    def profile(cert: x509.Certificate) -> dict[str, bool]:
        return {e.oid.dotted_string: e.critical for e in cert.extensions}

    ours, theirs = made.cert(rel), Sgp26(sgp26, made.tag).cert(rel)
    assert profile(ours) == profile(theirs)
    assert ours.public_key().curve.name == theirs.public_key().curve.name
    assert ours.signature_algorithm_oid == theirs.signature_algorithm_oid
    for ext_type in (x509.CertificatePolicies, x509.KeyUsage, x509.BasicConstraints, x509.ExtendedKeyUsage):
        try:
            assert ours.extensions.get_extension_for_class(ext_type).value == \
                theirs.extensions.get_extension_for_class(ext_type).value
        except x509.ExtensionNotFound:
            pass


def test_eum_name_constraint_and_eid(made):
    nc = made.cert("EUM/CERT_EUM_ECDSA_{t}.der").extensions.get_extension_for_class(x509.NameConstraints).value
    (subtree,) = nc.permitted_subtrees
    assert subtree.value.rfc4514_string() == "2.5.4.5=89049032,O=RSP Test EUM"
    subject = made.cert("eUICC/CERT_EUICC_ECDSA_{t}.der").subject
    assert subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value == EID
    assert eid_util.from_prefix("89049032", 1) == EID


def test_default_eid_and_prefix(tmp_path, capsys):
    assert main(["create", "--out", str(tmp_path), "--curves", "NIST", "--eid-prefix", "89049099"]) == 0
    eid = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert eid.startswith("89049099") and eid_util.is_valid(eid)
    assert EuiccIdentity.from_sgp26_layout(tmp_path).check() == eid
    assert not (tmp_path / "eUICC/CERT_EUICC_ECDSA_BRP.der").exists()


def test_card_rejects_tool_eid_outside_other_eum(out, sgp26):
    # the tool's eUICC certificate presented with the SGP.26 EUM: AKI/SKI link broken
    identity = EuiccIdentity.from_sgp26_layout(sgp26, ["NIST"])
    with pytest.raises(CertificateRejected) as info:
        identity.verifier().verify_euicc_chain((out / "eUICC/CERT_EUICC_ECDSA_NIST.der").read_bytes(),
                                              (sgp26 / "EUM/CERT_EUM_ECDSA_NIST.der").read_bytes())
    assert info.value.result is CertResult.INVALID_CERTIFICATE


@pytest.mark.parametrize("argv, status", [
    (["create", "--out", "{tmp}", "--curves", "P384"], 2),
    (["create", "--out", "{tmp}", "--eid", "89049032123451234512345678901236"], 2),
    (["create", "--out", "{tmp}", "--eid", "89049033123451234512345678901217", "--eid-prefix", "89049032"], 2),
    (["eid", "check", "89049032123451234512345678901236"], 1),
    (["eid", "check", "89049044900000000000000000102355"], 0),
])
def test_cli_status(tmp_path, argv, status):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == status


def test_cli_eid_complete(capsys):
    assert main(["eid", "complete", "890490321234512345123456789012"]) == 0
    assert capsys.readouterr().out.strip() == "89049032123451234512345678901235"


def test_module_entry_point(tmp_path):
    import sys
    done = subprocess.run([sys.executable, "-m", "tools.pki", "eid", "check", "89049032123451234512345678901235"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and done.stdout.strip() == "valid"
