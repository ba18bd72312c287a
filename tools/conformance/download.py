"""Profile download cases with the project's test SM-DP+ (SGP.23 §4.2 ES10b / ES8+ functions,
§5 download procedure), the runner acting as the LPA (:mod:`tools.conformance.lpa_flow`).

Identifiers follow SGP.23's ``TC_eUICC_<interface>.<function>#<sequence>`` pattern; the sequence
labels (``#01`` nominal, ``#Enn`` error) are ours.  Every case that opens a download session
cancels it or deletes what it installed, and removes the notifications it caused.
"""
from __future__ import annotations

import os

from cryptography import x509

from tools import ber_tlv as tlv
from tools.conformance.environment import CONFIRMATION_CODE, DOWNLOAD_ICCID, PPR_ICCID, PPRS
from tools.conformance.es10b import list_notifications, operation_of
from tools.conformance.es10c import DISALLOWED, ENABLED, NOT_FOUND, OK, delete, described_profile, disable, enable, iccid_bytes
from tools.conformance.lpa_flow import POSTPONED, SmdpCall, flip_last, hash_cc
from tools.conformance.mutation import es10, flip, mutation, replace
from tools.conformance.model import case
from tools.conformance.session import Session

AUTH_INVALID_CERTIFICATE, AUTH_INVALID_SIGNATURE, AUTH_CHALLENGE_MISMATCH, AUTH_CI_UNKNOWN = 1, 2, 6, 7
DL_INVALID_CERTIFICATE, DL_INVALID_SIGNATURE = 1, 2
BPP_INIT, BPP_CONFIGURE, BPP_METADATA = 0, 1, 2
REASON_SIGNATURE, REASON_SECURITY, REASON_ICCID_EXISTS, REASON_DATA_MISMATCH, REASON_PPR = 2, 8, 9, 13, 15
BPP_LOAD_ELEMENTS = 5


def oid_body(dotted: str) -> bytes:
    """The contents octets of an OBJECT IDENTIFIER (X.690 §8.19: first two arcs as 40 * a + b,
    base-128 subidentifiers) - compared as bytes, since asn1tools misreads first arcs of 2.x >= 2.40."""
    arcs = [int(a) for a in dotted.split(".")]
    out = b""
    for value in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [value & 0x7F]
        while value > 0x7F:
            value >>= 7
            chunk.insert(0, 0x80 | (value & 0x7F))
        out += bytes(chunk)
    return out


def cancel_on_exit(s: Session, call: SmdpCall) -> None:
    s.on_exit("CancelSession", lambda: call.cancel(s, forward=False))


def auth_error(s: Session, tamper, expected: int) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    kind, value = call.authenticate_server(s, tamper)
    s.check(kind == "authenticateResponseError", f"the altered message was accepted ({kind})")
    s.check(value["authenticateErrorCode"] == expected, f"authenticateErrorCode {value['authenticateErrorCode']}, "
                                                        f"expected {expected}")


def remove_notifications(s: Session, before: set[int]) -> None:
    for meta in list_notifications(s):
        if meta["seqNumber"] not in before:
            s.step(f"ES10b.RemoveNotificationFromList {meta['seqNumber']}")
            s.es10("NotificationSentRequest", {"seqNumber": meta["seqNumber"]}, "NotificationSentResponse")


def installed(s: Session, kind: str = "plain") -> tuple[dict, set[int]]:
    """A complete download (§3.1.3); registers the deletion of the profile and its notifications."""
    before = {m["seqNumber"] for m in list_notifications(s)}
    s.step("ES10c.GetProfilesInfo")
    s.require(all(p.get("iccid") != iccid_bytes(DOWNLOAD_ICCID) for p in s.profiles()),
              f"profile {DOWNLOAD_ICCID} is already on the card")
    call = SmdpCall.initiated(s, kind)
    call.authenticated(s)
    call.prepared(s, hash_cc(CONFIRMATION_CODE, call.transaction_id) if kind == "cc" else None)
    result = call.load(s, call.bound_profile_package(s))
    final_kind, final = result["finalResult"]
    s.check(final_kind == "successResult", f"the installation failed: {final}")
    s.on_exit("remove the notifications of this case", lambda: remove_notifications(s, before))
    s.on_exit(f"DeleteProfile {DOWNLOAD_ICCID}", lambda: _delete_download(s))
    return final, before


