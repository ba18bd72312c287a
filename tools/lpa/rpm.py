"""Remote Profile Management, the LPA's part: GSMA SGP.22 v3.1 §3.7.2 (RPM download) and §3.7.3
(RPM execution).

The LPA authenticates the eUICC to the SM-DP+ with ctxParamsForCommonAuthentication whose
``operationType`` is {rpm} (and the ``iccid`` it polls for, if any), receives
``AuthenticateClientOkRpm`` (smdpSigned3, smdpSignature3), asks the end user to confirm the RPM
commands (``accept``; refusal: ES10b/ES9+ CancelSession with endUserRejection), loads the package
with ES10b.LoadRpmPackage ('BF44') and delivers the eUICC's signed result to the SM-DP+
(ES9+.HandleNotification with the pending notification the eUICC keeps, then
RemoveNotificationFromList).  While the SM-DP+ marks ``rpmPending`` the LPA runs the next RPM
session; :func:`download` chains RPM after an installation whose smdpSigned2 carries it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from euicc import tlv
from euicc.asn1 import rsp3
from tools.lpa.activation_code import ActivationCode
from tools.lpa.lpa import END_USER_REJECTION, DownloadError, DownloadResult, Lpa

RPM_ONLY = (bytes((0x40,)), 2)          # OperationType {rpm}
RPM_TAG_LIST = bytes.fromhex("5ABA")    # GetProfilesInfo tagList: iccid, rpmConfiguration (v3.1)
MAX_CHAINED = 8
"""Most RPM sessions one call runs while the SM-DP+ keeps marking rpmPending (a safety stop)."""


@dataclass
class RpmOutcome:
    """One RPM session: the package run, the eUICC's decoded result, whether the SM-DP+ got it."""

    transaction_id: bytes
    package: list[dict]
    result: tuple[str, Any]                 # LoadRpmPackageResult CHOICE, decoded (v3.1)
    seq_number: int | None
    notification_sent: bool
    rpm_pending: bool
    raw_result: bytes = field(repr=False, default=b"")


def ctx_params1(lpa: Lpa, iccid: bytes | None = None) -> bytes:
    """CtxParams1 for RPM (v3.1 CtxParamsForCommonAuthentication, operationType {rpm})."""
    params: dict = {"deviceInfo": lpa.device_info(True), "operationType": RPM_ONLY}
    if iccid is not None:
        params["iccid"] = iccid
    return rsp3().encode("CtxParams1", ("ctxParamsForCommonAuthentication", params))


def polling_addresses(lpa: Lpa, iccid: bytes | None = None) -> list[str]:
    """The addresses to poll for RPM: the ``pollingAddress`` of each profile's
    ``rpmConfiguration`` (GetProfilesInfo with tagList '5A BA', v3.1 §5.7.15), of the profile
    ``iccid`` only when given, each once, in profile order.  [U] A profile whose rpmConfiguration
    has no pollingAddress is not polled (its Managing SM-DP+ is named by OID, not by address)."""
    found: list[str] = []
    for info in lpa.es10.get_profiles_info(RPM_TAG_LIST):
        address = info.get("rpmConfiguration", {}).get("pollingAddress")
        if address and address not in found and (iccid is None or info.get("iccid") == iccid):
            found.append(address)
    return found


def load_rpm_package(lpa: Lpa, smdp_signed3: bytes, smdp_signature3: bytes, port: int | None = None) -> bytes:
    """ES10b.LoadRpmPackage: the SM-DP+'s signed objects passed through unchanged; with ``port``
    the request's ``targetEsimPort`` (MEP, the eSIM port of the package's enable)."""
    if port is None:
        return lpa.es10.transport.store_data(tlv.tlv(0xBF44, smdp_signed3 + smdp_signature3))
    # the whole request encoded by the v3.1 module; smdpSigned3 comes back byte for byte (DER)
    request = rsp3().encode("LoadRpmPackageRequest", {
        "smdpSigned3": rsp3().decode("SmdpSigned3", smdp_signed3),
        "smdpSignature3": tlv.unwrap(smdp_signature3, 0x5F37), "targetEsimPort": port})
    return lpa.es10.transport.store_data(request)


def run(lpa: Lpa, address: str, iccid: bytes | None = None,
        accept: Callable[[list[dict]], bool] = lambda package: True, port: int | None = None) -> list[RpmOutcome]:
    """RPM download and execution with the SM-DP+ at ``address``, repeated while rpmPending;
    ``port``: LoadRpmPackage's targetEsimPort."""
    outcomes: list[RpmOutcome] = []
    for _ in range(MAX_CHAINED):
        outcome = _session(lpa, address, iccid, accept, port)
        outcomes.append(outcome)
        if not outcome.rpm_pending:
            break
    return outcomes


def _session(lpa: Lpa, address: str, iccid: bytes | None, accept: Callable[[list[dict]], bool],
             port: int | None) -> RpmOutcome:
    smdp = lpa.es9(address)

    def rpm_ctx_params1(v3: bool) -> bytes:
        if not v3:      # operationType exists only in v3.1
            raise DownloadError("rpm", "the SM-DP+ did not choose SGP.22 v3")
        return ctx_params1(lpa, iccid)

    transaction_id, client = lpa.authenticate(smdp, address, rpm_ctx_params1)
    if "smdpSigned3" not in client:
        lpa.cancel(smdp, transaction_id, END_USER_REJECTION)
        raise DownloadError("AuthenticateClient", "the SM-DP+ sent no RPM package")
    signed3 = smdp.field(client, "smdpSigned3")
    value = rsp3().decode("SmdpSigned3", signed3)
    if not accept(value["rpmPackage"]):
        lpa.cancel(smdp, transaction_id, END_USER_REJECTION)
        raise DownloadError("consent", "the end user rejected the RPM commands")
    raw = load_rpm_package(lpa, signed3, smdp.field(client, "smdpSignature3"), port)
    result = rsp3().decode("LoadRpmPackageResult", raw)
    seq, sent = None, False
    if result[0] == "loadRpmPackageResultSigned":
        meta = result[1]["loadRpmPackageResultDataSigned"]["notificationMetadata"]
        seq = meta["seqNumber"]
        if lpa.send_notifications:
            (pending,) = lpa.es10.retrieve_notifications(seq)
            sent = lpa.deliver(meta["notificationAddress"] or address, pending, seq)
    return RpmOutcome(transaction_id, value["rpmPackage"], result, seq, sent, "rpmPending" in value, raw)


def download(lpa: Lpa, code: ActivationCode, confirmation_code: str | None = None,
             accept: Callable[[dict], bool] = lambda metadata: True) -> tuple[DownloadResult, list[RpmOutcome]]:
    """§3.1.3 download, then (v3.1, smdpSigned2.rpmPending) the RPM the SM-DP+ chained to it."""
    result = lpa.download(code, confirmation_code, accept)
    return result, (run(lpa, code.smdp_address) if result.rpm_pending else [])
