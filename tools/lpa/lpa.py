"""The LPA's procedures (GSMA SGP.22 v2.5 §3): Profile Download and Installation (§3.1.3),
local profile management (§3.2), notifications (§3.5), eUICC information (§3.3 / §5.7.8).

    lpa = Lpa(Es10Client(Es10Transport(card.transmit)), es9=lambda addr: Es9PlusClient(addr, use_tls=False))
    result = lpa.download(parse("LPA:1$127.0.0.1:8080$MATCHING-ID"))
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from euicc.asn1 import rsp, rsp3
from tools.lpa import enterprise
from tools.lpa.activation_code import ActivationCode
from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient, Es9TransportError
from tools.lpa.es10 import Es10Client, Es10Error
from tools.lpa.transport import CardError

# CancelSessionReason (RSPDefinitions)
END_USER_REJECTION, POSTPONED, TIMEOUT = 0, 1, 2
DEFAULT_TAC = bytes.fromhex("35290611")   # a test TAC; DeviceInfo.tac (§5.7.13) is 4 bytes
DEFAULT_CAPABILITIES = {"gsmSupportedRelease": b"\x0d\x00\x00", "utranSupportedRelease": b"\x0d\x00\x00",
                        "eutranSupportedRelease": b"\x0d\x00\x00"}
ENTERPRISE_CAPABLE_DEVICE = (b"\x10", 4)
"""SGP.22 v3.1 DeviceInfo ``lpaRspCapability`` with enterpriseCapableDevice (3)."""


class DownloadError(Exception):
    """The download did not end with an installed profile; ``stage`` tells where."""

    def __init__(self, stage: str, message: str, result: dict | None = None) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.result = stage, result or {}


@dataclass
class DownloadResult:
    """What a successful download produced."""

    transaction_id: bytes
    isdp_aid: bytes
    iccid: bytes
    metadata: dict
    seq_number: int
    notification_sent: bool
    profile_installation_result: bytes = field(repr=False, default=b"")
    rpm_pending: bool = False          # v3.1 smdpSigned2.rpmPending: RPM to chain (tools.lpa.rpm)


def iccid_digits(iccid: bytes) -> str:
    """EF.ICCID coding -> digits (TS 102 221 §13.2)."""
    return "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in iccid).rstrip("F")


def iccid_bytes(digits: str) -> bytes:
    """Digits -> EF.ICCID coding (nibble-swapped BCD, 'F' padded to 20 digits)."""
    if not 18 <= len(digits) <= 20 or not digits.isdigit():
        raise ValueError(f"bad ICCID {digits!r}")
    padded = digits.ljust(20, "F")
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, 20, 2))


def hash_cc(code: str, transaction_id: bytes) -> bytes:
    """SGP.22 §5.7.5: hashCc = SHA-256(SHA-256(Confirmation Code) || TransactionID)."""
    return hashlib.sha256(hashlib.sha256(code.encode()).digest() + transaction_id).digest()


def notification_metadata(pending: bytes) -> dict:
    """NotificationMetadata of one PendingNotification: a ProfileInstallationResult, an
    OtherSignedNotification or (SGP.22 v3.1, 'A1') a LoadRpmPackageResultSigned."""
    kind, value = (rsp3() if pending[:1] == b"\xa1" else rsp()).decode("PendingNotification", pending)
    if kind == "profileInstallationResult":
        return value["profileInstallationResultData"]["notificationMetadata"]
    if kind == "loadRpmPackageResultSigned":
        return value["loadRpmPackageResultDataSigned"]["notificationMetadata"]
    return value["tbsOtherNotification"]


class Lpa:
    """LPA procedures over one card (ES10) and SM-DP+ clients made by ``es9(address)``."""

    def __init__(self, es10: Es10Client, es9: Callable[[str], Es9PlusClient] = Es9PlusClient,
                 tac: bytes = DEFAULT_TAC, imei: bytes | None = None, send_notifications: bool = True,
                 enterprise_capable: bool = True) -> None:
        self.es10 = es10
        self.enterprise_capable = enterprise_capable
        self.es9 = es9
        self.tac, self.imei = tac, imei
        self.send_notifications = send_notifications

    def _ctx_params1(self, matching_id: str, v3: bool = False) -> bytes:
        """CtxParamsForCommonAuthentication in the form of the session's version."""
        if not v3:
            return rsp().encode("CtxParams1", ("ctxParamsForCommonAuthentication",
                                               {"matchingId": matching_id, "deviceInfo": self.device_info(False)}))
        return rsp3().encode("CtxParams1", ("ctxParamsForCommonAuthentication",
                                            {"matchingId": matching_id, "deviceInfo": self.device_info(True)}))

    def device_info(self, v3: bool) -> dict:
        """DeviceInfo (§4.2); in the v3.1 form it says whether this is an Enterprise Capable Device
        (lpaRspCapability)."""
        device: dict = {"tac": self.tac, "deviceCapabilities": DEFAULT_CAPABILITIES}
        if self.imei:
            device["imei"] = self.imei
        if not v3:
            return device
        capabilities = dict(DEFAULT_CAPABILITIES)
        capabilities["eutranEpcSupportedRelease"] = capabilities.pop("eutranSupportedRelease")
        device["deviceCapabilities"] = capabilities
        if self.enterprise_capable:
            device["lpaRspCapability"] = ENTERPRISE_CAPABLE_DEVICE
        return device

    def download(self, code: ActivationCode, confirmation_code: str | None = None,
                 accept: Callable[[dict], bool] = lambda metadata: True) -> DownloadResult:
        """§3.1.3 Profile Download and Installation; ``accept`` is the end user's consent to the
        profile metadata (False -> CancelSession endUserRejection)."""
        smdp = self.es9(code.smdp_address)
        transaction_id, client = self.authenticate(smdp, code.smdp_address,
                                                   lambda v3: self._ctx_params1(code.matching_id, v3))
        metadata = self._metadata(smdp.field(client, "profileMetadata"))
        signed2 = smdp.field(client, "smdpSigned2")
        cc_required = rsp().decode("SmdpSigned2", signed2)["ccRequiredFlag"]
        if not accept(metadata):
            self.cancel(smdp, transaction_id, END_USER_REJECTION)
            raise DownloadError("consent", "the end user rejected the profile")
        reason = enterprise.cancel_reason(self.es10, self.enterprise_capable, metadata)
        if reason is not None:      # SGP.22 v3.1 §3.1.3: what the eUICC would refuse is not downloaded
            self.cancel(smdp, transaction_id, reason)
            raise DownloadError("enterprise", f"CancelSession reason {reason}")
        if cc_required and not confirmation_code:
            self.cancel(smdp, transaction_id, POSTPONED)
            raise DownloadError("confirmation", "this profile needs a confirmation code")
        prepared = self.es10.prepare_download(
            signed2, smdp.field(client, "smdpSignature2"), smdp.field(client, "smdpCertificate"),
            hash_cc(confirmation_code, transaction_id) if cc_required else None)
        kind, value = rsp().decode("PrepareDownloadResponse", prepared)
        if kind != "downloadResponseOk":
            raise DownloadError("PrepareDownload", f"error {value['downloadErrorCode']}")
        try:
            bound = smdp.get_bound_profile_package(transaction_id, prepared)
        except Es9FunctionError:
            self._cancel_on_card(transaction_id)
            raise
        pir = self.es10.load_bound_profile_package(smdp.field(bound, "boundProfilePackage"))
        result = self._finish(code, transaction_id, metadata, pir)
        result.rpm_pending = "rpmPending" in rsp3().decode("SmdpSigned2", signed2)
        return result

    def authenticate(self, smdp: Es9PlusClient, address: str,
                     ctx_params1: Callable[[bool], bytes]) -> tuple[bytes, dict]:
        """§3.0.1 Common Mutual Authentication up to ES9+.AuthenticateClient: (transactionId, the
        AuthenticateClient answer), for a download, RPM (v3.1 §3.7) or Device Change / Profile
        Recovery (v3.1 §3.11).  ``ctx_params1(v3)`` builds CtxParams1 for the version the SM-DP+
        chose (v3: serverSigned1 has a sessionContext); its otherCertsInChain and crlList (v3) are forwarded.
        An SM-DP+ refusal of AuthenticateClient cancels the card's session."""
        info1 = self.es10.get_euicc_info1()
        challenge = self.es10.get_euicc_challenge()
        init = smdp.initiate_authentication(challenge, info1, address)
        transaction_id = bytes.fromhex(init["transactionId"])
        signed1 = smdp.field(init, "serverSigned1")
        v3 = "sessionContext" in rsp3().decode("ServerSigned1", signed1)
        auth = self.es10.authenticate_server(
            signed1, smdp.field(init, "serverSignature1"),
            smdp.field(init, "euiccCiPKIdToBeUsed"), smdp.field(init, "serverCertificate"), ctx_params1(v3),
            smdp.field(init, "otherCertsInChain") if "otherCertsInChain" in init else b"",
            smdp.field(init, "crlList") if "crlList" in init else b"")
        kind, value = rsp3().decode("AuthenticateServerResponse", auth)
        if kind != "authenticateResponseOk":
            raise DownloadError("AuthenticateServer", f"error {value['authenticateErrorCode']}")
        try:
            return transaction_id, smdp.authenticate_client(transaction_id, auth)
        except Es9FunctionError:
            self._cancel_on_card(transaction_id)
            raise

    @staticmethod
    def _metadata(raw: bytes) -> dict:
        """StoreMetadataRequest as the end user is shown it (v2.5 members), plus the SGP.22 v3.1
        ``serviceProviderMessage`` ('BE', LocalisedTextMessage) and ``enterpriseConfiguration``
        ('BD', an Enterprise Profile and its rules) when the SM-DP+ sent them."""
        metadata = rsp().decode("StoreMetadataRequest", raw)
        v3 = rsp3().decode("StoreMetadataRequest", raw)
        for member in ("serviceProviderMessage", "enterpriseConfiguration"):
            if member in v3:
                metadata[member] = v3[member]
        return metadata

    def _finish(self, code: ActivationCode, transaction_id: bytes, metadata: dict, pir: bytes) -> DownloadResult:
        data = rsp().decode("ProfileInstallationResult", pir)["profileInstallationResultData"]
        seq = data["notificationMetadata"]["seqNumber"]
        sent = False
        if self.send_notifications:
            sent = self.deliver(data["notificationMetadata"]["notificationAddress"] or code.smdp_address, pir, seq)
        kind, result = data["finalResult"]
        if kind != "successResult":
            raise DownloadError("LoadBoundProfilePackage", f"bppCommandId {result['bppCommandId']} errorReason "
                                f"{result['errorReason']}", {"seqNumber": seq, **result})
        return DownloadResult(transaction_id, result["aid"], metadata["iccid"], metadata, seq, sent, pir)

    def _cancel_on_card(self, transaction_id: bytes) -> None:
        """End the card's session after the SM-DP+ refused (its answer is not forwarded)."""
        try:
            self.es10.cancel_session(transaction_id, END_USER_REJECTION)
        except (Es10Error, CardError):  # best effort: the original ES9+ error is what matters
            pass

    def cancel(self, smdp: Es9PlusClient, transaction_id: bytes, reason: int) -> None:
        """§3.1.3 / §5.7.14: ES10b.CancelSession, then ES9+.CancelSession with the card's answer."""
        smdp.cancel_session(transaction_id, self.es10.cancel_session(transaction_id, reason))

    def deliver(self, address: str, notification: bytes, seq: int) -> bool:
        """§3.5: send one pending notification; remove it from the card once delivered."""
        try:
            self.es9(address).handle_notification(notification)
        except (Es9FunctionError, Es9TransportError):
            return False
        self.es10.remove_notification(seq)
        return True

    def process_notifications(self) -> list[tuple[int, bool]]:
        """Send every pending notification to its address; (seqNumber, delivered) for each."""
        done = []
        for raw in self.es10.retrieve_notifications():
            meta = notification_metadata(raw)
            done.append((meta["seqNumber"], self.deliver(meta["notificationAddress"], raw, meta["seqNumber"])))
        return done

    def chip_info(self) -> dict:
        """EID, EUICCInfo2 and the configured addresses (§5.7.8, §5.7.20, §5.7.3)."""
        return {"eid": self.es10.get_eid(), "euiccInfo2": self.es10.get_euicc_info2(),
                "configuredAddresses": self.es10.get_configured_addresses()}