def _delete_download(s: Session) -> None:
    profile = next((p for p in s.profiles() if p.get("iccid") == iccid_bytes(DOWNLOAD_ICCID)), None)
    if profile is None:
        return
    if profile.get("profileState") == ENABLED:
        original = iccid_bytes(s.card.iccid or "")
        enable(s, ("iccid", original))
    delete(s, ("iccid", iccid_bytes(DOWNLOAD_ICCID)))


@case("TC_eUICC_ES10b.AuthenticateServer#01", group="Download", title="nominal: signed answer, eUICC chain, echoed values",
      clause="SGP.22 §5.7.13, §3.1.2", restores="cancels the session",
      mutation=mutation("euiccSignature1 loses a bit", es10(0xBF38), flip(180)))
def authenticate_nominal(s: Session) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    value = call.authenticated(s)
    signed = value["euiccSigned1"]
    s.check(signed["transactionId"] == call.transaction_id, "euiccSigned1 has another transactionId")
    s.check(signed["serverAddress"] == call.address, f"serverAddress {signed['serverAddress']!r}")
    s.check(signed["ctxParams1"][1].get("matchingId") == call.matching_id, "ctxParams1 not echoed")


@case("TC_eUICC_ES10b.AuthenticateServer#E01", group="Download", title="serverCertificate with a broken signature: invalidCertificate",
      clause="SGP.22 §5.7.13 (authenticateErrorCode 1)", restores="cancels the session",
      mutation=mutation("the card answers invalidSignature", es10(0xBF38), flip(-1, 0x03)))
def authenticate_bad_certificate(s: Session) -> None:
    auth_error(s, lambda p: p.update(serverCertificate=flip_last(p["serverCertificate"])), AUTH_INVALID_CERTIFICATE)


@case("TC_eUICC_ES10b.AuthenticateServer#E02", group="Download", title="serverSignature1 altered: invalidSignature",
      clause="SGP.22 §5.7.13 (authenticateErrorCode 2)", restores="cancels the session",
      mutation=mutation("the card answers invalidCertificate", es10(0xBF38), flip(-1, 0x03)))
def authenticate_bad_signature(s: Session) -> None:
    auth_error(s, lambda p: p.update(serverSignature1=flip_last(p["serverSignature1"])), AUTH_INVALID_SIGNATURE)


@case("TC_eUICC_ES10b.AuthenticateServer#E03", group="Download", title="an unknown euiccCiPKIdToBeUsed: ciPKUnknown",
      clause="SGP.22 §5.7.13 (authenticateErrorCode 7)", restores="cancels the session",
      mutation=mutation("the card answers undefinedError", es10(0xBF38), flip(-1, 0x78)))
def authenticate_unknown_ci(s: Session) -> None:
    auth_error(s, lambda p: p.update(euiccCiPKIdToBeUsed=bytes([0x04, 0x14]) + os.urandom(20)), AUTH_CI_UNKNOWN)


@case("TC_eUICC_ES10b.AuthenticateServer#E04", group="Download", title="a newer challenge on the card: euiccChallengeMismatch",
      clause="SGP.22 §5.7.13 (authenticateErrorCode 6), §5.7.7", restores="cancels the session",
      mutation=mutation("the card answers noSessionContext", es10(0xBF38), flip(-1, 0x02)))
def authenticate_challenge_mismatch(s: Session) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    call.challenge(s)
    kind, value = call.authenticate_server(s)
    s.check(kind == "authenticateResponseError" and value["authenticateErrorCode"] == AUTH_CHALLENGE_MISMATCH,
            f"answered {kind} {value}, expected error {AUTH_CHALLENGE_MISMATCH}")


@case("TC_eUICC_ES10b.PrepareDownload#01", group="Download", title="nominal: euiccSigned2 with a one-time key, signed",
      clause="SGP.22 §5.7.5", restores="cancels the session",
      mutation=mutation("euiccSignature2 loses a bit", es10(0xBF21), flip(-1)))
