"""Device Change and Profile Recovery on the card (SGP.22 v3.1 §3.11, §5.7.13 ctxParamsForDeviceChange
/ ctxParamsForProfileRecovery, ES10b PrepareDeviceChange 'BF4D', VerifyDeviceChange 'BF4B',
VerifyProfileRecovery 'BF62'), with every refusal.

The SM-DP+ side is built here from the published v3.1 module and signs with the SGP.26 DPauth key;
euiccSignature3 is checked with ``cryptography`` against the card's CERT.EUICC.  Known answers:
the error values of the v3.1 module (AuthenticateErrorCode invalidIccid 14, DownloadErrorCode,
VerifyDeviceChange / VerifyProfileRecovery errors).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import PPR2
from tests.rsp.helpers import EID1, sign, split, swap, tlv, verify
from tools.scp import bsp_host
from tests.rsp.test_v3 import TS48_ICCID, SmdpV3, authenticate, open_lpa, v3, v3_download, v3_metadata  # noqa: F401

ADDRESS = "testsmdpplus1.example.com"          # the helpers' SM-DP+ address
ICCID = swap(TS48_ICCID)
DEVICE = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}
DC_CTX = ("ctxParamsForDeviceChange", {"iccid": ICCID, "deviceInfo": DEVICE})
RECOVERY_CTX = ("ctxParamsForProfileRecovery", {"iccid": ICCID, "deviceInfo": DEVICE})
INVALID_ICCID, UNDEFINED = 14, 127
INVALID_SIGNATURE, NO_SESSION, INVALID_TID = 2, 4, 5
DISALLOWED, UNSUPPORTED_CRT, INVALID_DATA, NOT_DISABLED = 3, 6, 7, 8
SIG_PREFIX = bytes.fromhex("5F3740")
FUTURE = dt.datetime(2099, 1, 1)     # asn1tools: GeneralizedTime without zone, read as UTC


def installed(spec, config=("requestToDp", {"smdpAddressForDc": ADDRESS}), **settings):
    """A v3 card with the TS.48 profile installed (disabled) carrying ``config``."""
    lpa = open_lpa(**settings)
    members = {"deviceChangeConfiguration": config} if config else {}
    assert v3_download(lpa, spec, v3_metadata(spec, **members))["finalResult"][0] == "successResult"
    return lpa


class DcServer:
    """The SM-DP+ of one Device Change / Profile Recovery session."""

    def __init__(self, spec, lpa, ctx=DC_CTX) -> None:
        self.spec, self.lpa = spec, lpa
        self.smdp = SmdpV3(spec, ctx)
        self.dl, _ = authenticate(lpa, self.smdp, spec)
        self.tid = self.smdp.transaction_id

    def signed4(self, tid=None, corrupt=False, **members):
        signed = {"transactionId": tid or self.tid, "ccRequiredFlag": False, **members}
        signature = sign(self.smdp.auth_key, self.spec.encode("SmdpSigned4", signed) + SIG_PREFIX
                         + self.dl.euicc_signature1)
        return signed, bytes([signature[0] ^ corrupt]) + signature[1:]

    def prepare(self, hash_cc: bytes | None = None, **kwargs):
        signed, signature = self.signed4(**kwargs)
        request = {"smdpSigned4": signed, "smdpSignature4": signature}
        if hash_cc is not None:
            request["hashCc"] = hash_cc
        raw = self.lpa.es10(self.spec.encode("PrepareDeviceChangeRequest", request))
        kind, value = self.spec.decode("PrepareDeviceChangeResponse", raw)
        if kind == "prepareDeviceChangeResponseOk":
            # euiccSignature3 over DER(euiccSigned3) as received || the smdpSignature4 TLV
            verify(self.dl.euicc_cert, split(split(raw)[0])[0] + tlv(b"\x5f\x37", signature),
                   value["euiccSignature3"])
            self.signature3 = value["euiccSignature3"]
            return value
        return value["downloadErrorCode"]

    def verify_change(self, change: tuple, tid=None, corrupt=False):
        signed = {"transactionId": tid or self.tid, "deviceChangeResponse": change}
        signature = sign(self.smdp.auth_key, self.spec.encode("SmdpSigned5", signed) + SIG_PREFIX
                         + getattr(self, "signature3", bytes(64)))
        raw = self.lpa.es10(self.spec.encode("VerifyDeviceChangeRequest", {
            "smdpSigned5": signed, "smdpSignature5": bytes([signature[0] ^ corrupt]) + signature[1:]}))
        return self.spec.decode("VerifyDeviceChangeResponse", raw)

    def verify_recovery(self, **kwargs):
        signed, signature = self.signed4(activationCodeForProfileRecovery=f"1${ADDRESS}$RECOVER", **kwargs)
        raw = self.lpa.es10(self.spec.encode("VerifyProfileRecoveryRequest", {
            "smdpSigned4": signed, "smdpSignature4": signature}))
        return self.spec.decode("VerifyProfileRecoveryResponse", raw)


def change_data(**members) -> tuple:
    return ("deviceChangeData", {"iccid": ICCID, "activationCodeForDc": f"1${ADDRESS}$DC-NEW", **members})


def auth_error(spec, lpa, ctx) -> int:
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    kind, value = spec.decode("AuthenticateServerResponse", lpa.es10(SmdpV3(spec, ctx).authenticate_server(challenge)))
    assert kind == "authenticateResponseError"
    return value["authenticateErrorCode"]


def profiles(spec, lpa) -> list[dict]:
    return spec.decode("ProfileInfoListResponse", lpa.es10(spec.encode("ProfileInfoListRequest", {})))[1]


# -- device change ----------------------------------------------------------------------------------
def test_device_change_with_recovery_then_recovery(v3):
    lpa = installed(v3)
    server = DcServer(v3, lpa)
    assert set(server.prepare()) == {"euiccSigned3", "euiccSignature3"}
    data = change_data(deleteOldProfile=None, profileRecoverySupport=None, profileRecoveryValidityPeriod=FUTURE)
    assert server.verify_change(data) == ("verifyDeviceChangeOk", data[1])
    # the LPA deletes the old profile, then the end user recovers it on this Device
    assert v3.decode("DeleteProfileResponse", lpa.es10(v3.encode("DeleteProfileRequest", ("iccid", ICCID)))) == {
        "deleteResult": 0}
    recovery = DcServer(v3, lpa, RECOVERY_CTX)
    assert recovery.verify_recovery(tid=bytes(16)) == ("verifyProfileRecoveryError", INVALID_TID)
    assert recovery.verify_recovery(corrupt=True) == ("verifyProfileRecoveryError", INVALID_SIGNATURE)
    assert recovery.verify_recovery() == ("verifyProfileRecoveryOk", None)
    assert auth_error(v3, lpa, RECOVERY_CTX) == INVALID_ICCID          # the record is used up


def test_device_change_refusals_in_authenticate_server(v3):
    other = ("ctxParamsForDeviceChange", {"iccid": swap("89000123456789012358"), "deviceInfo": DEVICE})
    assert auth_error(v3, installed(v3), other) == INVALID_ICCID                      # not installed
    assert auth_error(v3, installed(v3, None), DC_CTX) == INVALID_ICCID               # no configuration
    stored_ac = ("usingStoredAc", {"activationCodeForDc": "1$x$y"})
    assert auth_error(v3, installed(v3, stored_ac), DC_CTX) == INVALID_ICCID          # not requestToDp
    elsewhere = ("requestToDp", {"smdpAddressForDc": "other.example.com"})
    assert auth_error(v3, installed(v3, elsewhere), DC_CTX) == INVALID_ICCID          # another SM-DP+
    assert auth_error(v3, installed(v3, None, device_change=False), DC_CTX) == UNDEFINED  # the setting
    assert auth_error(v3, open_lpa(), RECOVERY_CTX) == INVALID_ICCID                  # no recovery record


def test_prepare_device_change_refusals(v3):
    lpa = installed(v3)
    plain = DcServer(v3, lpa, ("ctxParamsForCommonAuthentication", {"matchingId": "M", "deviceInfo": DEVICE}))
    assert plain.prepare() == NO_SESSION                         # not a Device Change session
    server = DcServer(v3, lpa)
    assert server.prepare(tid=bytes(16)) == INVALID_TID
    assert server.prepare(corrupt=True) == INVALID_SIGNATURE
    assert server.prepare(ccRequiredFlag=True) == UNDEFINED       # confirmation code required, no hashCc
    assert "euiccSigned3" in server.prepare(hash_cc=bytes(32), ccRequiredFlag=True)
    assert server.prepare() == NO_SESSION                         # once per session


@pytest.mark.parametrize(("case", "expected"), [
    ("before-prepare", NO_SESSION), ("tid", INVALID_TID), ("signature", INVALID_SIGNATURE),
    ("other-iccid", INVALID_DATA), ("encrypted-off-curve", INVALID_DATA), ("enabled", NOT_DISABLED)])
def test_verify_device_change_refusals(v3, case, expected):
    lpa = installed(v3)
    if case == "enabled":
        assert v3.decode("EnableProfileResponse", lpa.es10(v3.encode("EnableProfileRequest", {
            "profileIdentifier": ("iccid", ICCID), "refreshFlag": False})))["enableResult"] == 0
    server = DcServer(v3, lpa)
    if case != "before-prepare":
        server.prepare()
    change = {
        "other-iccid": ("deviceChangeData", {"iccid": swap("89000123456789012358"), "activationCodeForDc": "x"}),
        "encrypted-off-curve": ("encryptedDeviceChangeData", {
            "controlRefTemplate": {"keyType": b"\x88", "keyLen": b"\x10", "hostId": b"\x01"},
            "eacSmdpOtpk": b"\x04" + bytes(64), "sequenceOf87": [b"\x00"]}),
        "enabled": change_data(deleteOldProfile=None),
    }.get(case, change_data())
    answer = server.verify_change(change, tid=bytes(16) if case == "tid" else None, corrupt=case == "signature")
    assert answer == ("verifyDeviceChangeError", expected)
    assert any(p["iccid"] == ICCID for p in profiles(v3, lpa))     # the profile is still there


def test_ppr2_profile_cannot_be_deleted_for_device_change(v3):
    lpa = installed(v3)
    manager = ProfileManager(lpa.card.store)
    manager.update(replace(manager.by_iccid(ICCID), ppr=PPR2))    # as if the RAT had allowed PPR2
    server = DcServer(v3, lpa)
    server.prepare()
    assert server.verify_change(change_data(deleteOldProfile=None)) == ("verifyDeviceChangeError", DISALLOWED)


def test_expired_recovery_record(v3):
    lpa = installed(v3)
    server = DcServer(v3, lpa)
    server.prepare()
    past = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    assert server.verify_change(change_data(profileRecoverySupport=None, profileRecoveryValidityPeriod=past))[0] == (
        "verifyDeviceChangeOk")
    assert auth_error(v3, lpa, RECOVERY_CTX) == INVALID_ICCID


def test_no_profile_download_in_a_device_change_session(v3):
    lpa = installed(v3)
    server = DcServer(v3, lpa)
    raw = lpa.es10(server.smdp.prepare_download(server.dl.euicc_signature1))
    assert v3.decode("PrepareDownloadResponse", raw)[1]["downloadErrorCode"] == NO_SESSION


# -- encrypted Device Change data (EncryptedDeviceChangeData, encryptedDeviceChangeDataSupport) -------
HOST_ID = b"TEST-SMDP+"


def encrypted(v3, euicc_otpk: bytes, data: dict, key_type: int = 0x88, host_id: bytes = HOST_ID,
              kdf_host_id: bytes = HOST_ID, tamper: bool = False, plain: bytes | None = None) -> tuple:
    """EncryptedDeviceChangeData built on the host (tools.scp.bsp_host, never the card's code):
    ECKA with a fresh otSK.DP.KAeac, X9.63 KDF over keyType || keyLen || L(hostId) || hostId ||
    L(EID) || EID, the DER DeviceChangeData in '87' blocks [U: the BPP's scheme]."""
    ot_sk = ec.generate_private_key(ec.SECP256R1())
    shs = bsp_host.ecka_shared_secret("secp256r1", ot_sk, euicc_otpk)
    keys = bsp_host.session_keys(shs, kdf_host_id, bytes.fromhex(EID1))
    body = plain if plain is not None else v3.encode("DeviceChangeData", data)
    blocks = bsp_host.protect_segments(bsp_host.BspProtector(keys), 0x87, body, limit=64)
    values = [b[2:] if b[1] < 0x80 else b[2 + (b[1] & 0x7F):] for b in blocks]
    if tamper:
        values[-1] = values[-1][:-1] + bytes([values[-1][-1] ^ 1])
    return ("encryptedDeviceChangeData", {
        "controlRefTemplate": {"keyType": bytes([key_type]), "keyLen": b"\x10", "hostId": host_id},
        "eacSmdpOtpk": ot_sk.public_key().public_bytes(serialization.Encoding.X962,
                                                       serialization.PublicFormat.UncompressedPoint),
        "sequenceOf87": values})


def test_encrypted_device_change_data_is_deciphered_by_the_card(v3):
    """Known answer: the card returns the DeviceChangeData the host enciphered for its
    otPK.EUICC.KAeac (several '87' blocks), and applies it (Profile Recovery record kept)."""
    lpa = installed(v3)
    server = DcServer(v3, lpa)
    otpk = server.prepare()["euiccSigned3"]["eacEuiccOtpk"]
    assert len(otpk) == 65 and otpk[0] == 4
    data = change_data(profileRecoverySupport=None, profileRecoveryValidityPeriod=FUTURE,
                       notificationAddress="notify.example.com")[1]
    assert server.verify_change(encrypted(v3, otpk, data)) == ("verifyDeviceChangeOk", data)
    assert DcServer(v3, lpa, RECOVERY_CTX).verify_recovery() == ("verifyProfileRecoveryOk", None)


@pytest.mark.parametrize(("case", "expected"), [
    ("key-type", UNSUPPORTED_CRT), ("mac", INVALID_DATA), ("host-id", INVALID_DATA),
    ("not-device-change-data", INVALID_DATA), ("other-key", INVALID_DATA)])
def test_encrypted_device_change_data_refusals(v3, case, expected):
    lpa = installed(v3)
    server = DcServer(v3, lpa)
    otpk = server.prepare()["euiccSigned3"]["eacEuiccOtpk"]
    data = change_data(deleteOldProfile=None)[1]
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    change = {
        "key-type": lambda: encrypted(v3, otpk, data, key_type=0x80),               # not AES
        "mac": lambda: encrypted(v3, otpk, data, tamper=True),
        "host-id": lambda: encrypted(v3, otpk, data, kdf_host_id=b"OTHER"),         # keys of another CRT
        "not-device-change-data": lambda: encrypted(v3, otpk, data, plain=bytes.fromhex("0400")),
        "other-key": lambda: encrypted(v3, other, data),                          # not the card's otPK
    }[case]()
    assert server.verify_change(change) == ("verifyDeviceChangeError", expected)
    assert any(p["iccid"] == ICCID for p in profiles(v3, lpa))     # the profile is still there
