"""ES4A (operator -> SM-SR: PLMA and ONC management, SGP.02 v4.2 §5.5A) and the SM-SR's
notifications to the operator and the M2M SP (§3.x "notification of profile state changes",
ES4 Handle*Notification functions, notification style).

- PLMA (Profile Lifecycle Management Authorisation): the operator grants an M2M SP the ES4
  functions it may run on the operator's profiles; without one the M2M SP is refused
  (Failed 8.2.1 1.2).
- ONC (Operator Notification Configuration): the notifications a party does not want; no ONC
  means every notification.
- Notifications: HandleProfileEnabledNotification, HandleProfileDisabledNotification,
  HandleProfileDeletedNotification and the Fall-Back / Emergency attribute Set/Unset ones
  (:mod:`tools.m2m_services.profile_events`) {Eid, Iccid, CompletionTimestamp} to the profile's
  operator and to the M2M SP that asked, at the endpoints configured for them (out of band).

The element names of the PLMA/ONC groups (``Plma`` {``M2MSPId``, ``AllowedOperation``*}, ``Onc``
{``ExcludedNotification``*}) are not in a readable source: our own, documented here.
"""
from __future__ import annotations

import logging

from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.notification_names import ATTRIBUTE_NOTIFICATIONS
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.status import FunctionFailed, timestamp
from tools.m2m_services.tls import TlsFiles
from tools.m2m_services.transport import Provider, Requester, RequesterError

log = logging.getLogger(__name__)
ENABLED, DISABLED, DELETED = ("HandleProfileEnabledNotification", "HandleProfileDisabledNotification",
                              "HandleProfileDeletedNotification")
SMSR_CHANGED = "HandleSMSRChangeNotification"
"""ES4 notification of the new SM-SR to the operators of the eUICC's profiles after an SM-SR change
(SGP.02 §3.8 last step; name [C NJIWA ES4 / WHTY message types])."""
NOTIFICATIONS = (ENABLED, DISABLED, DELETED, SMSR_CHANGED) + ATTRIBUTE_NOTIFICATIONS
PLMA_OPERATIONS = ("GetEIS", "AuditEIS", "EnableProfile", "DisableProfile", "DeleteProfile", "SetFallBackAttribute",
                   "SetEmergencyProfileAttribute")
"""ES4 functions a PLMA can grant (POL2 stays the operator's)."""


class Es4a:
    """The ES4A functions of an SM-SR over its store."""

    def __init__(self, store: SmsrStore) -> None:
        self.store = store

    def register(self, provider: Provider) -> None:
        for name in ("SetPLMA", "GetPLMA", "SetONC", "GetONC"):
            provider.register("ES4A", name, getattr(self, "do_" + name))

    @staticmethod
    def _requester(request: Envelope) -> str:
        requester = request.get("FunctionRequesterIdentifier")
        if not requester:
            raise FunctionFailed("1.1", "2.2", "FunctionRequesterIdentifier missing")
        return requester

    def do_SetPLMA(self, request: Envelope) -> list[Field]:  # noqa: N802 (spec name)
        plma = request.group("Plma")
        values = [(n, v) for n, v in plma or [] if isinstance(v, str)]
        m2msp = next((v for n, v in values if n == "M2MSPId"), None)
        operations = [v for n, v in values if n == "AllowedOperation"]
        if not m2msp:
            raise FunctionFailed("1.6", "2.2", "Plma/M2MSPId missing")
        unknown = sorted(set(operations) - set(PLMA_OPERATIONS))
        if unknown:
            raise FunctionFailed("1.6", "2.1", f"operations a PLMA cannot grant: {unknown}")
        self.store.set_plma(self._requester(request), m2msp, operations)
        return []

    def do_GetPLMA(self, request: Envelope) -> list[Field]:  # noqa: N802
        return [("Plma", [("MnoId", mno), ("M2MSPId", sp), *[("AllowedOperation", o) for o in ops]])
                for mno, sp, ops in self.store.plmas(self._requester(request))]

    def do_SetONC(self, request: Envelope) -> list[Field]:  # noqa: N802
        excluded = [v for n, v in request.group("Onc") or [] if n == "ExcludedNotification" and isinstance(v, str)]
        unknown = sorted(set(excluded) - set(NOTIFICATIONS))
        if unknown:
            raise FunctionFailed("1.6", "2.1", f"unknown notifications: {unknown}")
        self.store.set_onc(self._requester(request), excluded)
        return []

    def do_GetONC(self, request: Envelope) -> list[Field]:  # noqa: N802
        return [("Onc", [("ExcludedNotification", n) for n in self.store.onc(self._requester(request))])]


class Notifier:
    """Sends the profile notifications; a party without an endpoint, or one that excluded the
    notification in its ONC, gets none.  A failed delivery is logged (the function stays done)."""

    def __init__(self, store: SmsrStore, endpoints: dict[str, str], identifier: str, own_address: str,
                 tls: TlsFiles | None = None) -> None:
        self.store, self.endpoints = store, endpoints
        self.identifier, self.own_address, self.tls = identifier, own_address, tls

    def send(self, eid: str, record: ProfileRecord, notification: str, requester: str | None) -> None:
        recipients = {record.mno, requester} - {None}
        for party in sorted(recipients):
            url = self.endpoints.get(party)
            if url is None or notification in self.store.onc(party):
                continue
            try:
                Requester(url, self.identifier, self.own_address, tls=self.tls, timeout=10).notify(
                    "ES4", notification, [("Eid", eid), ("Iccid", record.iccid or ""),
                                          ("CompletionTimestamp", timestamp())])
            except RequesterError as exc:
                log.warning("%s to %s not delivered: %s", notification, party, exc)
