"""ES10b functions that need no SM-DP+ (SGP.22 v2.5 §5.7.7-§5.7.14): eUICC information,
challenges, notifications, CancelSession without a session.

Identifiers: ``TC_eUICC_ES10b.<Function>#<sequence>``, SGP.23's pattern with our sequence labels.
Expected values: the SVN and the trusted CI (PKIds of the described CI certificates) of the card
description, result codes of the SGP.22 ``RSPDefinitions`` module.
"""
from __future__ import annotations

import os

from tools import ber_tlv as tlv
from tools.conformance.mutation import es10, flip, flip_value_of, mutation, replace
from tools.conformance.model import Fail, case
from tools.conformance.session import Session

INSTALL, ENABLE, DISABLE, DELETE = 0, 1, 2, 3   # NotificationEvent bits


def info1(s: Session) -> dict:
    s.step("ES10b.GetEUICCInfo1")
    return s.es10("GetEuiccInfo1Request", {}, "EUICCInfo1")


def info2(s: Session) -> dict:
    s.step("ES10b.GetEUICCInfo2")
    return s.es10("GetEuiccInfo2Request", {}, "EUICCInfo2")


def check_ci_lists(s: Session, info: dict, what: str) -> None:
    wanted = s.card.trusted_ci_pkids()
    s.require(bool(wanted), "the card description names no trusted CI")
    for field in ("euiccCiPKIdListForVerification", "euiccCiPKIdListForSigning"):
        missing = [k.hex().upper() for k in wanted if k not in info[field]]
        s.check(not missing, f"{what} {field} lacks the described CI PKId(s) {missing}")


@case("TC_eUICC_ES10b.GetEUICCInfo1#01", group="ES10b", title="EUICCInfo1: SVN and CI PKId lists as described",
      clause="SGP.22 §5.7.8, §4.3 (EUICCInfo1)",
      mutation=mutation("the SVN's minor version changes", es10(0xBF20), flip_value_of(0x82, 1)))
def get_info1(s: Session) -> None:
    info = info1(s)
    s.check(tuple(info["svn"]) == s.card.svn, f"svn {tuple(info['svn'])}, described {s.card.svn}")
    check_ci_lists(s, info, "EUICCInfo1")


@case("TC_eUICC_ES10b.GetEUICCInfo2#01", group="ES10b", title="EUICCInfo2: mandatory fields, SVN, CI lists, extCardResource",
      clause="SGP.22 §5.7.8, §4.3 (EUICCInfo2), ETSI TS 102 226 §8.2.1.3.2 (extended card resource)",
      mutation=mutation("the answer is cut short", es10(0xBF22), lambda d, sw: (d[:3] + d[3:20], sw)))
def get_info2(s: Session) -> None:
    info = info2(s)
    s.check(tuple(info["svn"]) == s.card.svn, f"svn {tuple(info['svn'])}, described {s.card.svn}")
    check_ci_lists(s, info, "EUICCInfo2")
    try:
        resource = dict(tlv.split(info["extCardResource"]))
    except tlv.TlvError as exc:
        raise Fail(f"extCardResource is not TLV: {exc}") from None
    s.check({0x81, 0x82, 0x83} <= set(resource), f"extCardResource lacks 81/82/83: {sorted(hex(t) for t in resource)}")
    s.summary = f"free NVM {int.from_bytes(resource[0x82], 'big')} bytes"


@case("TC_eUICC_ES10b.GetEUICCInfo2#02", group="ES10b", title="EUICCInfo1 and EUICCInfo2 agree (SVN, CI lists)",
      clause="SGP.22 §5.7.8",
      mutation=mutation("EUICCInfo1's SVN changes", es10(0xBF20), flip_value_of(0x82, 2)))
def info1_vs_info2(s: Session) -> None:
    one, two = info1(s), info2(s)
    for field in ("svn", "euiccCiPKIdListForVerification", "euiccCiPKIdListForSigning"):
        s.check(one[field] == two[field], f"{field} differs between EUICCInfo1 and EUICCInfo2")


@case("TC_eUICC_ES10b.GetEUICCChallenge#01", group="ES10b", title="a 16-byte challenge, fresh at each call",
      clause="SGP.22 §5.7.7",
      mutation=mutation("the challenge repeats", es10(0xBF2E), replace(bytes.fromhex("BF2E1280100102030405060708090A0B0C0D0E0F10"))))
def challenge(s: Session) -> None:
    got = []
    for n in range(2):
        s.step(f"ES10b.GetEUICCChallenge #{n + 1}")
        got.append(s.es10("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"])
    s.check(all(len(c) == 16 for c in got), "challenge is not 16 bytes")
    s.check(got[0] != got[1], "two challenges are equal")


def list_notifications(s: Session, operation: int | None = None) -> list[dict]:
    s.step("ES10b.ListNotification" + ("" if operation is None else f" operation {operation}"))
    request = {} if operation is None else {"profileManagementOperation": (bytes([0x80 >> operation]), operation + 1)}
    kind, value = s.es10("ListNotificationRequest", request, "ListNotificationResponse")
    s.check(kind == "notificationMetadataList", f"ListNotification answered {kind} {value}")
    return value


def operation_of(meta: dict) -> int:
    bits, _ = meta["profileManagementOperation"]
    return next((n for n in range(4) if bits[0] & (0x80 >> n)), -1)


