"""Device Change and Profile Recovery in the LPA (SGP.22 v3.1 §3.11): the old Device's side.

Device Change: Common Mutual Authentication with ``ctxParamsForDeviceChange {iccid, deviceInfo}``,
ES9+.AuthenticateClient (``smdpSigned4``, the service-provider message for Device Change shown
to the end user, who may refuse), ES10b.PrepareDeviceChange, ES9+.ConfirmDeviceChange,
ES10b.VerifyDeviceChange; with ``deleteOldProfile`` the LPA then deletes the profile
(ES10c.DeleteProfile).  The result is the Activation Code for the new Device, from the eUICC's
answer (it deciphers ``encryptedDeviceChangeData``; the LPA cannot).

Profile Recovery: authentication with ``ctxParamsForProfileRecovery {iccid}``,
AuthenticateClient (``smdpSigned4`` with ``activationCodeForProfileRecovery``),
ES10b.VerifyProfileRecovery; the result is the Activation Code to download the profile again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from euicc.asn1 import rsp3
from euicc.tlv import tlv
from tools.lpa.es9plus import Es9PlusClient
from tools.lpa.lpa import END_USER_REJECTION, DownloadError, Lpa

DEVICE_CHANGE, PROFILE_RECOVERY = "ctxParamsForDeviceChange", "ctxParamsForProfileRecovery"


@dataclass
class DeviceChangeResult:
    """What the old Device hands over: the new Device's Activation Code (``LPA:1$...``)."""

    activation_code: str
    service_provider_message: dict | None
    data: dict                       # DeviceChangeData as the eUICC verified it
    deleted: bool                    # the old profile was deleted (deleteOldProfile)
    encrypted: bool = False          # the SM-DP+ sent it as encryptedDeviceChangeData


def _authenticate(lpa: Lpa, smdp: Es9PlusClient, address: str, kind: str, iccid: bytes) -> tuple[bytes, dict]:
    def ctx_params1(v3: bool) -> bytes:
        if not v3:
            raise DownloadError(kind, "the SM-DP+ did not choose SGP.22 v3")
        return rsp3().encode("CtxParams1", (kind, {"iccid": iccid, "deviceInfo": lpa.device_info(True)}))

    return lpa.authenticate(smdp, address, ctx_params1)


def device_change(lpa: Lpa, address: str, iccid: bytes,
                  accept: Callable[[dict | None], bool] = lambda message: True) -> DeviceChangeResult:
    """Device Change of the profile ``iccid`` through the SM-DP+ at ``address`` (module docstring);
    ``accept`` is the end user's answer to the service-provider message (False: CancelSession
    endUserRejection)."""
    smdp = lpa.es9(address)
    transaction_id, client = _authenticate(lpa, smdp, address, DEVICE_CHANGE, iccid)
    message = (rsp3().decode("LocalisedTextMessage", smdp.field(client, "serviceProviderMessageForDc"))
               if "serviceProviderMessageForDc" in client else None)
    if not accept(message):
        lpa.cancel(smdp, transaction_id, END_USER_REJECTION)
        raise DownloadError("consent", "the end user refused the Device Change")
    prepared = lpa.es10.transport.store_data(
        tlv(0xBF4D, smdp.field(client, "smdpSigned4") + smdp.field(client, "smdpSignature4")))
    kind, value = rsp3().decode("PrepareDeviceChangeResponse", prepared)
    if kind != "prepareDeviceChangeResponseOk":
        raise DownloadError("PrepareDeviceChange", f"error {value['downloadErrorCode']}")
    confirmed = smdp.confirm_device_change(transaction_id, prepared)
    signed5 = smdp.field(confirmed, "smdpSigned5")
    kind, data = lpa.es10.v3_call(tlv(0xBF4B, signed5 + smdp.field(confirmed, "smdpSignature5")),
                                  "VerifyDeviceChangeResponse")
    if kind != "verifyDeviceChangeOk":
        raise DownloadError("VerifyDeviceChange", f"error {data}")
    deleted = "deleteOldProfile" in data and lpa.es10.delete_profile(("iccid", iccid)) == 0
    encrypted = rsp3().decode("SmdpSigned5", signed5)["deviceChangeResponse"][0] == "encryptedDeviceChangeData"
    return DeviceChangeResult("LPA:" + data["activationCodeForDc"], message, data, deleted, encrypted)


def profile_recovery(lpa: Lpa, address: str, iccid: bytes) -> str:
    """Profile Recovery of ``iccid`` (module docstring): the Activation Code to download it again."""
    smdp = lpa.es9(address)
    _, client = _authenticate(lpa, smdp, address, PROFILE_RECOVERY, iccid)
    signed4 = smdp.field(client, "smdpSigned4")
    kind, value = lpa.es10.v3_call(tlv(0xBF62, signed4 + smdp.field(client, "smdpSignature4")),
                                   "VerifyProfileRecoveryResponse")
    if kind != "verifyProfileRecoveryOk":
        raise DownloadError("VerifyProfileRecovery", f"error {value}")
    return "LPA:" + rsp3().decode("SmdpSigned4", signed4)["activationCodeForProfileRecovery"]
