"""Notifications of the eUICC: SGP.22 v2.5 §3.5 (Notifications), §5.7.9 ListNotification,
§5.7.10 RetrieveNotificationsList, §5.7.11 RemoveNotificationFromList.

Each pending notification is stored as the DER of its ``PendingNotification`` (a BF37
ProfileInstallationResult, or an OtherSignedNotification signed by the eUICC) under
``rsp/notification/<seqNumber>``.  seqNumber comes from one eUICC-wide counter that never goes
back (§3.5); notifications stay until the LPA removes them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.nvm import Store
from euicc.rsp import der
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context


# NotificationEvent bits (first octet of the BIT STRING)
INSTALL, ENABLE, DISABLE, DELETE = 0x80, 0x40, 0x20, 0x10




def next_seq(store: Store) -> int:
    seq = store.get(rsp_keys.NOTIFICATION_SEQ, 0) + 1
    store.put(rsp_keys.NOTIFICATION_SEQ, seq)
    return seq


def metadata(seq: int, event: int, address: str, iccid: bytes | None) -> dict:
    """NotificationMetadata (BF2F) value."""
    value = {"seqNumber": seq, "profileManagementOperation": der.int_to_bits(event, 4),
             "notificationAddress": address}
    if iccid is not None:
        value["iccid"] = iccid
    return value


def add(store: Store, seq: int, pending: bytes) -> None:
    """Keep one PendingNotification (DER) under its seqNumber."""
    store.put(rsp_keys.notification(seq), pending)


def add_signed(store: Store, identity: EuiccIdentity, ci_pkid: bytes | None, event: int,
               address: str, iccid: bytes) -> None:
    """OtherSignedNotification (§3.5, §5.7.10): NotificationMetadata signed by the eUICC."""
    cred = identity.credential(ci_pkid) if ci_pkid else identity.credentials[0]
    seq = next_seq(store)
    meta = metadata(seq, event, address, iccid)
    signature = cred.sign(der.encode("NotificationMetadata", meta))
    pending = ("otherSignedNotification", {
        "tbsOtherNotification": meta, "euiccNotificationSignature": signature,
        "euiccCertificate": der.decode_certificate(cred.cert_euicc),
        "eumCertificate": der.decode_certificate(cred.cert_eum)})
    add(store, seq, der.encode("PendingNotification", pending))


def for_profile(store: Store, identity: EuiccIdentity, event: int,
                config: tuple[tuple[int, str], ...], iccid: bytes) -> None:
    """One notification per notificationConfigurationInfo entry asking for ``event`` (§3.5)."""
    for events, address in config:
        if events & event:
            add_signed(store, identity, None, event, address, iccid)


def _entries(store: Store) -> list[tuple[int, tuple[str, dict]]]:
    out = []
    for key in store.keys(rsp_keys.NOTIFICATIONS):
        pending = der.decode_stored("PendingNotification", store.get(key))
        out.append((int(key[len(rsp_keys.NOTIFICATIONS):]), pending))
    return out


def _meta_of(pending: tuple[str, dict]) -> dict:
    kind, value = pending
    if kind == "profileInstallationResult":
        return value["profileInstallationResultData"]["notificationMetadata"]
    return value["tbsOtherNotification"]


def list_notification(ctx: Context, data: bytes) -> bytes:
    """ES10b.ListNotification BF28 (§5.7.9): metadata, optionally filtered by operation."""
    request = der.decode("ListNotificationRequest", data)
    wanted = request.get("profileManagementOperation")
    mask = der.bits_to_int(wanted) if wanted is not None else None
    metas = [_meta_of(p) for _, p in _entries(ctx.store)]
    if mask is not None:
        metas = [m for m in metas if der.bits_to_int(m["profileManagementOperation"]) & mask]
    return der.encode("ListNotificationResponse", ("notificationMetadataList", metas))


def retrieve_notifications_list(ctx: Context, data: bytes) -> bytes:
    """ES10b.RetrieveNotificationsList BF2B (§5.7.10): by seqNumber or operation, or all.

    A search that matches nothing gives ``noResultAvailable`` (1); no criteria and no
    notifications gives an empty list."""
    request = der.decode("RetrieveNotificationsListRequest", data)
    entries = _entries(ctx.store)
    criteria = request.get("searchCriteria")
    if criteria is not None:
        kind, value = criteria
        if kind == "seqNumber":
            entries = [(s, p) for s, p in entries if s == value]
        else:
            mask = der.bits_to_int(value)
            entries = [(s, p) for s, p in entries
                       if der.bits_to_int(_meta_of(p)["profileManagementOperation"]) & mask]
        if not entries:
            return der.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    return der.encode("RetrieveNotificationsListResponse",
                      ("notificationList", [p for _, p in entries]))


def remove_notification_from_list(ctx: Context, data: bytes) -> bytes:
    """ES10b.RemoveNotificationFromList BF30 (§5.7.11): ok (0) or nothingToDelete (1)."""
    request = der.decode("NotificationSentRequest", data)
    key = rsp_keys.notification(request["seqNumber"]) if request["seqNumber"] >= 0 else None
    if key is None or key not in ctx.store:
        status = 1
    else:
        ctx.store.delete(key)
        status = 0
    return der.encode("NotificationSentResponse", {"deleteNotificationStatus": status})


FUNCTIONS = {0xBF28: list_notification, 0xBF2B: retrieve_notifications_list,
             0xBF30: remove_notification_from_list}