def prepare_nominal(s: Session) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    call.authenticated(s)
    value = call.prepared(s)
    s.check("hashCc" not in value["euiccSigned2"], "hashCc present although none was given")


@case("TC_eUICC_ES10b.PrepareDownload#02", group="Download", title="with confirmation code: hashCc echoed in euiccSigned2",
      clause="SGP.22 §5.7.5 (hashCc), §3.1.3.2", restores="cancels the session",
      mutation=mutation("the echoed hashCc loses a bit", es10(0xBF21), flip(100)))
def prepare_with_cc(s: Session) -> None:
    call = SmdpCall.initiated(s, "cc")
    cancel_on_exit(s, call)
    call.authenticated(s)
    signed2 = s.decode("SmdpSigned2", call.server["smdpSigned2"])
    s.check(signed2["ccRequiredFlag"], "the SM-DP+ did not ask for a confirmation code")  # the server's, not the card's
    expected = hash_cc(CONFIRMATION_CODE, call.transaction_id)
    value = call.prepared(s, expected)
    s.check(value["euiccSigned2"].get("hashCc") == expected, "euiccSigned2.hashCc is not the hash the LPA gave")
    call.bound_profile_package(s)   # the SM-DP+ accepts the code: the card forwarded the right hash


@case("TC_eUICC_ES10b.PrepareDownload#E01", group="Download", title="CERT.DPpb with a broken signature: invalidCertificate",
      clause="SGP.22 §5.7.5 (downloadErrorCode 1)", restores="cancels the session",
      mutation=mutation("the card answers invalidSignature", es10(0xBF21), flip(-1, 0x03)))
def prepare_bad_certificate(s: Session) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    call.authenticated(s)
    kind, value = call.prepare_download(s, tamper=lambda p: p.update(smdpCertificate=flip_last(p["smdpCertificate"])))
    s.check(kind == "downloadResponseError" and value["downloadErrorCode"] == DL_INVALID_CERTIFICATE,
            f"answered {kind} {value}, expected error {DL_INVALID_CERTIFICATE}")


@case("TC_eUICC_ES10b.PrepareDownload#E02", group="Download", title="smdpSignature2 altered: invalidSignature",
      clause="SGP.22 §5.7.5 (downloadErrorCode 2)", restores="cancels the session",
      mutation=mutation("the card answers invalidCertificate", es10(0xBF21), flip(-1, 0x03)))
def prepare_bad_signature(s: Session) -> None:
    call = SmdpCall.initiated(s)
    cancel_on_exit(s, call)
    call.authenticated(s)
    kind, value = call.prepare_download(s, tamper=lambda p: p.update(smdpSignature2=flip_last(p["smdpSignature2"])))
    s.check(kind == "downloadResponseError" and value["downloadErrorCode"] == DL_INVALID_SIGNATURE,
            f"answered {kind} {value}, expected error {DL_INVALID_SIGNATURE}")


@case("TC_eUICC_ES10b.CancelSession#01", group="Download", title="after AuthenticateServer: signed, accepted by the SM-DP+",
      clause="SGP.22 §5.7.14, §3.1.3 (CancelSession)",
      mutation=mutation("the card answers invalidTransactionId", es10(0xBF41), replace(bytes.fromhex("BF4103020105"))))
def cancel_nominal(s: Session) -> None:
    call = SmdpCall.initiated(s)
    call.authenticated(s)
    kind, value = call.cancel(s, POSTPONED)
    s.check(kind == "cancelSessionResponseOk", f"CancelSession answered {kind} {value}")
    signed = value["euiccCancelSessionSigned"]
    s.check(signed["transactionId"] == call.transaction_id and signed["reason"] == POSTPONED,
            "euiccCancelSessionSigned does not echo the transactionId and reason")
    dpauth = x509.load_der_x509_certificate(call.server["serverCertificate"])
    oids = dpauth.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.RegisteredID)
    ok_body = tlv.unwrap(tlv.unwrap(call.card["cancelSession"], 0xBF41), 0xA0)
    got = tlv.find(tlv.find(ok_body, 0x30) or b"", 0x81)   # smdpOid [1] (AUTOMATIC TAGS)
    s.check(got in {oid_body(oid.dotted_string) for oid in oids},
            f"smdpOid {got.hex().upper() if got else None} is not the registered ID of CERT.DPauth")
    s.step("ES10b.CancelSession again")
    kind, value = call.cancel(s, POSTPONED, forward=False)
    s.check(kind == "cancelSessionResponseError" and value == 5, f"a second CancelSession answered {kind} {value}")


