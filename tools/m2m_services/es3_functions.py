"""ES3 functions of the SM-SR that have no ES4 twin (SGP.02 v4.2 §5.4), and the ES3 call-back
notifications to the SM-DP (§5.4 Handle*Notification, notification style).

- ES3.DeleteISDP {Eid, Iccid}: the SM-DP removes an ISD-P it had created (typically after a failed
  download, §3.1): ES5 DeleteProfile (DELETE of the ISD-P), only by the SM-DP that created it, not
  when enabled.  No POL2 check and no notification to the operator: the profile never reached the
  operator's hands (a decision; the readable sources do not say).
- ES3.UpdateConnectivityParameters {Eid, Iccid, Data}: the SCP03-protected script of the SM-DP's
  session with the profile's ISD-P (ES8 §4.1.3.4, opaque to the SM-SR, which never has the ISD-P
  keys), relayed to that ISD-P; it ends a TS 102 226 chain the SM-DP opened with ES3.SendData
  (INITIALIZE UPDATE needs the card's answer first).  Answers EuiccResponseData like SendData.
- Notifications: the SM-SR sends a profile's notifications to its operator over ES4 when it has
  an endpoint for the operator, otherwise to the profile's SM-DP over ES3 (which passes them on
  over ES2); never both, so the operator gets each once (a decision).  The operator's ONC applies
  on either path.
"""
from __future__ import annotations

import logging

from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.es4a import Notifier
from tools.m2m_services.smsr_store import ProfileRecord
from tools.m2m_services.status import FunctionFailed, timestamp
from tools.m2m_services.transport import Requester, RequesterError

log = logging.getLogger(__name__)
FUNCTIONS = ("DeleteISDP", "UpdateConnectivityParameters")


class Es3Functions:
    """Part of :class:`tools.m2m_services.smsr_service.SmsrService` (uses its ``_eid``,
    ``_profile``, ``_card``, ``_delete`` and ``do_SendData``)."""

    def do_DeleteISDP(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802 (spec name)
        """ES3.DeleteISDP (see the module docstring)."""
        eid, doc = self.eid_document(request)
        record = self._profile(request, "ES3", eid)
        info = doc.eis.profiles.get(bytes.fromhex(record.isdp_aid))
        if info is not None and info.state == "ENABLED":
            raise FunctionFailed("8.2.1", "3.5", f"the ISD-P of {record.iccid} is enabled", "Iccid")
        with self.card(eid) as (smsr, doc):
            self._delete(smsr, doc, record)
        return []

    def do_UpdateConnectivityParameters(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """ES3.UpdateConnectivityParameters: ES3.SendData's relay to the ISD-P of profile Iccid,
        ending the chain."""
        eid, _ = self.eid_document(request)
        record = self._profile(request, "ES3", eid)
        if not request.get("Data"):
            raise FunctionFailed("8.2", "2.2", "Data (the SCP03-protected script) missing", "Data")
        relayed = [f for f in request.fields if f[0] not in ("sd-aid", "moreToDo", "Iccid")]
        relayed += [("sd-aid", record.isdp_aid), ("moreToDo", "false")]
        return self.do_SendData(Envelope(request.action, "SendData", relayed, message_id=request.message_id), "ES3")


class RoutedNotifier(Notifier):
    """The SM-SR's notifier: ES4 to the operator (and the M2M SP that asked) at their endpoints;
    an operator without one is reached through the profile's SM-DP over ES3."""

    def send(self, eid: str, record: ProfileRecord, notification: str, requester: str | None) -> None:
        if record.mno in self.endpoints or record.smdp not in self.endpoints:
            super().send(eid, record, notification, requester)
            return
        if requester and requester != record.mno:                  # an M2M SP that asked, over ES4
            super().send(eid, ProfileRecord(eid, record.isdp_aid, record.iccid, None, None, record.pol2),
                         notification, requester)
        if record.mno and notification in self.store.onc(record.mno):
            return
        try:
            Requester(self.endpoints[record.smdp], self.identifier, self.own_address, tls=self.tls, timeout=10).notify(
                "ES3", notification, [("Eid", eid), ("Iccid", record.iccid or ""), ("CompletionTimestamp", timestamp())])
        except RequesterError as exc:
            log.warning("ES3.%s to %s not delivered: %s", notification, record.smdp, exc)
