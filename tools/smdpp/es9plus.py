"""The test SM-DP+: ES9+ functions of GSMA SGP.22 v2.5 §5.6 (InitiateAuthentication,
AuthenticateClient, GetBoundProfilePackage, HandleNotification, CancelSession), transport-free.

Version (``svn``, default 2.5.0: the v2.5 server as before): a server set to 3.1.0 reads the
eUICC's ``highestSvn`` from euiccInfo1 (SGP.22 v3.1 EUICCInfo1) and, when the eUICC speaks v3
too, chooses v3 for the session: serverSigned1 carries a ``sessionContext`` (serverSvn,
crlStaplingV3Used FALSE) and the profile metadata may carry a service-provider message ('BE').
RPM (v3.1 §3.7) is :mod:`tools.smdpp.rpm`; everything else of v3 (CRL stapling, device change,
...) is not implemented here.

Inputs and outputs are the DER data objects that the §6.5 JSON binding carries base64-encoded
(:mod:`tools.smdpp.http_binding` does the JSON). Failures raise :class:`Es9Error` with the
subject/reason codes of §5.6 (ES9+ function status codes).  Signed parts of eUICC responses are
verified over their received bytes, never over a re-encoding (§5.6.3, §5.6.4).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field

import asn1tools
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from euicc.asn1 import rsp, rsp3
from tools.smdpp import bpp, crl_stapling, device_change, rpm, signing
from tools.smdpp.certificates import CertificateCheckError, Credentials, CredentialSet, EuiccIdentity, verify_euicc_chain
from tools.smdpp.orders import CANCELLED, DOWNLOADED, FAILED, INSTALLED, RELEASED, ProfileOrder, hash_confirmation_code

log = logging.getLogger(__name__)

SUPPORTED_SVN_MAJOR = 2
SVN_V2, SVN_V3 = bytes((2, 5, 0)), bytes((3, 1, 0))
DEFAULT_HOST_ID = b"EUICC-EMU-SMDP+"


class Es9Error(Exception):
    """An ES9+ function failed: ``subject`` / ``reason`` are the §5.6 status code pair."""

    def __init__(self, subject: str, reason: str, message: str) -> None:
        super().__init__(f"{subject}/{reason}: {message}")
        self.subject, self.reason, self.message = subject, reason, message


# Status codes of SGP.22 v2.5 §5.6.1-§5.6.5 (subject code, reason code).
INVALID_SMDP_ADDRESS = ("8.8.1", "3.8")
SECURITY_CONFIG_NOT_SUPPORTED = ("8.8.2", "3.1")
SVN_NOT_SUPPORTED = ("8.8.3", "3.1")
UNKNOWN_TRANSACTION = ("8.10.1", "3.9")
EUM_CERT_INVALID, EUM_CERT_EXPIRED = ("8.1.2", "6.1"), ("8.1.2", "6.3")
EUICC_CERT_INVALID, EUICC_CERT_EXPIRED = ("8.1.3", "6.1"), ("8.1.3", "6.3")
EUICC_VERIFICATION_FAILED = ("8.1", "6.1")
MATCHING_ID_REFUSED = ("8.2.6", "3.8")
EID_REFUSED = ("8.1.1", "3.8")
CC_MISSING, CC_REFUSED, CC_RETRIES_EXCEEDED = ("8.2.7", "2.2"), ("8.2.7", "3.8"), ("8.2.7", "6.4")
INVALID_SMDP_OID = ("8.8", "3.10")
# Malformed function input (a data object that does not decode).  [U] SGP.22 v2.5 §6.5.1.4 has no
# dedicated pair we could confirm; "1.2 / 2.1" is a setting-like default.
MALFORMED = ("1.2", "2.1")


def _fail(code: tuple[str, str], message: str) -> Es9Error:
    return Es9Error(code[0], code[1], message)


def _children(data: bytes, outer: int) -> list[tuple[int, bytes]]:
    """Top-level (tag, complete TLV bytes) of the value of ``data`` (one ``outer`` object)."""
    try:
        return tlv.split(tlv.unwrap(data, outer))
    except tlv.TlvError as exc:
        raise _fail(MALFORMED, f"malformed {outer:X}: {exc}") from None


def _decode(type_name: str, data: bytes, v3: bool = False) -> dict:
    try:
        return (rsp3() if v3 else rsp()).decode(type_name, data)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _fail(MALFORMED, f"{type_name} does not decode: {exc}") from None


def _highest_svn(euicc_info1: bytes) -> bytes:
    """EUICCInfo1 highestSvn (SGP.22 v3.1), or the v2 svn (= lowestSvn) when absent."""
    try:
        info = rsp3().decode("EUICCInfo1", euicc_info1)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _fail(MALFORMED, f"EUICCInfo1 does not decode: {exc}") from None
    return info.get("highestSvn", info["lowestSvn"])


def canonical_oid(text: str) -> str:
    """Undo asn1tools' decoding of a first subidentifier >= 80 (X.690 §8.19.4: arc 2 with a
    second arc >= 40, e.g. the SGP.26 SM-DP+ OID 2.999.10, comes back as '26.39.10')."""
    arcs = text.split(".")
    if len(arcs) >= 2 and arcs[0].isdigit() and arcs[1].isdigit() and int(arcs[0]) > 2:
        first = int(arcs[0]) * 40 + int(arcs[1])
        return ".".join(["2", str(first - 80), *arcs[2:]])
    return text


def _value(tlv_bytes: bytes) -> bytes:
    _, i = tlv.read_tag(tlv_bytes, 0)
    _, i = tlv.read_length(tlv_bytes, i)
    return tlv_bytes[i:]


@dataclass
class Session:
    """One RSP session, keyed by its TransactionID (§3.1.3)."""

    transaction_id: bytes
    euicc_challenge: bytes
    server_challenge: bytes
    cred: CredentialSet
    euicc: EuiccIdentity | None = None
    order: ProfileOrder | None = None
    euicc_signature1: bytes = b""
    smdp_signature2: bytes = b""          # complete 5F37 TLV, input of euiccSignature2
    ended: bool = False
    v3: bool = False                      # SGP.22 v3.1 chosen for this session
    device_change: device_change.DeviceChangeState | None = None     # v3.1 Device Change / Recovery


@dataclass
class ReceivedNotification:
    """A notification that reached HandleNotification (§5.6.4) and how it was judged."""

    kind: str                              # "installation-result" | "other"
    verified: bool
    detail: dict = field(default_factory=dict)


class SmDpPlus:
    """Orders, sessions and credentials of one SM-DP+; thread-safe for the HTTP server."""

    def __init__(self, address: str, credentials: Credentials, *, host_id: bytes = DEFAULT_HOST_ID,
                 segment_limit: int = bpp.MAX_SEGMENT, dp_oid_in_configure_isdp: bool = True,
                 clock=lambda: dt.datetime.now(dt.timezone.utc), svn: bytes = SVN_V2) -> None:
        self.address = address
        self.svn = svn
        self.credentials = credentials
        self.host_id = host_id
        self.segment_limit = segment_limit
        self.dp_oid_in_configure_isdp = dp_oid_in_configure_isdp
        self.clock = clock
        self.orders: dict[str, ProfileOrder] = {}
        self.sessions: dict[bytes, Session] = {}
        self.notifications: list[ReceivedNotification] = []
        self.recoveries: dict[bytes, dt.datetime] = {}     # ICCID -> end of Profile Recovery (v3.1)
        self.crls: list[bytes] = []          # DER CRLs stapled in v3 sessions (tools.smdpp.crl_stapling)
        self.rpm = rpm.RpmDesk()
        self._lock = threading.RLock()

    def add_order(self, order: ProfileOrder) -> None:
        with self._lock:
            self.orders[order.matching_id] = order

    def _session(self, transaction_id: bytes) -> Session:
        session = self.sessions.get(transaction_id)
        if session is None or session.ended:
            raise _fail(UNKNOWN_TRANSACTION, f"unknown transaction {transaction_id.hex()}")
        return session

    # -- §5.6.1 ----------------------------------------------------------------------------------
    def initiate_authentication(self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str) -> dict:
        """ES9+.InitiateAuthentication: choose the CI, sign serverSigned1 with CERT.DPauth's key."""
        if smdp_address.lower() != self.address.lower():
            raise _fail(INVALID_SMDP_ADDRESS, f"{smdp_address!r} is not this SM-DP+")
        if len(euicc_challenge) != 16:
            raise _fail(MALFORMED, "euiccChallenge must be 16 bytes")
        info1 = _decode("EUICCInfo1", euicc_info1)
        if info1["svn"][0] != SUPPORTED_SVN_MAJOR:
            raise _fail(SVN_NOT_SUPPORTED, f"SVN {info1['svn'].hex()}")
        signing_ids = set(info1["euiccCiPKIdListForSigning"])
        cred = self.credentials.first_supported(
            [p for p in info1["euiccCiPKIdListForVerification"] if p in signing_ids])
        if cred is None:
            raise _fail(SECURITY_CONFIG_NOT_SUPPORTED, "no common CI")
        with self._lock:
            session = Session(os.urandom(16), euicc_challenge, os.urandom(16), cred)
            session.v3 = self.svn[0] >= 3 and _highest_svn(euicc_info1)[0] >= 3
            self.sessions[session.transaction_id] = session
        value = {"transactionId": session.transaction_id, "euiccChallenge": euicc_challenge,
                 "serverAddress": self.address, "serverChallenge": session.server_challenge}
        stapled = (crl_stapling.crl_list(self.crls, cred)
                   if session.v3 and crl_stapling.euicc_supports(euicc_info1) else [])
        if session.v3:
            value["sessionContext"] = {"serverSvn": self.svn, "crlStaplingV3Used": bool(stapled)}
        signed1 = (rsp3() if session.v3 else rsp()).encode("ServerSigned1", value)
        answer = {"transactionId": session.transaction_id, "serverSigned1": signed1,
                  "serverSignature1": tlv.tlv(0x5F37, signing.sign(cred.auth.key, signed1)),
                  "euiccCiPKIdToBeUsed": tlv.tlv(0x04, cred.ci_pkid), "serverCertificate": cred.auth.der}
        if cred.chain and session.v3:     # v3.1 otherCertsInChain [1] (the 'A1' TLV) [U: its JSON form]
            answer["otherCertsInChain"] = tlv.tlv(0xA1, b"".join(
                c.public_bytes(serialization.Encoding.DER) for c in cred.chain))
        if stapled:                       # v3.1 crlList [2] (the 'A2' TLV) [U: its JSON form]
            answer["crlList"] = tlv.tlv(0xA2, b"".join(stapled))
        return answer

    # -- §5.6.3 ----------------------------------------------------------------------------------
    def authenticate_client(self, transaction_id: bytes, authenticate_server_response: bytes) -> dict:
        """ES9+.AuthenticateClient: verify the eUICC, find the order, sign smdpSigned2 with DPpb."""
        with self._lock:
            session = self._session(transaction_id)
            parts = _children(authenticate_server_response, 0xBF38)
            if not parts or parts[0][0] != 0xA0:
                raise _fail(EUICC_VERIFICATION_FAILED, "AuthenticateServer returned an error")
            ok = _children(parts[0][1], 0xA0)
            if [t for t, _ in ok] != [0x30, 0x5F37, 0x30, 0x30]:
                raise _fail(MALFORMED, "AuthenticateResponseOk has the wrong members")
            signed1, signature1, euicc_cert, eum_cert = (raw for _, raw in ok)
            try:
                euicc = verify_euicc_chain(euicc_cert, eum_cert, session.cred.ci, self.clock())
            except CertificateCheckError as exc:
                code = {("eum", False): EUM_CERT_INVALID, ("eum", True): EUM_CERT_EXPIRED,
                        ("euicc", False): EUICC_CERT_INVALID, ("euicc", True): EUICC_CERT_EXPIRED}
                raise _fail(code[(exc.which, exc.expired)], str(exc)) from None
            if not signing.verify(euicc.public_key, signed1, _value(signature1)):
                raise _fail(EUICC_VERIFICATION_FAILED, "euiccSignature1 does not verify")
            fields = _decode("EuiccSigned1", signed1, session.v3)
            if fields["transactionId"] != transaction_id:
                raise _fail(UNKNOWN_TRANSACTION, "transactionId differs in euiccSigned1")
            if fields["serverChallenge"] != session.server_challenge:
                raise _fail(EUICC_VERIFICATION_FAILED, "serverChallenge differs")
            # The eUICC is authenticated from here on: keep its identity even when the order is
            # refused below, so the CancelSession that follows can be verified (§5.6.5, §3.0.1).
            session.euicc = euicc
            if fields["ctxParams1"][0] in device_change.CONTEXTS:
                return self._device_change(session, fields["ctxParams1"], signature1)
            if session.v3 and rpm.requested(signed1):
                answer = self.rpm.package(transaction_id, euicc.eid, signed1, session.cred.auth.key, signature1)
                if answer is None:
                    raise _fail(rpm.RPM_ORDER_NOT_FOUND, f"no RPM order for EID {euicc.eid}")
                return answer
            matching_id = fields["ctxParams1"][1].get("matchingId", "")
            order = self.orders.get(matching_id)
            if order is None or order.state not in (RELEASED, DOWNLOADED):
                raise _fail(MATCHING_ID_REFUSED, f"no released order for matching ID {matching_id!r}")
            if order.eid is not None and order.eid != euicc.eid:
                raise _fail(EID_REFUSED, f"order is for EID {order.eid}")
            session.order, session.euicc_signature1 = order, signature1
            value2 = {"transactionId": transaction_id, "ccRequiredFlag": order.confirmation_code is not None}
            if session.v3 and self.rpm.waiting(euicc.eid):
                value2["rpmPending"] = None          # v3.1: RPM to chain after the installation
            signed2 = (rsp3() if session.v3 else rsp()).encode("SmdpSigned2", value2)
            session.smdp_signature2 = tlv.tlv(0x5F37, signing.sign(session.cred.pb.key, signed2 + signature1))
        return {"transactionId": transaction_id, "profileMetadata": order.metadata.encode(session.v3),
                "smdpSigned2": signed2, "smdpSignature2": session.smdp_signature2,
                "smdpCertificate": session.cred.pb.der}

    def _device_change(self, session: Session, ctx_params1: tuple, signature1: bytes) -> dict:
        """AuthenticateClient for Device Change / Profile Recovery (:mod:`tools.smdpp.device_change`)."""
        try:
            return device_change.authenticate_client(self, session, ctx_params1, signature1)
        except device_change.Refused as exc:
            raise _fail(exc.code, str(exc)) from None

    def confirm_device_change(self, transaction_id: bytes, prepare_device_change_response: bytes) -> dict:
        """ES9+.ConfirmDeviceChange (SGP.22 v3.1): :mod:`tools.smdpp.device_change`."""
        with self._lock:
            session = self._session(transaction_id)
            try:
                return device_change.confirm(self, session, prepare_device_change_response)
            except device_change.Refused as exc:
                raise _fail(exc.code, str(exc)) from None

    # -- §5.6.2 ----------------------------------------------------------------------------------
    def get_bound_profile_package(self, transaction_id: bytes, prepare_download_response: bytes) -> dict:
        """ES9+.GetBoundProfilePackage: verify euiccSignature2 and hashCc, bind the profile."""
        with self._lock:
            session = self._session(transaction_id)
            if session.order is None or session.euicc is None:
                raise _fail(UNKNOWN_TRANSACTION, "AuthenticateClient has not succeeded in this session")
            parts = _children(prepare_download_response, 0xBF21)
            if not parts or parts[0][0] != 0xA0:
                raise _fail(EUICC_VERIFICATION_FAILED, "PrepareDownload returned an error")
            ok = _children(parts[0][1], 0xA0)
            if [t for t, _ in ok] != [0x30, 0x5F37]:
                raise _fail(MALFORMED, "PrepareDownloadResponseOk has the wrong members")
            signed2, signature2 = ok[0][1], ok[1][1]
            if not signing.verify(session.euicc.public_key, signed2 + session.smdp_signature2, _value(signature2)):
                raise _fail(EUICC_VERIFICATION_FAILED, "euiccSignature2 does not verify")
            fields = _decode("EUICCSigned2", signed2)
            if fields["transactionId"] != transaction_id:
                raise _fail(UNKNOWN_TRANSACTION, "transactionId differs in euiccSigned2")
            order = session.order
            self._check_confirmation_code(order, fields.get("hashCc"), transaction_id)
            euicc_otpk = fields["euiccOtpk"]
            curve = session.cred.auth.key.curve
            try:
                ec.EllipticCurvePublicKey.from_encoded_point(curve, euicc_otpk)
            except ValueError:
                raise _fail(EUICC_VERIFICATION_FAILED, "euiccOtpk is not a point on the session curve") from None
            ot_sk = ec.generate_private_key(curve)
            keys = bpp.session_keys(ot_sk, euicc_otpk, self.host_id, bytes.fromhex(session.euicc.eid))
            init_sc = bpp.initialise_secure_channel(transaction_id, self.host_id, bpp.point_bytes(ot_sk),
                                                    euicc_otpk, session.cred.pb.key)
            dp_oid = session.cred.smdp_oid if self.dp_oid_in_configure_isdp else None
            package = bpp.bound_profile_package(init_sc, keys, bpp.configure_isdp(dp_oid), order.metadata.encode(session.v3),
                                                order.upp, bpp.random_ppk() if order.use_ppk else None,
                                                self.segment_limit)
            order.state = DOWNLOADED
        return {"transactionId": transaction_id, "boundProfilePackage": package}

    @staticmethod
    def _check_confirmation_code(order: ProfileOrder, hash_cc: bytes | None, transaction_id: bytes) -> None:
        if order.confirmation_code is None:
            return
        if hash_cc is None:
            raise _fail(CC_MISSING, "confirmation code required")
        if hash_cc != hash_confirmation_code(order.confirmation_code, transaction_id):
            order.cc_attempts_left -= 1
            if order.cc_attempts_left <= 0:
                order.state = FAILED
                raise _fail(CC_RETRIES_EXCEEDED, "too many wrong confirmation codes")
            raise _fail(CC_REFUSED, "wrong confirmation code")

    # -- §5.6.4 ----------------------------------------------------------------------------------
    def handle_notification(self, pending_notification: bytes) -> ReceivedNotification:
        """ES9+.HandleNotification: verify and record; never fails towards the LPA (§6.5.2.4: 204)."""
        with self._lock:
            try:
                if pending_notification[:1] == b"\xa1":
                    item = self._rpm_result(pending_notification)
                else:
                    item = (self._installation_result(pending_notification) if pending_notification[:2] == b"\xbf\x37"
                            else self._other_notification(pending_notification))
            except Es9Error as exc:
                item = ReceivedNotification("unparsable", False, {"error": exc.message})
            self.notifications.append(item)
            log.info("notification %s verified=%s %s", item.kind, item.verified, item.detail)
            return item

    def _installation_result(self, data: bytes) -> ReceivedNotification:
        parts = _children(data, 0xBF37)
        if [t for t, _ in parts] != [0xBF27, 0x5F37]:
            raise _fail(MALFORMED, "ProfileInstallationResult has the wrong members")
        fields = _decode("ProfileInstallationResultData", parts[0][1])
        session = self.sessions.get(fields["transactionId"])
        verified = bool(session and session.euicc and
                        signing.verify(session.euicc.public_key, parts[0][1], _value(parts[1][1])))
        kind, result = fields["finalResult"]
        detail = {"transactionId": fields["transactionId"].hex().upper(), "result": kind,
                  "seqNumber": fields["notificationMetadata"]["seqNumber"]}
        if kind == "successResult":
            detail["isdpAid"] = result["aid"].hex().upper()
        else:
            detail.update(bppCommandId=result["bppCommandId"], errorReason=result["errorReason"])
        if verified and session.order is not None:
            session.order.state = INSTALLED if kind == "successResult" else FAILED
            session.order.result = detail
            session.ended = True
        return ReceivedNotification("installation-result", verified, detail)

    def _rpm_result(self, data: bytes) -> ReceivedNotification:
        """v3.1 LoadRpmPackageResultSigned (:mod:`tools.smdpp.rpm`)."""
        def key_of(transaction_id: bytes):
            session = self.sessions.get(transaction_id)
            return session.euicc.public_key if session is not None and session.euicc is not None else None
        try:
            verified, detail = self.rpm.result(data, key_of)
        except (tlv.TlvError, ValueError, asn1tools.Error, KeyError, IndexError, TypeError) as exc:
            raise _fail(MALFORMED, f"LoadRpmPackageResultSigned: {exc}") from None
        session = self.sessions.get(bytes.fromhex(detail["transactionId"]))
        if verified and session is not None:
            session.ended = True
        return ReceivedNotification("rpm-result", verified, detail)

    def _other_notification(self, data: bytes) -> ReceivedNotification:
        parts = _children(data, 0x30)
        if [t for t, _ in parts] != [0xBF2F, 0x5F37, 0x30, 0x30]:
            raise _fail(MALFORMED, "OtherSignedNotification has the wrong members")
        meta = _decode("NotificationMetadata", parts[0][1])
        verified = False
        for cred in self.credentials.sets.values():
            try:
                euicc = verify_euicc_chain(parts[2][1], parts[3][1], cred.ci, self.clock())
            except CertificateCheckError:
                continue
            verified = signing.verify(euicc.public_key, parts[0][1], _value(parts[1][1]))
            break
        operation = meta["profileManagementOperation"]
        detail = {"seqNumber": meta["seqNumber"], "operation": operation[0].hex(),
                  "iccid": meta.get("iccid", b"").hex().upper()}
        return ReceivedNotification("other", verified, detail)

    # -- §5.6.5 ----------------------------------------------------------------------------------
    def cancel_session(self, transaction_id: bytes, cancel_session_response: bytes) -> dict:
        """ES9+.CancelSession: verify euiccCancelSessionSigned; the order returns to Released for
        'postponed'/'timeout', else it ends (§3.1.3 / §5.6.5)."""
        with self._lock:
            session = self._session(transaction_id)
            parts = _children(cancel_session_response, 0xBF41)
            if parts and parts[0][0] == 0xA0:
                ok = _children(parts[0][1], 0xA0)
                if [t for t, _ in ok] != [0x30, 0x5F37]:
                    raise _fail(MALFORMED, "CancelSessionResponseOk has the wrong members")
                if session.euicc is None or not signing.verify(session.euicc.public_key, ok[0][1], _value(ok[1][1])):
                    raise _fail(EUICC_VERIFICATION_FAILED, "euiccCancelSessionSignature does not verify")
                fields = _decode("EuiccCancelSessionSigned", ok[0][1])
                if fields["transactionId"] != transaction_id:
                    raise _fail(UNKNOWN_TRANSACTION, "transactionId differs in euiccCancelSessionSigned")
                if canonical_oid(fields["smdpOid"]) != session.cred.smdp_oid:
                    raise _fail(INVALID_SMDP_OID, f"smdpOid {fields['smdpOid']}")
                if session.order is not None and session.order.state != FAILED:   # a failed order stays so
                    session.order.state = RELEASED if fields["reason"] in (1, 2) else CANCELLED
                    session.order.result["cancelSessionReason"] = fields["reason"]
                self.rpm.cancelled(transaction_id, fields["reason"])
            session.ended = True
        return {}

