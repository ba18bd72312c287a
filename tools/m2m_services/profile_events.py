"""What changes a profile's attributes or state without an enable/disable/delete function of its
owner, and the SM-SR notifications that report it (SGP.02 v4.2 §5.5 ES4, §5.4 ES3
Handle*Notification, notification style; forwarded by :class:`tools.m2m_services.es4a.Notifier`,
so the receiver's ONC applies).

- ES4/ES3 SetFallBackAttribute and SetEmergencyProfileAttribute (§3.x, ES5 §4.1.1.x): exactly one
  profile holds each attribute, so setting it on one profile unsets it on the previous holder;
  the new holder's owner gets ``Handle...AttributeSetNotification``, the previous holder's owner
  ``Handle...AttributeUnsetNotification``.  The card refuses the Emergency attribute on the
  Fall-Back profile and the other way round ('6985': Failed, no notification).
- The eUICC's own notifications (SGP.02 §4.1.1.11 'E1', SPEC_NOTES §2.8): '05' profile change
  after Fall-Back (§3.18, the card enabled the Fall-Back profile because the enabled one lost the
  network), '03' profile change failed and rollback (the SM-SR did not confirm a switch in time),
  '02' a profile change the card made itself (return from Fall-Back).  The readable function
  lists have no notification of their own for these: the SM-SR reports the state change they
  made, HandleProfileEnabledNotification for the profile the card enabled and
  HandleProfileDisabledNotification for the one it disabled (a decision, said so in the README).
  '01' (eUICC declaration, first network attachment) changes no profile and is not forwarded.
  They arrive by SMS at the SM-SR's SMSC endpoint (:class:`CardNotifications`).
- The eUICC's own deletions: a profile whose POL1 says "delete when disabled" is deleted by the
  card when the SM-SR confirms the notification of the switch that disabled it (§4.1.1.12: the
  confirmation answer '80' lists the deleted ISD-Ps' '4F' AIDs, which :meth:`SmSr.confirm` drops
  from the EIS).  The SM-SR records the deletion (the store keeps its owners, as for its own
  deletions) and forwards HandleProfileDeletedNotification to the owners (:func:`deleted_by_card`).

The attribute notification names are settings (:mod:`tools.m2m_services.notification_names`).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tools.m2m_services.es4a import DELETED, DISABLED, ENABLED
from tools.m2m_services.notification_names import EMERGENCY_SET, EMERGENCY_UNSET, FALLBACK_SET, FALLBACK_UNSET
from tools.m2m_services.smsr_store import ProfileRecord
from tools.smsr.eis import Eis
from tools.m2m_services.status import FunctionFailed
from tools.smsr.mo import IEI_COMMAND, MoError, Notification, open_command_packet, parse_notification
from tools.smsr.settings import DEFAULT
from tools.smsr.smsr import SmSr
from tools.m2m_services.binding import Envelope, Field

log = logging.getLogger(__name__)

ATTRIBUTES = {"fallback": (FALLBACK_SET, FALLBACK_UNSET), "emergency": (EMERGENCY_SET, EMERGENCY_UNSET)}
"""ProfileInfo attribute -> (set, unset) notification."""
PROFILE_CHANGE, ROLLBACK, FALLBACK = 0x02, 0x03, 0x05
"""eUICC notification types (SPEC_NOTES §2.8) that change which profile is enabled."""

Event = tuple[ProfileRecord, str]


def holder(eis: Eis, attribute: str) -> str | None:
    """ISD-P AID (hex) of the profile holding ``attribute`` ('fallback' or 'emergency')."""
    return next((aid.hex().upper() for aid, info in eis.profiles.items() if getattr(info, attribute)), None)


def attribute_events(records: list[ProfileRecord], attribute: str, before: str | None,
                     after: str | None) -> list[Event]:
    """Set for the new holder, Unset for the previous one (nothing if the holder did not change)."""
    if before == after:
        return []
    by_aid = {r.isdp_aid: r for r in records}
    set_name, unset_name = ATTRIBUTES[attribute]
    out = [(by_aid[after], set_name)] if after in by_aid else []
    return out + ([(by_aid[before], unset_name)] if before in by_aid else [])


def deleted_by_card(smsr: SmSr, eis: Eis, records: list[ProfileRecord],
                    before: Callable[[], object] | None = None) -> list[ProfileRecord]:
    """ES5.HandleNotificationConfirmation of every notification ``smsr`` holds (SGP.02 §4.1.1.12),
    after ``before`` (e.g. the notifications confirmed inside the card's HTTPS sessions); the
    ``records`` whose ISD-P the card deleted under its POL1 in answer (gone from ``eis``)."""
    present = [r for r in records if bytes.fromhex(r.isdp_aid) in eis.profiles]
    if before is not None:
        before()
    smsr.confirm_all()
    return [r for r in present if bytes.fromhex(r.isdp_aid) not in eis.profiles]


def card_events(notifications: list[Notification], records: list[ProfileRecord],
                enabled_before: str | None) -> list[Event]:
    """The state changes the eUICC reported by itself, as Enabled/Disabled notifications, in order.
    ``enabled_before``: the ISD-P AID (hex) enabled before these notifications."""
    by_aid = {r.isdp_aid: r for r in records}
    out: list[Event] = []
    current = enabled_before
    for notification in notifications:
        if notification.type not in (PROFILE_CHANGE, ROLLBACK, FALLBACK) or notification.isdp_aid is None:
            continue
        now = notification.isdp_aid.hex().upper()
        if now == current:
            continue
        if now in by_aid:
            out.append((by_aid[now], ENABLED))
        if current in by_aid:
            out.append((by_aid[current], DISABLED))
        current = now
    return out


class AttributeFunctions:
    """Part of :class:`tools.m2m_services.smsr_service.SmsrService` (uses its ``_eid``,
    ``_profile``, ``_card``, ``_notify``, ``store`` and ``notifier``)."""

    def do_SetFallBackAttribute(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802 (spec name)
        return self._set_attribute(request, interface, "SetFallBackAttribute")

    def do_SetEmergencyProfileAttribute(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        return self._set_attribute(request, interface, "SetEmergencyProfileAttribute")

    def _set_attribute(self, request: Envelope, interface: str, function: str) -> list[Field]:
        """ES4/ES3 SetFallBackAttribute or SetEmergencyProfileAttribute: ES5 to the card, then the
        Set/Unset notifications (PLMA operation = the function's name)."""
        attribute = "fallback" if function == "SetFallBackAttribute" else "emergency"
        eid, _ = self.eid_document(request)
        record = self._profile(request, interface, eid, function)
        with self.card(eid) as (smsr, doc):
            before = holder(doc.eis, attribute)
            aid = bytes.fromhex(record.isdp_aid)
            (smsr.set_fallback_attribute if attribute == "fallback" else smsr.set_emergency_profile_attribute)(aid)
            after = holder(doc.eis, attribute)
        self._notify(request, eid, attribute_events(self.store.profiles(eid), attribute, before, after))
        return []


class CardNotifications:
    """The eUICC's own notifications arriving from the network (part of
    :class:`tools.m2m_services.smsr_service.SmsrService`: uses its ``store``, ``card``, ``notifier``,
    ``_smsr`` and ``_delete``, and the MO state it creates: ``_mo`` reassembler, ``_mo_lock``,
    ``_inbox`` queue, ``_worker`` thread).

    The terminal simulator's SEND SHORT MESSAGE reaches the SMSC endpoint
    (:mod:`tools.m2m_services.smsc`) as an SMS-SUBMIT: a PoR goes to the ES5 packet waiting for it;
    a notification (SGP.02 §4.1.1.11, SCP80 command packet to the ISD-R TAR) is verified with the
    ISD-R key set of the EIS it opens under (RC/CC/DS required, its '4C' EID must be that EIS's) and
    queued; a worker thread confirms it (ES5.HandleNotificationConfirmation, an MT SMS back through
    the terminal), updates the EIS and forwards the state change to the profiles' owners (ONC
    applies).  The profiles the card deleted at the confirmation (POL1) are reported deleted; after a
    '02' (the switch confirmed) the profiles the switch disabled whose POL2 says "delete when
    disabled" are deleted by the SM-SR.  A notification whose sequence number the EIS lists as
    confirmed already (a retry that crossed the confirmation) is confirmed again without forwarding."""

    def receive_sms(self, tpdu: bytes) -> None:
        """One MO SMS-SUBMIT TPDU from the SMSC (MoError when it cannot be read or verified)."""
        with self._mo_lock:
            message = self._mo.add(tpdu)
        if message is None:
            return
        if IEI_COMMAND not in message.ies:
            smsr = self._smsr
            if smsr is None:
                raise MoError("a PoR no ES5 packet waits for")
            smsr.take(message)
            return
        eid, notification = self._open(message.payload)
        self._inbox.put((eid, notification))
        with self._mo_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._confirm_forever, daemon=True, name="card-notifications")
                self._worker.start()

    def wait_notifications(self) -> None:
        """Return once every notification received so far is confirmed and forwarded."""
        self._inbox.join()

    def _open(self, payload: bytes) -> tuple[str, Notification]:
        """The EID and notification of a command packet, verified with that eUICC's ISD-R keys."""
        for eid in self.store.eids():
            doc = self.store.load(eid)
            for keyset in doc.eis.keysets.values() if doc is not None else ():
                try:
                    packet = open_command_packet(keyset, payload, DEFAULT.cc_length)
                    notification = parse_notification(packet.data)
                except MoError:
                    continue
                if packet.spi[0] & 0x03 and packet.tar == DEFAULT.isd_r_tar and notification.eid.hex().upper() == eid:
                    return eid, notification
        raise MoError("a command packet no ISD-R key set of this SM-SR verifies")

    def _confirm_forever(self) -> None:
        while True:
            eid, notification = self._inbox.get()
            try:
                self._confirm(eid, notification)
            except FunctionFailed as failed:
                log.warning("notification %d of %s not confirmed: %s", notification.sequence, eid, failed.status)
            except Exception:  # the worker must live on; the card retries an unconfirmed notification
                log.exception("notification %d of %s", notification.sequence, eid)
            finally:
                self._inbox.task_done()

    def _confirm(self, eid: str, notification: Notification) -> None:
        with self.card(eid) as (smsr, doc):
            records = self.store.profiles(eid)
            again = notification.sequence in doc.eis.notifications
            enabled = doc.eis.enabled()
            before = enabled.isdp_aid.hex().upper() if enabled else None
            smsr.notifications.append(notification)
            deleted = deleted_by_card(smsr, doc.eis, records)
            disabled = [r for r in records if r.pol2.delete_when_disabled
                        and getattr(doc.eis.profiles.get(bytes.fromhex(r.isdp_aid)), "state", "") == "DISABLED"]
            switched = notification.type == PROFILE_CHANGE and not again
            deleted += [r for r in disabled if switched and self._delete(smsr, doc, r)]
        events = [] if again else card_events([notification], records, before)
        for record, name in events + [(r, DELETED) for r in deleted]:
            self.notifier.send(eid, record, name, None)
