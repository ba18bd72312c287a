"""Device Change and Profile Recovery with the host tools (SGP.22 v3.1 §3.11): the test SM-DP+ at SVN
3.1.0 with a Device Change policy, the LPA on the old card and a second card as the new Device.

Checked independently of the card's code: the new Device downloads the profile with the
Activation Code the old Device got (the SM-DP+ records the installation and verifies the signed
ProfileInstallationResult), the old card's profile list (ES10c) no longer holds the ICCID, and
the recovery Activation Code downloads the profile on the old card again.
"""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import TS48_ICCID, make_lpa
from tests.rsp_host.test_v3_download import in_process_lpa, smdp_v3  # noqa: F401
from tools.lpa import cli, device_change
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError, iccid_bytes, iccid_digits
from tools.lpa.transport import PcscTransmit
from tools.smdpp.orders import INSTALLED, DeviceChangePolicy, order_from_upp

MESSAGE = "Moving your plan: your old phone loses it"


def install(smdp, lpa, upp, policy: DeviceChangePolicy, matching_id: str = "DC-1") -> None:
    smdp.add_order(order_from_upp(matching_id, upp, device_change=policy, device_change_address=smdp.address))
    lpa.download(parse(f"LPA:1${smdp.address}${matching_id}"))


def iccids(lpa) -> list[str]:
    return [iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p]


def test_device_change_to_a_new_device_then_profile_recovery(smdp_v3, upp):
    old, new = in_process_lpa(), in_process_lpa()
    install(smdp_v3, old, upp, DeviceChangePolicy(delete_old_profile=True, recovery_days=7, message=MESSAGE))
    shown: list = []
    result = device_change.device_change(old, smdp_v3.address, iccid_bytes(TS48_ICCID), lambda m: shown.append(m) or True)
    assert shown == [{"languageTag": "en", "message": MESSAGE}]
    assert result.deleted and TS48_ICCID not in iccids(old)
    assert result.encrypted               # the card offered otPK.EUICC.KAeac, the policy encrypts
    assert {"deleteOldProfile", "profileRecoverySupport", "profileRecoveryValidityPeriod"} <= set(result.data)
    # the new Device downloads the profile with the Activation Code it was given
    downloaded = new.download(parse(result.activation_code))
    assert iccid_digits(downloaded.iccid) == TS48_ICCID
    matching_id = result.activation_code.split("$")[2]
    assert smdp_v3.orders[matching_id].state == INSTALLED and smdp_v3.notifications[-1].verified
    # the old Device recovers it (its recovery record and the SM-DP+'s window are open)
    code = device_change.profile_recovery(old, smdp_v3.address, iccid_bytes(TS48_ICCID))
    assert iccid_digits(old.download(parse(code)).iccid) == TS48_ICCID


def test_plain_device_change_data_when_the_policy_says_so(smdp_v3, upp):
    old = in_process_lpa()
    install(smdp_v3, old, upp, DeviceChangePolicy(encrypt=False))
    result = device_change.device_change(old, smdp_v3.address, iccid_bytes(TS48_ICCID))
    assert not result.encrypted and not result.deleted and TS48_ICCID in iccids(old)
    assert result.activation_code.startswith(f"LPA:1${smdp_v3.address}$DC-")


def test_smdp_encryption_known_answer_deciphered_by_independent_code():
    """tools.smdpp.device_change.encrypt with fixed one-time keys, checked with ``cryptography`` and
    pycryptodome written here (ECDH, X9.63 KDF, CMAC chain, AES-CBC with the counter ICV), not
    with the SM-DP+'s helpers [U: the BPP scheme]."""
    from Crypto.Cipher import AES
    from Crypto.Hash import CMAC
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

    from tools.smdpp.device_change import encrypt
    euicc_sk = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())
    dp_sk = ec.derive_private_key(0xFEDCBA0987654321, ec.SECP256R1())
    euicc_pk = euicc_sk.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    eid = bytes.fromhex("89049032123451234512345678901235")
    data = bytes.fromhex("3014") + b"\x5a\x0a" + bytes(10) + b"\x80\x06" + b"1$a$b"  + b"!"
    value = encrypt(data, euicc_pk, b"HOST", eid, dp_sk)
    assert value["controlRefTemplate"] == {"keyType": b"\x88", "keyLen": b"\x10", "hostId": b"HOST"}
    assert value["eacSmdpOtpk"] == dp_sk.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shs = euicc_sk.exchange(ec.ECDH(), dp_sk.public_key())
    okm = X963KDF(hashes.SHA256(), 48, b"\x88\x10\x04HOST\x10" + eid).derive(shs)
    mcv, s_enc, s_mac = okm[:16], okm[16:32], okm[32:]
    (block,) = value["sequenceOf87"]
    cipher, mac = block[:-8], block[-8:]
    head = b"\x87" + bytes([len(block)])
    assert CMAC.new(s_mac, msg=mcv + head + cipher, ciphermod=AES).digest()[:8] == mac
    icv = AES.new(s_enc, AES.MODE_ECB).encrypt((1).to_bytes(16, "big"))
    padded = AES.new(s_enc, AES.MODE_CBC, iv=icv).decrypt(cipher)
    assert padded == data + b"\x80" + bytes(-(len(data) + 1) % 16)


