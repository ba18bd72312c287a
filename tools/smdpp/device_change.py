"""Device Change and Profile Recovery at the test SM-DP+ (SGP.22 v3.1 §3.11, ES9+.AuthenticateClient
with ``ctxParamsForDeviceChange`` / ``ctxParamsForProfileRecovery``, ES9+.ConfirmDeviceChange).

An order whose :class:`~tools.smdpp.orders.DeviceChangePolicy` is set announces ``deviceChangeConfiguration
requestToDp {smdpAddressForDc = this SM-DP+}`` in its v3 metadata.  Once installed:

* AuthenticateClient (Device Change, the old Device) answers ``smdpSigned4`` signed with
  CERT.DPauth's key over DER(smdpSigned4) || the euiccSignature1 TLV, plus the policy's
  ``serviceProviderMessageForDc``;
* ConfirmDeviceChange checks euiccSignature3 (over DER(euiccSigned3) || the smdpSignature4 TLV),
  opens a new order for the same profile for the new Device and answers ``smdpSigned5`` with the
  DeviceChangeData (its ``activationCodeForDc``, ``deleteOldProfile``, Profile Recovery support
  and validity), signed over DER(smdpSigned5) || the euiccSignature3 TLV.  When euiccSigned3
  carries ``eacEuiccOtpk`` (otPK.EUICC.KAeac) and the policy says ``encrypt``, the DeviceChangeData
  goes as ``encryptedDeviceChangeData`` (:func:`encrypt`);
* AuthenticateClient (Profile Recovery, the old Device again, within the validity) answers
  ``smdpSigned4`` with the ``activationCodeForProfileRecovery`` of another new order.

[U] The signed-data forms mirror smdpSignature2 (§5.7.17), as the card's euicc.rsp.device_change
expects, and the encryption mirrors the BPP's key agreement and '87' protection (§2.6.4 / Annex G,
euicc.rsp.device_change_encryption); the v3.1 clause text was not readable here.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from euicc.asn1 import rsp3
from tools.scp import bsp_host
from tools.smdpp import bpp, signing
from tools.smdpp.orders import INSTALLED, RELEASED, ProfileOrder

SmDpPlus = Any     # tools.smdpp.es9plus.SmDpPlus (which imports this module)
Session = Any      # tools.smdpp.es9plus.Session


class Refused(Exception):
    """The function fails with the ES9+ status ``code`` (subject, reason)."""

    def __init__(self, code: tuple[str, str], message: str) -> None:
        super().__init__(message)
        self.code = code

CONTEXTS = ("ctxParamsForDeviceChange", "ctxParamsForProfileRecovery")
# [U] ES9+ status codes for AuthenticateClient deviceChangeNotAllowed (16) / iccidUnknown (17)
DEVICE_CHANGE_NOT_ALLOWED = ("8.11.1", "3.8")
ICCID_UNKNOWN = ("8.11.1", "3.9")
CONFIRM_REFUSED = ("8.1", "6.1")


@dataclass
class DeviceChangeState:
    """The Device Change / Profile Recovery part of one ES9+ session."""

    kind: str
    order: ProfileOrder
    smdp_signature4: bytes = b""      # complete 5F37 TLV


def _find(smdp: SmDpPlus, iccid: bytes) -> ProfileOrder | None:
    return next((o for o in smdp.orders.values()
                 if o.metadata.iccid == iccid and o.device_change is not None and o.state == INSTALLED), None)


def _new_order(smdp: SmDpPlus, order: ProfileOrder, prefix: str) -> str:
    matching_id = f"{prefix}-{os.urandom(4).hex().upper()}"
    smdp.add_order(replace(order, matching_id=matching_id, state=RELEASED, result={}))
    return matching_id


def _signed4(smdp: SmDpPlus, session: Session, state: DeviceChangeState, **members: Any) -> dict:
    signed4 = rsp3().encode("SmdpSigned4", {"transactionId": session.transaction_id, "ccRequiredFlag": False,
                                            **members})
    state.smdp_signature4 = tlv.tlv(0x5F37, signing.sign(session.cred.auth.key, signed4 + session.euicc_signature1))
    answer = {"transactionId": session.transaction_id, "smdpSigned4": signed4,
              "smdpSignature4": state.smdp_signature4}
    message = state.order.device_change.message
    if message is not None and state.kind == CONTEXTS[0]:
        answer["serviceProviderMessageForDc"] = rsp3().encode(
            "LocalisedTextMessage", {"languageTag": "en", "message": message})
    return answer


def authenticate_client(smdp: SmDpPlus, session: Session, ctx_params1: tuple, signature1: bytes) -> dict:
    """ES9+.AuthenticateClient for the two contexts (module docstring); raises Refused."""
    kind, params = ctx_params1
    order = _find(smdp, bytes(params["iccid"]))
    if order is None:
        raise Refused(ICCID_UNKNOWN, "no installed profile with this ICCID allows Device Change")
    session.euicc_signature1 = signature1
    state = DeviceChangeState(kind, order)
    if kind == CONTEXTS[1]:
        until = smdp.recoveries.get(order.metadata.iccid)
        if until is None or until < smdp.clock():
            raise Refused(DEVICE_CHANGE_NOT_ALLOWED, "no Profile Recovery open for this ICCID")
        del smdp.recoveries[order.metadata.iccid]
        code = f"1${smdp.address}${_new_order(smdp, order, 'PR')}"
        session.device_change = state
        return _signed4(smdp, session, state, activationCodeForProfileRecovery=code)
    session.device_change = state
    return _signed4(smdp, session, state)


def encrypt(data: bytes, euicc_otpk: bytes, host_id: bytes, eid: bytes,
            ot_sk: ec.EllipticCurvePrivateKey) -> dict:
    """EncryptedDeviceChangeData (v3.1) of the DER ``data`` of a DeviceChangeData for the eUICC
    whose otPK.EUICC.KAeac is ``euicc_otpk``, with this SM-DP+'s one-time otSK.DP.KAeac ``ot_sk``:
    ECKA, X9.63 KDF, '87' blocks as a BPP firstSequenceOf87 (tools.scp.bsp_host) [U]."""
    keys = bpp.session_keys(ot_sk, euicc_otpk, host_id, eid)
    blocks = bsp_host.protect_segments(bsp_host.BspProtector(keys), 0x87, data)
    return {"controlRefTemplate": {"keyType": bytes([bpp.KEY_TYPE_AES]), "keyLen": bytes([bpp.KEY_LENGTH]),
                                   "hostId": host_id},
            "eacSmdpOtpk": bpp.point_bytes(ot_sk), "sequenceOf87": [tlv.unwrap(b, 0x87) for b in blocks]}


def confirm(smdp: SmDpPlus, session: Session, prepare_response: bytes) -> dict:
    """ES9+.ConfirmDeviceChange (module docstring)."""
    state = session.device_change
    if state is None or state.kind != CONTEXTS[0] or session.euicc is None:
        raise Refused(CONFIRM_REFUSED, "no Device Change in this session")
    kind, value = rsp3().decode("PrepareDeviceChangeResponse", prepare_response)
    if kind != "prepareDeviceChangeResponseOk":
        raise Refused(CONFIRM_REFUSED, f"PrepareDeviceChange error {value['downloadErrorCode']}")
    signed3 = tlv.split(tlv.unwrap(tlv.split(tlv.unwrap(prepare_response, 0xBF4D))[0][1], 0xA0))[0][1]
    if not signing.verify(session.euicc.public_key, signed3 + state.smdp_signature4, value["euiccSignature3"]):
        raise Refused(CONFIRM_REFUSED, "euiccSignature3 does not verify")
    policy = state.order.device_change
    data: dict = {"iccid": state.order.metadata.iccid,
                  "activationCodeForDc": f"1${smdp.address}${_new_order(smdp, state.order, 'DC')}"}
    if policy.delete_old_profile:
        data["deleteOldProfile"] = None
    if policy.recovery_days is not None:
        until = smdp.clock().replace(microsecond=0) + dt.timedelta(days=policy.recovery_days)
        smdp.recoveries[state.order.metadata.iccid] = until
        data["profileRecoverySupport"] = None
        data["profileRecoveryValidityPeriod"] = until.replace(tzinfo=None)
    response: tuple = ("deviceChangeData", data)
    euicc_otpk = value["euiccSigned3"].get("eacEuiccOtpk")
    if policy.encrypt and euicc_otpk is not None:
        curve = session.cred.auth.key.curve
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(curve, euicc_otpk)
        except ValueError:
            raise Refused(CONFIRM_REFUSED, "eacEuiccOtpk is not a point on the session curve") from None
        response = ("encryptedDeviceChangeData", encrypt(
            rsp3().encode("DeviceChangeData", data), euicc_otpk, smdp.host_id, bytes.fromhex(session.euicc.eid),
            ec.generate_private_key(curve)))
    signed5 = rsp3().encode("SmdpSigned5", {"transactionId": session.transaction_id,
                                            "deviceChangeResponse": response})
    signature5 = signing.sign(session.cred.auth.key, signed5 + tlv.tlv(0x5F37, value["euiccSignature3"]))
    session.ended = True
    return {"transactionId": session.transaction_id, "smdpSigned5": signed5,
            "smdpSignature5": tlv.tlv(0x5F37, signature5)}
