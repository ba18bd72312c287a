"""The host-side EIS/keys file (tools/smsr/eis_file.py), the test PKI files and the argument handling
of `euicc-emu smsr` / `smdp-m2m` (no card: everything here fails before, or without, a reader)."""
from __future__ import annotations

import json
import os

import pytest
from Crypto.Cipher import AES
from Crypto.Hash import CMAC
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from euicc import tlv
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, invoke_cli
from tools.ota.packet import AES as OTA_AES, TDES2, OtaKeyset
from tools.scp.scp03_host import HostKeySet
from tools.smdp_m2m.cli import parse
from tools.smsr import eis_file
from tools.smsr.eis import ProfileInfo
from tools.smsr.pki_files import package_test_pki

AID = bytes.fromhex("A0000005591010FFFFFFFF8900001100")


def sample() -> eis_file.EisDocument:
    doc = eis_file.EisDocument()
    doc.use_keyset(OtaKeyset(1, OTA_AES, bytes(range(16)), OTA_AES, bytes(range(16, 32))))
    doc.eis.keysets[3] = OtaKeyset(3, TDES2, bytes(range(1, 17)), TDES2, bytes(range(17, 33)))
    doc.eis.counters.update({1: 41, 3: 7, 5: 2})
    doc.eis.ecasd_certificate = bytes.fromhex("7F2103930101")
    doc.eis.profiles[AID] = ProfileInfo(AID, "DISABLED", fallback=True, smdp="SM-DP")
    doc.eis.notifications = [1, 2]
    doc.eis.next_tar = 0x12
    doc.isdp_keys[AID] = eis_file.IsdpKeys(HostKeySet(0x30, b"\x01" * 16, b"\x02" * 16, b"\x03" * 16), b"\x04" * 16)
    return doc


def test_round_trip(tmp_path):
    path = tmp_path / "eis.json"
    eis_file.save(path, sample())
    back = eis_file.load(path)
    assert back.active_kvn == 1 and back.active_keyset() == sample().active_keyset()
    assert back.eis.keysets == sample().eis.keysets
    assert back.eis.counters == {1: 41, 3: 7, 5: 2}
    assert back.eis.profiles == sample().eis.profiles
    assert (back.eis.ecasd_certificate, back.eis.notifications, back.eis.next_tar) == (bytes.fromhex("7F2103930101"), [1, 2], 0x12)
    assert back.isdp_keys == sample().isdp_keys
    data = json.loads(path.read_text())
    assert data["keysets"][0] == {"kvn": 1, "kic_algorithm": "aes", "kic": bytes(range(16)).hex().upper(),
                                  "kid_algorithm": "aes", "kid": bytes(range(16, 32)).hex().upper(), "counter": 41}
    assert data["keysets"][1]["kic_algorithm"] == "3des2"


def test_save_is_atomic_and_private(tmp_path, monkeypatch):
    path = tmp_path / "eis.json"
    eis_file.save(path, sample())
    assert os.stat(path).st_mode & 0o077 == 0                     # mkstemp: 0600
    before = path.read_bytes()

    def broken(*_):
        raise OSError("disk full")
    monkeypatch.setattr(eis_file.os, "replace", broken)
    doc = sample()
    doc.eis.counters[1] = 99
    with pytest.raises(OSError):
        eis_file.save(path, doc)
    assert path.read_bytes() == before                            # old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["eis.json"]  # no temporary left behind


def test_missing_file_is_an_empty_eis(tmp_path):
    doc = eis_file.load(tmp_path / "none.json")
    assert doc.active_keyset() is None and not doc.eis.counters


