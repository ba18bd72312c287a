"""Notifications of the eUICC: SGP.22 v2.5 §3.5 (Notifications), §5.7.9 ListNotification,
§5.7.10 RetrieveNotificationsList, §5.7.11 RemoveNotificationFromList.

Each pending notification is stored as the DER of its ``PendingNotification`` (a BF37
ProfileInstallationResult, or an OtherSignedNotification signed by the eUICC) under
``rsp/notification/<seqNumber>``.  seqNumber comes from one eUICC-wide counter that never goes
back (§3.5); notifications stay until the LPA removes them.  SGP.22 v3.1 adds the RPM events
(notificationRpmEnable/Disable/Delete, :data:`RPM_EVENTS`) and the eUICC's signed RPM result
(``loadRpmPackageResultSigned`` 'A1', :mod:`euicc.rsp.rpm`), listed, retrieved (exactly as
stored) and removed like the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.crypto.cert_identity import EuiccIdentity
from euicc.nvm import Store
from euicc.rsp import der
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context


# NotificationEvent bits (first octet of the BIT STRING)
INSTALL, ENABLE, DISABLE, DELETE = 0x80, 0x40, 0x20, 0x10
# SGP.22 v3.1 NotificationEvent: notificationRpmEnable (4) .. loadRpmPackageResult (7)
RPM_ENABLE, RPM_DISABLE, RPM_DELETE, LOAD_RPM_PACKAGE_RESULT = 0x08, 0x04, 0x02, 0x01
LOAD_RPM_PACKAGE_RESULT_TAG = 0xA1     # PendingNotification loadRpmPackageResultSigned [1] (v3.1)


@dataclass(frozen=True)
class ProfileEvents:
    """The events an enable / disable / delete is notified as: local (ES10c) or RPM (v3.1 §3.7)."""

    enable: int
    disable: int
    delete: int


LOCAL_EVENTS = ProfileEvents(ENABLE, DISABLE, DELETE)
RPM_EVENTS = ProfileEvents(RPM_ENABLE, RPM_DISABLE, RPM_DELETE)




def next_seq(store: Store) -> int:
    seq = store.get(rsp_keys.NOTIFICATION_SEQ, 0) + 1
    store.put(rsp_keys.NOTIFICATION_SEQ, seq)
    return seq


def metadata(seq: int, event: int, address: str, iccid: bytes | None) -> dict:
    """NotificationMetadata (BF2F) value."""
    value = {"seqNumber": seq, "profileManagementOperation": der.int_to_bits(event, 8),
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


def _entries(store: Store) -> list[tuple[int, tuple[str, dict], bytes]]:
    """(seqNumber, decoded PendingNotification, its DER as stored); an RPM result (v3.1 only) is
    decoded with the v3.1 module."""
    out = []
    for key in store.keys(rsp_keys.NOTIFICATIONS):
        raw = store.get(key)
        pending = der.decode_stored("PendingNotification", raw, v3=raw[0] == LOAD_RPM_PACKAGE_RESULT_TAG)
        out.append((int(key[len(rsp_keys.NOTIFICATIONS):]), pending, raw))
    return out


def _meta_of(pending: tuple[str, dict]) -> dict:
    kind, value = pending
    if kind == "profileInstallationResult":
        return value["profileInstallationResultData"]["notificationMetadata"]
    if kind == "loadRpmPackageResultSigned":
        return value["loadRpmPackageResultDataSigned"]["notificationMetadata"]
    return value["tbsOtherNotification"]


def list_notification(ctx: Context, data: bytes) -> bytes:
    """ES10b.ListNotification BF28 (§5.7.9): metadata, optionally filtered by operation."""
    request = der.decode("ListNotificationRequest", data)
    wanted = request.get("profileManagementOperation")
    mask = der.bits_to_int(wanted) if wanted is not None else None
    metas = [_meta_of(p) for _, p, _ in _entries(ctx.store)]
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
        kind, value = der.alternative(criteria)
        if kind == "seqNumber":
            entries = [e for e in entries if e[0] == value]
        else:
            mask = der.bits_to_int(value)
            entries = [e for e in entries
                       if der.bits_to_int(_meta_of(e[1])["profileManagementOperation"]) & mask]
        if not entries:
            return der.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    # notificationList: SEQUENCE OF PendingNotification, automatic tag [0] -> 'A0'; each
    # notification goes out exactly as it was signed and stored
    return tlv.tlv(0xBF2B, tlv.tlv(0xA0, b"".join(raw for _, _, raw in entries)))


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
