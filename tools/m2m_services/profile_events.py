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

The attribute notification names are settings (:mod:`tools.m2m_services.notification_names`).
"""
from __future__ import annotations

from tools.m2m_services.es4a import DISABLED, ENABLED
from tools.m2m_services.notification_names import EMERGENCY_SET, EMERGENCY_UNSET, FALLBACK_SET, FALLBACK_UNSET
from tools.m2m_services.smsr_store import ProfileRecord
from tools.smsr.eis import Eis
from tools.smsr.mo import Notification
from tools.m2m_services.binding import Envelope, Field

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

    def network_event(self, eid: str, statuses: list[int]) -> list[Event]:
        """The device reports its network to the card (TS 102 223 §7.5.4 EVENT DOWNLOAD - Location
        status, e.g. 'no service' then 'normal service'): the SM-SR service holds the card's only
        terminal, so the device side of a test runs through it.  What the eUICC notifies by itself
        (Fall-Back activated, rollback, its own profile change) is confirmed (ES5
        HandleNotificationConfirmation), written to the EIS and forwarded; returns what was sent."""
        with self.card(eid) as (smsr, doc):
            enabled = doc.eis.enabled()
            before = enabled.isdp_aid.hex().upper() if enabled else None
            for status in statuses:
                smsr.terminal.location_status(status)   # sent when the card registered the event
            notifications = smsr.confirm_all()
        events = card_events(notifications, self.store.profiles(eid), before)
        for record, name in events:
            self.notifier.send(eid, record, name, None)
        return events
