"""Test PKI files for the SGP.02 command-line tools (SGP.02 v4.2 §2.3: CI, SM-SR, SM-DP, EUM).

:func:`write_test_pki` writes, signed by a CI whose private key it is given (default: the package's
test CI, ``tools/pki/test_pki/CertificateIssuer/SK_CI_ECDSA_NIST.pem``, which is the CI whose public
key a new card trusts, see ``euicc/m2m/personalization.py``):

- ``SK_SR2.pem`` / ``CERT_SR2.hex``: a second SM-SR (CERT.SR.ECDSA, role 'C8 01 02') for change-smsr;
- ``SK_DP.pem`` / ``CERT_DP.hex``: an SM-DP (CERT.DP.ECDSA, role 'C8 01 01') for smdp-m2m;
- ``PK_CI.pem``: the CI public key (check the certificates above); ``PK_EUM.pem``: the package's
  test EUM public key that signs a default card's CERT.ECASD.ECKA;
- ``CERT_CI.der`` / ``CERT_EUM.der``: the package's test CI and EUM X.509 certificates (the chain a
  new SM-SR verifies CERT.ECASD.ECKA against in an SM-SR change; with another ``--ci-key`` the EUM
  certificate is still the package's, issued by the package's CI);
- ``eis.json``: an EIS file holding the default card's first ISD-R key set (KVN 01, AES, the
  documented test KIc/KID of ``euicc/m2m/personalization.py``) so ``smsr --eis`` works at once;
- ``README.txt``: what the card side needs.

Only data files of the package are read here (never card code): host and card stay independent.
Private keys written here are test material.
"""
from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tools.ota.packet import AES, OtaKeyset
from tools.smsr import eis_file
from tools.smsr.gp_certificate import ROLE_SM_DP, ROLE_SM_SR, build_certificate

DEFAULT_CARD_KEYSET = OtaKeyset(1, AES, bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
                                AES, bytes.fromhex("101112131415161718191A1B1C1D1E1F"))
"""The default card's documented test ISD-R key set 01 (AES-128), euicc/m2m/personalization.py."""
CI_FILE = Path("CertificateIssuer") / "SK_CI_ECDSA_NIST.pem"
EUM_FILE = Path("EUM") / "CERT_EUM_ECDSA_NIST.der"
CI_CERT_FILE = Path("CertificateIssuer") / "CERT_CI_ECDSA_NIST.der"


class PkiError(ValueError):
    """A key file that cannot be read or is not a NIST P-256 EC key."""


def package_test_pki() -> Path:
    """The host tools' test PKI folder (tools/pki/test_pki; the card trusts its CI)."""
    return Path(__file__).resolve().parents[1] / "pki" / "test_pki"


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    except (OSError, ValueError, TypeError) as exc:
        raise PkiError(f"{path}: not a PEM private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"{path}: not an EC private key")
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """An EC public key from a PEM public key, or from a PEM or DER X.509 certificate."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PkiError(f"{path}: {exc}") from exc
    loaders = (serialization.load_pem_public_key, lambda d: x509.load_pem_x509_certificate(d).public_key(),
               lambda d: x509.load_der_x509_certificate(d).public_key())
    for loader in loaders:
        try:
            key = loader(data)
        except (ValueError, TypeError):
            continue
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key
    raise PkiError(f"{path}: no EC public key (PEM public key or X.509 certificate)")


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_test_pki(out: Path, ci_key_file: Path | None = None) -> list[Path]:
    """Write the files of the module docstring into ``out``; returns their paths."""
    package = package_test_pki()
    ci = load_private_key(ci_key_file or package / CI_FILE)
    out.mkdir(parents=True, exist_ok=True)
    smsr2, smdp = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    files = {
        "SK_SR2.pem": _pem(smsr2),
        "CERT_SR2.hex": build_certificate(ci, smsr2.public_key(), serial=b"\x02", ca_id=b"CI", subject_id=b"SMSR2",
                                          role=ROLE_SM_SR).hex().upper().encode() + b"\n",
        "SK_DP.pem": _pem(smdp),
        "CERT_DP.hex": build_certificate(ci, smdp.public_key(), serial=b"\x03", ca_id=b"CI", subject_id=b"SMDP",
                                         role=ROLE_SM_DP).hex().upper().encode() + b"\n",
        "PK_CI.pem": _public_pem(ci.public_key()),
        "PK_EUM.pem": _public_pem(load_public_key(package / EUM_FILE)),
        "CERT_CI.der": (package / CI_CERT_FILE).read_bytes(),
        "CERT_EUM.der": (package / EUM_FILE).read_bytes(),
        "README.txt": _readme(ci_key_file).encode(),
    }
    written = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        written.append(out / name)
    doc = eis_file.EisDocument()
    doc.use_keyset(DEFAULT_CARD_KEYSET)
    eis_file.save(out / "eis.json", doc)
    written.append(out / "eis.json")
    return written


def _readme(ci_key_file: Path | None) -> str:
    ci = f"the CI key {ci_key_file}" if ci_key_file else "the package's test CI (tools/pki/test_pki)"
    card = ("A card made by `euicc-emu run` with a new state file trusts this CI and holds the ISD-R key\n"
            "set of eis.json: nothing to do on the card side.\n" if ci_key_file is None else
            "A default card does NOT trust this CI: personalise the card with its public key (PK_CI.pem),\n"
            "e.g. euicc.m2m.personalization.personalize(...) on the card's store, and put that card's\n"
            "ISD-R key set into the EIS file (smsr --eis eis.json --kic .. --kid .. audit).\n")
    return (f"SGP.02 test PKI (TEST ONLY), certificates signed by {ci}.\n\n{card}\n"
            "  euicc-emu smsr --eis eis.json audit\n"
            "  euicc-emu smdp-m2m --eis eis.json download --key SK_DP.pem --cert CERT_DP.hex --eum-key PK_EUM.pem UPP.der\n"
            "  euicc-emu smsr --eis eis.json change-smsr --new-key SK_SR2.pem --new-cert CERT_SR2.hex "
            "--ci-key PK_CI.pem --eum-key PK_EUM.pem\n")
