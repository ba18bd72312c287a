"""Notifications from the eUICC to the SM-SR: SGP.02 v4.2 §3.15 (eUICC declaration, profile
change, rollback, change after Fall-Back) and §4.1.1.12 ES5.HandleNotificationConfirmation.

A notification is ``E1 { 4C EID, 4D type, 4E sequence number, [2F ISD-P AID] }`` (SPEC_NOTES
§2.8) carried in an SCP80 Command Packet to the ISD-R TAR by SEND SHORT MESSAGE.  It is queued
persistently with its sequence number and sent again every ``notification_retry_interval``
seconds (while the terminal reports network attachment) until the SM-SR confirms it — over HTTPS
when ``notification_transport`` is "https" and the SM-SR's HTTPS address is known (a session of
:mod:`euicc.m2m.admin_agent` whose command script carries the confirmation); a profile
switch whose notification is not confirmed within ``validity_period`` is rolled back by
:mod:`euicc.m2m.platform_management`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.m2m import mo_packet
from euicc.m2m.admin_agent import Scp81Agent
from euicc.m2m.records import DECLARED, NOTIFICATION_SEQ, NOTIFICATIONS, SMSR_ADDRESS, PendingNotification
from euicc.m2m.runtime import M2mRuntime
from euicc.m2m.settings import NOTIF_DECLARATION

if TYPE_CHECKING:
    from euicc.context import Context


class NotificationQueue:
    """The persistent queue of unconfirmed notifications (SGP.02 §3.15)."""

    def __init__(self, ctx: Context, runtime: M2mRuntime) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.runtime = runtime

    def pending(self) -> list[PendingNotification]:
        return list(self.store.get(NOTIFICATIONS, ()))

    def _save(self, items: list[PendingNotification]) -> None:
        self.store.put(NOTIFICATIONS, tuple(items))

    def add(self, kind: int, isdp_aid: bytes = b"", rollback_to: bytes = b"",
            delete_on_confirm: bytes = b"") -> PendingNotification:
        """Queue a notification with the next sequence number (2 bytes, wrapping)."""
        seq = (self.store.get(NOTIFICATION_SEQ, 0) % 0xFFFF) + 1
        self.store.put(NOTIFICATION_SEQ, seq)
        items = self.pending()
        if rollback_to:  # a newer switch supersedes the rollback of an older one
            items = [replace(n, rollback_to=b"") for n in items]
        item = PendingNotification(seq, kind, isdp_aid, self.runtime.now_ms(),
                                   rollback_to=rollback_to, delete_on_confirm=delete_on_confirm)
        self._save(items + [item])
        return item

    def remove(self, seq: int) -> PendingNotification:
        items = self.pending()
        found = next((n for n in items if n.seq == seq), None)
        if found is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        self._save([n for n in items if n.seq != seq])
        if found.kind == NOTIF_DECLARATION:
            self.store.put(DECLARED, True)
        return found

    def declare_if_first(self) -> None:
        """Queue the eUICC declaration on the first network attachment of its lifetime."""
        if not self.store.get(DECLARED, False) and not any(
                n.kind == NOTIF_DECLARATION for n in self.pending()):
            self.add(NOTIF_DECLARATION)

    def message(self, item: PendingNotification) -> bytes:
        """The 'E1' notification TLV (SPEC_NOTES §2.8)."""
        body = (tlv.tlv(0x4C, self.ctx.services.eid) + tlv.tlv(0x4D, bytes((item.kind,)))
                + tlv.tlv(0x4E, item.seq.to_bytes(2, "big")))
        if item.isdp_aid:
            body += tlv.tlv(self.runtime.settings.notification_aid_tag, item.isdp_aid)
        return tlv.tlv(0xE1, body)

    def send_due(self, attached: bool) -> int:
        """Send every notification whose retry time has come; returns how many were queued.

        Over SMS each goes as an ISD-R Command Packet by :func:`mo_packet.to_smsr` (SPEC_NOTES §2.8),
        its sequence number as the concatenation reference."""
        settings, now = self.runtime.settings, self.runtime.now_ms()
        if not attached or self.store.get(SMSR_ADDRESS) is None:
            return 0
        sent, items = 0, self.pending()
        agent = self._https_agent()
        for index, item in enumerate(items):
            if item.sends >= settings.notification_max_sends:
                continue
            if item.last_sent >= 0 and now - item.last_sent < settings.notification_retry_interval * 1000:
                continue
            delivered = agent is not None and agent.request_notification(self.ctx, self.message(item), item.seq)
            if not delivered and not mo_packet.to_smsr(self.ctx, settings, self.message(item), item.seq):
                break
            items[index] = replace(item, sends=item.sends + 1, last_sent=now)
            sent += 1
        if sent:
            self._save(items)
        return sent

    def _https_agent(self) -> Scp81Agent | None:
        """The ISD-R's administration agent when notifications go over HTTPS (GP Amd B)."""
        if self.runtime.settings.notification_transport != "https":
            return None
        try:
            return self.ctx.runtime(Scp81Agent)
        except KeyError:
            return None

