"""The eUICC identity container (SGP.22 §2.4.2 / §4.1.1 EUICCInfo1 CI PKID lists)."""
from __future__ import annotations

import shutil

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from euicc.crypto.cert_identity import EuiccCredential, EuiccIdentity, IdentityError
from euicc.crypto.certificates import CertificateRejected, CertResult
from tests.pki.pki_helpers import CI_PKID, EID1, Sgp26, host_verify


@pytest.fixture
def identity(sgp26) -> EuiccIdentity:
    return EuiccIdentity.from_sgp26_layout(sgp26)


def test_sgp26_import(identity):
    assert identity.eid == EID1
    assert identity.check() == EID1
    assert identity.ci_pkids_for_verification == [CI_PKID["NIST"], CI_PKID["BRP"]]
    assert identity.ci_pkids_for_signing == [CI_PKID["NIST"], CI_PKID["BRP"]]
    assert [c.curve for c in identity.credentials] == ["secp256r1", "brainpoolP256r1"]


@pytest.mark.parametrize("tag", ["NIST", "BRP"])
def test_signature_verifies_with_published_public_key(identity, sgp26, tag):
    data = b"euiccSigned1 stand-in"
    sig = identity.credential(CI_PKID[tag]).sign(data)
    pk = serialization.load_pem_public_key((sgp26 / f"eUICC/PK_EUICC_ECDSA_{tag}.pem").read_bytes())
    host_verify(pk, data, sig)
    with pytest.raises(InvalidSignature):
        host_verify(pk, data + b"!", sig)


def test_unknown_ci_for_signing(identity):
    with pytest.raises(CertificateRejected) as info:
        identity.credential(bytes(20))
    assert info.value.result is CertResult.CI_PK_UNKNOWN


def test_state_round_trip_is_plain_data(identity, sgp26):
    state = identity.to_state()

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, (bytes, str))

    assert plain(state)
    sk = serialization.load_pem_private_key((sgp26 / "eUICC/SK_EUICC_ECDSA_NIST.pem").read_bytes(), None)
    assert state["credentials"][0]["sk_euicc"] == sk.private_numbers().private_value.to_bytes(32, "big")
    again = EuiccIdentity.from_state(state)
    assert again.to_state() == state and again.eid == EID1
    pk = serialization.load_pem_public_key((sgp26 / "eUICC/PK_EUICC_ECDSA_BRP.pem").read_bytes())
    host_verify(pk, b"x", again.credential(CI_PKID["BRP"]).sign(b"x"))


def test_private_key_not_exposed(identity):
    cred = identity.credential(CI_PKID["NIST"])
    scalar = identity.to_state()["credentials"][0]["sk_euicc"].hex()
    assert scalar not in repr(cred) and scalar not in repr(identity)
    assert not [n for n in dir(cred) if "key" in n.lower() and not n.startswith("_")]


def test_pem_certificates_accepted(sgp26):
    ref = Sgp26(sgp26, "NIST")
    pem = ref.cert("eUICC/CERT_EUICC_ECDSA_{t}.der").public_bytes(serialization.Encoding.PEM)
    cred = EuiccCredential(ref.key("eUICC/SK_EUICC_ECDSA_{t}.pem"), pem, ref.eum)
    assert cred.cert_euicc == ref.euicc and cred.ci_pkid == CI_PKID["NIST"]


def test_mismatched_key_rejected(sgp26):
    ref = Sgp26(sgp26, "NIST")
    with pytest.raises(IdentityError, match="does not match"):
        EuiccCredential(ref.key("EUM/SK_EUM_ECDSA_{t}.pem"), ref.euicc, ref.eum)


@pytest.mark.parametrize("state", [
    {},
    {"credentials": [{"curve": "secp384r1", "sk_euicc": b"\x01" * 32, "cert_euicc": b"", "cert_eum": b""}],
     "ci_certificates": []},
    {"credentials": [{"curve": "secp256r1", "sk_euicc": b"\x01" * 32, "cert_euicc": b"junk", "cert_eum": b""}],
     "ci_certificates": []},
    {"credentials": "nope", "ci_certificates": []},
])
def test_bad_state_rejected(state):
    with pytest.raises(IdentityError):
        EuiccIdentity.from_state(state)


def test_missing_files(tmp_path, sgp26):
    with pytest.raises(IdentityError, match="no eUICC"):
        EuiccIdentity.from_sgp26_layout(tmp_path)
    (tmp_path / "eUICC").mkdir()
    shutil.copy(sgp26 / "eUICC/SK_EUICC_ECDSA_NIST.pem", tmp_path / "eUICC")
    with pytest.raises(IdentityError, match="cannot read"):
        EuiccIdentity.from_sgp26_layout(tmp_path)
    (tmp_path / "eUICC/SK_EUICC_ECDSA_NIST.pem").write_bytes(b"-----BEGIN EC PRIVATE KEY-----\nAA==\n")
    with pytest.raises(IdentityError, match="not a private key"):
        EuiccIdentity.from_sgp26_layout(tmp_path)
