"""The SM-DP's side of the profile notifications (SGP.02 v4.2 §5.4 ES3 and §5.3 ES2
Handle*Notification, notification style): the SM-SR's ES3 notification on a profile this SM-DP
downloaded is passed on over ES2 to the operator that ordered the download, at the endpoint
configured for it (out of band).  HandleProfileDeletedNotification also marks the SM-DP's record
DELETED (the deletion may not have come through this SM-DP: ES4 by the operator, POL2 auto-delete).  A notification on a profile the SM-DP does not know, or for an
operator without an endpoint, is logged and dropped (a notification has no one to answer to)."""
from __future__ import annotations

import logging

from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.es4a import DELETED, NOTIFICATIONS
from tools.m2m_services.smdp_store import SmdpStore
from tools.m2m_services.tls import TlsFiles
from tools.m2m_services.transport import Provider, Requester, RequesterError

log = logging.getLogger(__name__)


class Es2Forwarder:
    def __init__(self, store: SmdpStore, endpoints: dict[str, str], identifier: str, own_address: str,
                 tls: TlsFiles | None = None) -> None:
        self.store, self.endpoints, self.identifier, self.own_address, self.tls = (
            store, endpoints, identifier, own_address, tls)

    def register(self, provider: Provider) -> None:
        for name in NOTIFICATIONS:
            provider.register("ES3", name, lambda request, name=name: self.forward(name, request), one_way=True)

    def forward(self, name: str, request: Envelope) -> list[Field]:
        record = self.store.download(request.get("Eid") or "", request.get("Iccid") or "")
        if record is not None and name == DELETED:
            self.store.mark_deleted(record.eid, record.iccid)     # deleted by its operator over ES4, or POL2
        url = self.endpoints.get(record.mno) if record is not None else None
        if url is None:
            log.warning("ES3.%s on %s/%s: no operator endpoint, dropped", name, request.get("Eid"), request.get("Iccid"))
            return []
        skip = ("FunctionRequesterIdentifier", "FunctionCallIdentifier", "ValidityPeriod")
        try:
            Requester(url, self.identifier, self.own_address, tls=self.tls, timeout=10).notify(
                "ES2", name, [f for f in request.fields if f[0] not in skip])
        except RequesterError as exc:
            log.warning("ES2.%s to %s not delivered: %s", name, record.mno, exc)
        return []