@case("TC_eUICC_ES10b.LoadBoundProfilePackage#01", group="Download", title="a complete download: installed, disabled, notified",
      clause="SGP.22 §5.7.6, §3.1.3, §5.5 (ES8+)", restores="deletes the profile and removes its notifications",
      mutation=mutation("the PIR signature loses a bit", es10(0x86), flip(-1)))
def download_nominal(s: Session) -> None:
    final, before = installed(s)
    s.step("ES10c.GetProfilesInfo")
    profile = next((p for p in s.profiles() if p.get("iccid") == iccid_bytes(DOWNLOAD_ICCID)), None)
    s.check(profile is not None, "the installed profile is not listed")
    s.check(profile["isdpAid"] == final["aid"], "the listed ISD-P AID differs from the PIR's")  # type: ignore[index]
    s.check(profile.get("profileState") == 0, "a freshly installed profile is not disabled")  # type: ignore[union-attr]
    new = [m for m in list_notifications(s) if m["seqNumber"] not in before]
    s.check(any(operation_of(m) == 0 for m in new), "no install notification was added")


@case("TC_eUICC_ES10c.EnableProfile#01", group="Download", title="enable a downloaded profile by AID; re-enable the original",
      clause="SGP.22 §5.7.16, §5.7.17", restores="re-enables the original profile and deletes the download",
      mutation=mutation("enableResult becomes profileNotInDisabledState", es10(0xBF31), replace(bytes.fromhex("BF3103800102"))))
def enable_downloaded(s: Session) -> None:
    original = described_profile(s)
    s.require(original.get("profileState") == ENABLED, "the described profile is not enabled")
    final, _ = installed(s)
    s.check(enable(s, ("isdpAid", final["aid"])) == OK, "EnableProfile of the downloaded profile refused")
    states = {p["iccid"]: p.get("profileState") for p in s.profiles()}
    s.check(states.get(iccid_bytes(DOWNLOAD_ICCID)) == ENABLED and states.get(original["iccid"]) == 0,
            "after EnableProfile the download is not the one enabled profile")
    s.check(enable(s, ("iccid", original["iccid"])) == OK, "re-enabling the original profile refused")


@case("TC_eUICC_ES10c.DeleteProfile#01", group="Download", title="delete a disabled downloaded profile; a delete notification",
      clause="SGP.22 §5.7.18, §3.2.3", restores="removes the notifications",
      mutation=mutation("deleteResult becomes iccidOrAidNotFound", es10(0xBF33), replace(bytes.fromhex("BF3303800101"))))
def delete_downloaded(s: Session) -> None:
    final, before = installed(s)
    s.check(delete(s, ("isdpAid", final["aid"])) == OK, "DeleteProfile refused")
    s.check(all(p.get("iccid") != iccid_bytes(DOWNLOAD_ICCID) for p in s.profiles()), "the profile is still listed")
    s.check(delete(s, ("isdpAid", final["aid"])) == NOT_FOUND, "a second delete did not answer iccidOrAidNotFound")
    new = [operation_of(m) for m in list_notifications(s) if m["seqNumber"] not in before]
    s.check(3 in new, f"no delete notification (operations {new})")


@case("TC_eUICC_ES10c.DisableProfile#02", group="Download", title="disable an enabled downloaded profile: a disable notification",
      clause="SGP.22 §5.7.17, §3.2.2", restores="re-enables the original profile and deletes the download",
      mutation=mutation("disableResult becomes profileNotInEnabledState", es10(0xBF32), replace(bytes.fromhex("BF3203800102"))))