@pytest.mark.parametrize("text", [
    "not json", "[]", '{"format": "other"}',
    '{"format": "euicc-emu EIS 1", "keysets": [{"kvn": 1}]}',
    '{"format": "euicc-emu EIS 1", "keysets": [{"kvn": 99, "kic_algorithm": "aes", "kic": "00", '
    '"kid_algorithm": "aes", "kid": "00"}]}',
    '{"format": "euicc-emu EIS 1", "keysets": [{"kvn": 1, "kic_algorithm": "rot13", "kic": "00", '
    '"kid_algorithm": "aes", "kid": "00"}]}',
    '{"format": "euicc-emu EIS 1", "ecasd_certificate": "XYZ"}',
    '{"format": "euicc-emu EIS 1", "counters": {"x": 1}}',
    '{"format": "euicc-emu EIS 1", "smdp": {"isdps": [{"isdp_aid": "00", "kvn": 48, "enc": "00", "mac": "00", "dek": "00"}]}}',
])
def test_bad_files_raise_eis_file_error(tmp_path, text):
    path = tmp_path / "eis.json"
    path.write_text(text)
    with pytest.raises(eis_file.EisFileError) as error:
        eis_file.load(path)
    assert str(path) in str(error.value)


# -- command-line handling ------------------------------------------------------------------------
def test_smsr_without_any_key_set_is_a_usage_error(capsys, tmp_path):
    from tools.cli import main

    with pytest.raises(SystemExit) as usage:
        main(["smsr", "--eis", str(tmp_path / "new.json"), "audit"])
    assert usage.value.code == 2 and "no ISD-R key set" in capsys.readouterr().err
    status, _ = invoke_cli(capsys, ["smsr", "--kic", DEFAULT_KIC, "audit"])
    assert status == 2                                            # --kic without --kid
    status, _ = invoke_cli(capsys, ["smsr", "--eis", str(tmp_path / "new.json"), "--kvn", "4", "audit"])
    assert status == 2                                            # no key set 4 in the file


def test_smsr_with_a_broken_eis_file_fails_cleanly(capsys, tmp_path):
    path = tmp_path / "eis.json"
    path.write_text("{")
    status, out = invoke_cli(capsys, ["smsr", "--eis", str(path), "audit"])
    assert status == 1 and out == ""
    assert path.read_text() == "{"                               # left as it was


def test_smsr_without_a_reader_keeps_the_eis_file(capsys, tmp_path):
    path = tmp_path / "eis.json"
    status, _ = invoke_cli(capsys, ["smsr", "--eis", str(path), "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID,
                                    "--counter", "5", "--reader", "no such reader", "audit"])
    assert status == 1
    doc = eis_file.load(path)                                     # the key set given is kept for next time
    assert doc.active_keyset().kic.hex().upper() == DEFAULT_KIC and doc.eis.counters[1] == 4


def test_smdp_m2m_forms():
    old = parse(["--kic", "00", "--kid", "11", "--key", "k.pem", "--cert", "c.hex", "upp.der"])
    new = parse(["--eis", "e.json", "download", "--key", "k.pem", "--cert", "c.hex", "upp.der"])
    assert (old.function, str(old.upp), str(old.key)) == ("download", "upp.der", "k.pem")
    assert (new.function, str(new.upp), str(new.eis)) == ("download", "upp.der", "e.json")
    update = parse(["--eis", "e.json", "update-connectivity", AID.hex(), "--smsc", "123"])
    assert (update.function, update.smsc, update.ton_npi) == ("update-connectivity", "123", "91")
    with pytest.raises(SystemExit):
        parse(["download", "upp.der"])                            # --key and --cert are required


def test_master_delete_token_known_answer(capsys, tmp_path):
    """GP Annex C.4 token, computed here independently: AES-CMAC over P1 P2 Lc data."""
    path = tmp_path / "eis.json"
    eis_file.save(path, sample())
    status, out = invoke_cli(capsys, ["smdp-m2m", "--eis", str(path), "master-delete-token", AID.hex()])
    body = (bytes.fromhex("4F10") + AID + bytes.fromhex("B613") + bytes.fromhex("4204") + b"SMDP"
            + bytes.fromhex("450101") + bytes.fromhex("5F2004") + b"SMDP" + bytes.fromhex("930101"))
    expected = CMAC.new(b"\x04" * 16, msg=bytes([0x00, 0x40, len(body)]) + body, ciphermod=AES).digest()
    assert status == 0 and out.strip() == expected.hex().upper()
    control = "4201AA4501BB5F2001CC930102"
    status, out = invoke_cli(capsys, ["smdp-m2m", "master-delete-token", AID.hex(), "--token-key", "05" * 16,
                                      "--control", control])
    body = bytes.fromhex("4F10") + AID + bytes.fromhex("B60D" + control)
    assert out.strip() == CMAC.new(b"\x05" * 16, msg=bytes([0, 0x40, len(body)]) + body, ciphermod=AES).hexdigest().upper()
    assert invoke_cli(capsys, ["smdp-m2m", "master-delete-token", AID.hex()])[0] == 1           # no key
    assert invoke_cli(capsys, ["smdp-m2m", "master-delete-token", AID.hex(), "--token-key", "05" * 16,
                               "--control", "4201AA"])[0] == 1                                 # bad control