def test_profile_without_device_change_is_refused(smdp_v3, upp):
    lpa = in_process_lpa()
    smdp_v3.add_order(order_from_upp("PLAIN", upp))
    lpa.download(parse(f"LPA:1${smdp_v3.address}$PLAIN"))
    with pytest.raises(DownloadError, match="AuthenticateServer: error 14"):     # invalidIccid
        device_change.device_change(lpa, smdp_v3.address, iccid_bytes(TS48_ICCID))


def test_cli_needs_consent_for_the_message(smdp_v3, upp, capsys):
    lpa = in_process_lpa()
    install(smdp_v3, lpa, upp, DeviceChangePolicy(message=MESSAGE))
    args = cli.argparse.Namespace(lpa_command="device-change", iccid=TS48_ICCID, smdp=smdp_v3.address, yes=False)
    assert cli.execute(args, lpa) == 1
    assert json.loads(capsys.readouterr().out)["serviceProviderMessageForDc"]["message"] == MESSAGE
    assert TS48_ICCID in iccids(lpa)
    args.yes = True
    assert cli.execute(args, lpa) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["activationCode"].startswith(f"LPA:1${smdp_v3.address}$DC-") and out["oldProfileDeleted"] is False
    assert out["encrypted"] is True
    assert "deleteOldProfile" not in out["deviceChangeData"]           # absent NULL members: not shown


def test_cli_prints_present_null_flags_as_true(smdp_v3, upp, capsys):
    """SGP.22 v3.1 DeviceChangeData's NULL flags (deleteOldProfile, profileRecoverySupport):
    present ones print as ``true`` (not ``null``, which reads as absent); without a
    serviceProviderMessageForDc the member is left out rather than printed as null."""
    lpa = in_process_lpa()
    install(smdp_v3, lpa, upp, DeviceChangePolicy(delete_old_profile=True, recovery_days=7))
    args = cli.argparse.Namespace(lpa_command="device-change", iccid=TS48_ICCID, smdp=smdp_v3.address, yes=False)
    assert cli.execute(args, lpa) == 0
    text = capsys.readouterr().out
    out = json.loads(text)
    assert out["deviceChangeData"]["deleteOldProfile"] is True
    assert out["deviceChangeData"]["profileRecoverySupport"] is True
    assert "serviceProviderMessageForDc" not in out and "null" not in text
    assert out["oldProfileDeleted"] is True and TS48_ICCID not in iccids(lpa)


@pytest.mark.pcsc
def test_device_change_through_pcsc(start_card, pcscd, smdp_v3, upp):
    """The old Device's card through pcscd + vpcd + pyscard: PrepareDeviceChange, VerifyDeviceChange
    and the deletion of the old profile; the new Device (in process) downloads the profile."""
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        old = make_lpa(transmit)
        old.es10.transport.open()
        install(smdp_v3, old, upp, DeviceChangePolicy(delete_old_profile=True), "DC-PCSC")
        result = device_change.device_change(old, smdp_v3.address, iccid_bytes(TS48_ICCID))
        assert result.deleted and TS48_ICCID not in iccids(old) and result.encrypted
        old.es10.transport.close()
    finally:
        transmit.close()
    assert iccid_digits(in_process_lpa().download(parse(result.activation_code)).iccid) == TS48_ICCID