def disable_downloaded(s: Session) -> None:
    original = described_profile(s)
    final, before = installed(s)
    s.check(enable(s, ("isdpAid", final["aid"])) == OK, "EnableProfile refused")
    s.check(disable(s, ("isdpAid", final["aid"])) == OK, "DisableProfile refused")
    new = [operation_of(m) for m in list_notifications(s) if m["seqNumber"] not in before]
    s.check(1 in new and 2 in new, f"enable/disable notifications missing (operations {new})")
    enable(s, ("iccid", original["iccid"]))


@case("TC_eUICC_ES10b.RemoveNotificationFromList#01", group="Download", title="remove the install notification: ok, then gone",
      clause="SGP.22 §5.7.11", restores="deletes the profile",
      mutation=mutation("deleteNotificationStatus becomes nothingToDelete", es10(0xBF30), replace(bytes.fromhex("BF3003800101"))))
def remove_notification(s: Session) -> None:
    _, before = installed(s)
    new = [m["seqNumber"] for m in list_notifications(s) if m["seqNumber"] not in before]
    s.require(bool(new), "the download left no notification")
    s.step(f"ES10b.RemoveNotificationFromList {new[0]}")
    status = s.es10("NotificationSentRequest", {"seqNumber": new[0]}, "NotificationSentResponse")
    s.check(status["deleteNotificationStatus"] == 0, f"deleteNotificationStatus {status['deleteNotificationStatus']}")
    s.check(new[0] not in {m["seqNumber"] for m in list_notifications(s)}, "the notification is still listed")


def bpp_error(s: Session, tamper, command_id: int, reason: int, matching_id: str | None = None,
              kind: str = "plain") -> None:
    call = SmdpCall.initiated(s, kind, matching_id=matching_id)
    call.authenticated(s)
    call.prepared(s)
    before = {p["iccid"] for p in s.profiles()}
    data = call.load(s, call.bound_profile_package(s), tamper)
    kind, result = data["finalResult"]
    s.check(kind == "errorResult", "the altered package was installed")
    s.check((result["bppCommandId"], result["errorReason"]) == (command_id, reason),
            f"bppCommandId {result['bppCommandId']} errorReason {result['errorReason']}, expected {command_id} {reason}")
    s.check({p["iccid"] for p in s.profiles()} == before, "a failed installation changed the profile list")
    s.step("remove the install notification of the failure")
    s.es10("NotificationSentRequest", {"seqNumber": data["notificationMetadata"]["seqNumber"]}, "NotificationSentResponse")


def _flip_in(segments: list[bytes], first: bytes, offset: int) -> None:
    index = next(i for i, seg in enumerate(segments) if seg.startswith(first))
    seg = bytearray(segments[index])
    seg[offset] ^= 0x01
    segments[index] = bytes(seg)


@case("TC_eUICC_ES8+.InitialiseSecureChannel#E01", group="Download", title="smdpSign altered: PIR invalidSignature at command 0",
      clause="SGP.22 §5.5.1, §5.7.6 (errorReason 2)",
      mutation=mutation("the PIR signature loses a bit", es10(0xBF36), flip(-1)))
def initialise_bad_signature(s: Session) -> None:
    bpp_error(s, lambda seg: _flip_in(seg, b"\xbf\x36", -1), BPP_INIT, REASON_SIGNATURE)


@case("TC_eUICC_ES8+.ConfigureISDP#E01", group="Download", title="ConfigureISDP segment altered: PIR security error at command 1",
      clause="SGP.22 §5.5.2, §2.6.4 (SCP03t MAC), §5.7.6 (errorReason 8)",
      mutation=mutation("the PIR signature loses a bit", es10(0xA0), flip(-1)))
def configure_bad_mac(s: Session) -> None:
    bpp_error(s, lambda seg: _flip_in(seg, b"\xa0", 8), BPP_CONFIGURE, REASON_SECURITY)