def _verify_gp(cert_hex: str, issuer: ec.EllipticCurvePublicKey) -> dict[int, bytes]:
    """Check a '7F21' certificate with the issuer key (signature raw r||s over the TLVs before '5F37')."""
    body = tlv.unwrap(bytes.fromhex(cert_hex), 0x7F21)
    fields = dict(tlv.iter_tlv(body))
    signature = fields[0x5F37]
    signed = body[:body.index(bytes.fromhex("5F3740"))]
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    issuer.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    return fields


def test_pki_files_chain_to_the_ci_a_default_card_trusts(capsys, tmp_path):
    status, _ = invoke_cli(capsys, ["smsr", "pki", "--out", str(tmp_path)])
    assert status == 0
    trusted = x509.load_der_x509_certificate(
        (package_test_pki() / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes()).public_key()
    ci = serialization.load_pem_public_key((tmp_path / "PK_CI.pem").read_bytes())
    assert ci.public_numbers() == trusted.public_numbers()
    sr2 = _verify_gp((tmp_path / "CERT_SR2.hex").read_text().strip(), trusted)
    dp = _verify_gp((tmp_path / "CERT_DP.hex").read_text().strip(), trusted)
    assert tlv.find(sr2[0x73], 0xC8) == b"\x02" and tlv.find(dp[0x73], 0xC8) == b"\x01"    # SGP.02 roles
    key = serialization.load_pem_private_key((tmp_path / "SK_SR2.pem").read_bytes(), None)
    assert tlv.find(sr2[0x7F49], 0xB0) == key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    doc = eis_file.load(tmp_path / "eis.json")
    assert doc.active_keyset().kic.hex().upper() == DEFAULT_KIC and doc.active_keyset().kvn == 1
    assert "PK_EUM.pem" in (tmp_path / "README.txt").read_text()


def test_pki_with_a_bad_ci_key_fails(capsys, tmp_path):
    (tmp_path / "ci.pem").write_text("nonsense")
    status, _ = invoke_cli(capsys, ["smsr", "pki", "--out", str(tmp_path / "out"), "--ci-key", str(tmp_path / "ci.pem")])
    assert status == 1


def test_counter_ledger_never_goes_down_and_holds_no_keys(tmp_path):
    keyset = sample().active_keyset()
    ledger = eis_file.CounterLedger.load(tmp_path / "ledger.json")
    assert ledger.last(keyset) == 0                               # no file yet
    doc = sample()
    doc.eis.counters[1] = 7
    ledger.record(doc.eis)
    doc.eis.counters[1] = 3                                       # an explicit lower --counter
    ledger.record(doc.eis)
    again = eis_file.CounterLedger.load(tmp_path / "ledger.json")
    assert again.last(keyset) == 7
    assert keyset.kic.hex() not in (tmp_path / "ledger.json").read_text().lower()


def test_smsr_with_a_broken_counter_ledger_fails_cleanly(capsys, counter_ledger):
    counter_ledger.parent.mkdir(parents=True)
    counter_ledger.write_text("[]")
    status, out = invoke_cli(capsys, ["smsr", "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "audit"])
    assert status == 1 and out == ""
    assert counter_ledger.read_text() == "[]"                     # left as it was