@case("TC_eUICC_ES10b.ListNotification#01", group="ES10b", title="the list decodes; sequence numbers are unique",
      clause="SGP.22 §5.7.9",
      mutation=mutation("an error is answered", es10(0xBF28), replace(bytes.fromhex("BF280381017F"))))
def list_all(s: Session) -> None:
    metas = list_notifications(s)
    numbers = [m["seqNumber"] for m in metas]
    s.check(len(set(numbers)) == len(numbers), f"sequence numbers repeat: {numbers}")
    s.summary = f"{len(metas)} pending notification(s)"


@case("TC_eUICC_ES10b.ListNotification#02", group="ES10b", title="filtered by operation: only that operation",
      clause="SGP.22 §5.7.9 (profileManagementOperation)",
      mutation=mutation("an entry with another operation is added", es10(0xBF28),
                        replace(bytes.fromhex("BF2814A012BF2F0F800101810206400C0474657374"))))
def list_filtered(s: Session) -> None:
    for operation in (INSTALL, ENABLE, DISABLE, DELETE):
        metas = list_notifications(s, operation)
        wrong = [m["seqNumber"] for m in metas if operation_of(m) != operation]
        s.check(not wrong, f"filter {operation} listed notification(s) {wrong} of another operation")


@case("TC_eUICC_ES10b.RetrieveNotificationsList#01", group="ES10b", title="pending notifications match the list",
      clause="SGP.22 §5.7.10",
      mutation=mutation("an error is answered", es10(0xBF2B), replace(bytes.fromhex("BF2B03810101"))))
def retrieve_all(s: Session) -> None:
    numbers = sorted(m["seqNumber"] for m in list_notifications(s))
    s.step("ES10b.RetrieveNotificationsList")
    kind, value = s.es10("RetrieveNotificationsListRequest", {}, "RetrieveNotificationsListResponse")
    s.check(kind == "notificationList", f"answered {kind} {value}")
    got = sorted(seq_of(n) for n in value)
    s.check(got == numbers, f"retrieved {got}, listed {numbers}")


def seq_of(pending: tuple[str, dict]) -> int:
    kind, value = pending
    meta = (value["profileInstallationResultData"]["notificationMetadata"] if kind == "profileInstallationResult"
            else value["tbsOtherNotification"])
    return meta["seqNumber"]


@case("TC_eUICC_ES10b.RetrieveNotificationsList#E01", group="ES10b", title="an unknown sequence number: no notification",
      clause="SGP.22 §5.7.10 (searchCriteria seqNumber)",
      mutation=mutation("a notification is answered", es10(0xBF2B),
                        replace(bytes.fromhex("BF2B1AA018BF2F15800400FFFFFF810206400C0474657374"))))
def retrieve_unknown(s: Session) -> None:
    s.step("ES10b.RetrieveNotificationsList seqNumber 7FFFFF00")
    kind, value = s.es10("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", 0x7FFFFF00)},
                         "RetrieveNotificationsListResponse")
    s.check(kind != "notificationList" or value == [], f"answered notification(s) {value}")


@case("TC_eUICC_ES10b.RemoveNotificationFromList#E01", group="ES10b", title="an unknown sequence number: nothingToDelete",
      clause="SGP.22 §5.7.11",
      mutation=mutation("deleteNotificationStatus ok", es10(0xBF30), replace(bytes.fromhex("BF3003800100"))))
def remove_unknown(s: Session) -> None:
    s.step("ES10b.RemoveNotificationFromList seqNumber 7FFFFF00")
    status = s.es10("NotificationSentRequest", {"seqNumber": 0x7FFFFF00}, "NotificationSentResponse")
    s.check(status["deleteNotificationStatus"] == 1, f"deleteNotificationStatus {status['deleteNotificationStatus']}, expected 1")


@case("TC_eUICC_ES10b.CancelSession#E01", group="ES10b", title="no session: invalidTransactionId",
      clause="SGP.22 §5.7.14",
      mutation=mutation("cancelSessionResponseError becomes undefinedError", es10(0xBF41), flip(-1, 0x7A)))
def cancel_no_session(s: Session) -> None:
    s.step("ES10b.CancelSession, random transactionId")
    kind, value = s.es10("CancelSessionRequest", {"transactionId": os.urandom(16), "reason": 0}, "CancelSessionResponse")
    s.check(kind == "cancelSessionResponseError" and value == 5, f"answered {kind} {value}, expected error 5")


@case("TC_eUICC_ES10b.AuthenticateServer#E05", group="ES10b", title="no challenge asked: noSessionContext or a refusal",
      clause="SGP.22 §5.7.13 (noSessionContext 4)",
      mutation=mutation("authenticateResponseError becomes 127", es10(0xBF38), flip(-1, 0x7B)))
def authenticate_without_challenge(s: Session) -> None:
    from tools.conformance.lpa_flow import SmdpCall  # a real server message, then no challenge on the card
    call = SmdpCall.initiated(s)
    s.reset()   # the card forgets its challenge
    kind, value = call.authenticate_server(s)
    s.check(kind == "authenticateResponseError", f"AuthenticateServer without a challenge answered {kind}")
    s.check(value["authenticateErrorCode"] in (4, 6), f"error {value['authenticateErrorCode']}, expected 4 (or 6)")