@case("TC_eUICC_ES8+.StoreMetadata#E01", group="Download", title="an ICCID already on the card: installFailedDueToIccidAlreadyExistsOnEuicc",
      clause="SGP.22 §5.5.3, §5.7.6 (errorReason 9)",
      mutation=mutation("the PIR signature loses a bit", es10(0x88), flip(-1)))
def store_metadata_exists(s: Session) -> None:
    server = s.env.smdp("plain") if s.env else None
    s.require(bool(server and server.exists_id), "no order for the described ICCID")
    bpp_error(s, None, BPP_METADATA, REASON_ICCID_EXISTS, server.exists_id)  # type: ignore[union-attr]


@case("TC_eUICC_ES8+.LoadProfileElements#E01", group="Download", title="metadata ICCID differs from the package's: installFailedDueToDataMismatch",
      clause="SGP.22 §5.5.4, §5.7.6 (errorReason 13)",
      mutation=mutation("the PIR signature loses a bit", es10(0x86), flip(-1)))
def metadata_mismatch(s: Session) -> None:
    bpp_error(s, None, BPP_LOAD_ELEMENTS, REASON_DATA_MISMATCH, kind="mismatch")


def rat_allows(s: Session) -> set[str]:
    """The PPRs some rule of the card's RAT allows for any operator (SGP.22 §2.9.2.2: mccMnc 'EEEEEE')."""
    s.step("ES10b.GetRAT")
    rules = s.es10("GetRatRequest", {}, "GetRatResponse")["rat"]
    allowed: set[str] = set()
    for rule in rules:
        if any(op.get("mccMnc", b"").upper() == b"\xee\xee\xee" for op in rule["allowedOperators"]):
            bits, count = rule["pprIds"]
            allowed |= {name for n, name in ((1, "ppr1"), (2, "ppr2")) if n < count and bits[n // 8] & (0x80 >> (n % 8))}
    return allowed


@case("TC_eUICC_ES8+.StoreMetadata#E02", group="Download", title="a PPR the RAT does not allow: pprNotAllowed",
      clause="SGP.22 §2.9.2.3, §5.5.3, §5.7.6 (errorReason 15)",
      mutation=mutation("the PIR signature loses a bit", es10(0x88), flip(-1)))
def ppr_not_allowed(s: Session) -> None:
    refused = [p for p in PPRS if p not in rat_allows(s)]
    s.require(bool(refused), "the card's RAT allows PPR1 and PPR2 for every operator")
    s.note(f"the RAT does not allow {refused[0]}")
    bpp_error(s, None, BPP_METADATA, REASON_PPR, kind=refused[0])


@case("TC_eUICC_ES10c.DeleteProfile#E03", group="Download", title="a profile with PPR2: disallowedByPolicy, still listed",
      clause="SGP.22 §2.9.1 (PPR2), §5.7.18 (deleteResult 3)",
      restores=f"none: leaves the PPR2 profile {PPR_ICCID} installed and disabled (a later run reuses it)",
      mutation=mutation("deleteResult becomes ok", es10(0xBF33), replace(bytes.fromhex("BF3303800100"))))
def delete_ppr2(s: Session) -> None:
    s.require("ppr2" in rat_allows(s), "the card's RAT does not allow PPR2")
    s.step("ES10c.GetProfilesInfo")
    present = any(p.get("iccid") == iccid_bytes(PPR_ICCID) for p in s.profiles())
    if not present:
        call = SmdpCall.initiated(s, "ppr2")
        call.authenticated(s)
        call.prepared(s)
        kind, final = call.load(s, call.bound_profile_package(s))["finalResult"]
        s.check(kind == "successResult", f"the PPR2 profile was not installed: {final}")
    profile = next(p for p in s.profiles() if p.get("iccid") == iccid_bytes(PPR_ICCID))
    s.require(profile.get("profileState") == 0, "the PPR2 profile is enabled")
    s.check(delete(s, ("iccid", iccid_bytes(PPR_ICCID))) == DISALLOWED, "DeleteProfile of a PPR2 profile was not refused")
    s.check(any(p.get("iccid") == iccid_bytes(PPR_ICCID) for p in s.profiles()), "the PPR2 profile is gone")
