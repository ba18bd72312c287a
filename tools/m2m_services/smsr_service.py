"""The SM-SR as a service: function provider of ES1 (EUM), ES3 (SM-DP) and ES4 (MNO) (SGP.02 v4.2
§5.2, §5.4, §5.5), executing toward the card over ES5 with :class:`tools.smsr.smsr.SmSr` (SCP80
over SMS-PP through the PC/SC terminal).

- POL2 (§3.x policy rules) is checked before anything is sent to the card: a refusal is a
  Failed status (subject POL2, reason 3.8 Refused) and no OTA packet.  POL1 is the card's: its
  refusal ('69E1', SPEC_NOTES §2.2) comes back as Failed too.
- "Delete mandatory when disabled" (POL2 DISABLE Auto-Delete): after the profile is disabled the
  SM-SR deletes it.  The deletion race (§3.x: the card's POL1 may have deleted it already, or
  another DeleteProfile came first) ends as success: the second deletion finds the ISD-P gone
  (not in the EIS any more, or the card answers '6A88' unknown ISD-P).
- The card session is opened on the first function and kept (ES3.SendData chains several
  scripts into one SCP03t session, which a reset would end); one function at a time uses it.
- The EIS and journal live in :class:`SmsrStore` (SCP80 counters written ahead; pause point
  ``SM-SR.ES5.counter-reserved`` right after, :mod:`tools.m2m_services.pause`).
- ``transport="https"``: ES5 goes in HTTPS administration sessions (SCP81) with the card's PSK
  key set from the EIS, the card's HTTPS notifications are taken as the SMS ones
  (:mod:`tools.m2m_services.es5_https`).
- The SM-SR change (ES4 PrepareSMSRChange / SMSRChange, ES7) is :mod:`tools.m2m_services.smsr_change`.
- The attribute functions and the card's own notifications are in
  :mod:`tools.m2m_services.profile_events`, the ES3-only DeleteISDP / UpdateConnectivityParameters
  and the notification routing in :mod:`tools.m2m_services.es3_functions`.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from euicc import tlv
from tools.m2m_services import es3_functions
from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.eis_xml import EisFormatError, eis_fields, parse_eis, parse_subscription_address
from tools.m2m_services.es4a import DELETED, DISABLED, ENABLED, Es4a
from tools.m2m_services.es5_https import HttpsPath
from tools.m2m_services.pol2 import Pol2, Pol2Error
from tools.m2m_services.pause import checkpoint
from tools.m2m_services.profile_events import AttributeFunctions, CardNotifications, deleted_by_card
from tools.m2m_services.smsr_change import SmsrChange, Trust
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore, StoreError
from tools.m2m_services.smsc import RemoteTerminal
from tools.m2m_services.status import CODES, SUCCESS, FunctionFailed
from tools.m2m_services.tls import TlsFiles
from tools.m2m_services.transport import Provider
from tools.m2m_services.validity import check as check_validity
from tools.smsr.cli import connect, disconnect
from tools.smsr.eis import Eis
from tools.smsr.eis_file import EisDocument
from tools.smsr.mo import MoReassembler
from tools.smsr.settings import DEFAULT, tar_of
from tools.smsr.smsr import CHAIN_FIRST, CHAIN_LAST, CHAIN_NEXT, CommandFailed, OtaFailure, SmSr
from tools.terminal import cat
from tools.terminal.link import LinkError

log = logging.getLogger(__name__)
SW_POL1, SW_UNKNOWN_ISDP, SW_CONDITIONS = 0x69E1, 0x6A88, 0x6985
"""ISD-R refusals (SPEC_NOTES §2.2): POL1 forbids, unknown ISD-P, not in the required state."""
POL1_SUBJECT = "8.2.2"
"""Subject code of a POL1 refusal: not in a readable source [U], a setting."""
ES4_FUNCTIONS = ("GetEIS", "AuditEIS", "EnableProfile", "DisableProfile", "DeleteProfile", "UpdatePolicyRules",
                 "SetFallBackAttribute", "UpdateSubscriptionAddress", "SetEmergencyProfileAttribute")
ES3_FUNCTIONS = ES4_FUNCTIONS + ("CreateISDP", "SendData", "ProfileDownloadCompleted") + es3_functions.FUNCTIONS


class WriteAheadEis(Eis):
    """An EIS whose next SCP80 counter is committed to the store before the packet is built."""

    reserve: Callable[[int, int], None] | None = None

    def next_counter(self, kvn: int) -> int:
        if self.reserve is not None:
            self.reserve(kvn, self.counters.get(kvn, 0) + 1)
        return super().next_counter(kvn)


def _write_ahead(eis: Eis, reserve: Callable[[int, int], None]) -> WriteAheadEis:
    out = WriteAheadEis(**{f.name: getattr(eis, f.name) for f in dataclasses.fields(Eis)})
    out.reserve = reserve
    return out


def card_refusal(exc: Exception, what: str) -> FunctionFailed:
    """The Failed status of an ES5 error (card status word, no PoR, reader gone)."""
    if isinstance(exc, CommandFailed):
        if exc.sw == SW_POL1:
            return FunctionFailed(POL1_SUBJECT, "3.8", f"{what}: POL1 of the profile refuses (card answered 69E1)")
        if exc.sw == SW_UNKNOWN_ISDP:
            return FunctionFailed(CODES.isdp, "3.9", f"{what}: the card does not know the ISD-P (6A88)")
        if exc.sw == SW_CONDITIONS:
            return FunctionFailed("8.2.1", "3.5", f"{what}: the card refuses this transition (6985)")
        return FunctionFailed("8.1", "4.2", f"{what}: card answered {exc.sw:04X}")
    return FunctionFailed("8.1", "5.1", f"{what}: eUICC unreachable: {exc}")


class SmsrService(AttributeFunctions, CardNotifications, es3_functions.Es3Functions):
    """The function provider; ``reader`` is the PC/SC reader of the card(s) it manages, or, with
    ``device``, the MT endpoint of the terminal simulator in front of the card
    (:mod:`tools.terminal.sms_network`): ES5 goes there as MT SMS, the card's MO messages come back
    through the SMSC endpoint (:meth:`receive_sms`), and the device, not the SM-SR, reports the network."""

    def __init__(self, store: SmsrStore, reader: str, address: str, identifier: str = "SM-SR",
                 endpoints: dict[str, str] | None = None, tls: TlsFiles | None = None,
                 trust: Trust | None = None, device: str | None = None, transport: str = "sms",
                 https_port: int = 0) -> None:
        self.store, self.reader, self.identifier, self.device = store, reader, identifier, device
        self.https = HttpsPath(https_port) if transport == "https" else None
        self._mo, self._mo_lock = MoReassembler(), threading.Lock()
        self._inbox: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self.provider = Provider(address)
        Es4a(store).register(self.provider)
        self.notifier = es3_functions.RoutedNotifier(store, endpoints or {}, identifier, address, tls)
        self._card_lock = threading.Lock()
        self._smsr: SmSr | None = None
        self.chain_open = False
        self.provider.register("ES1", "RegisterEIS", self.register_eis)
        for interface, functions in (("ES4", ES4_FUNCTIONS), ("ES3", ES3_FUNCTIONS)):
            for function in functions:
                self.provider.register(interface, function,
                                       self.journalled(interface, function, getattr(self, "do_" + function)))
        self.change = SmsrChange(self, trust or Trust(), tls)
        closed = store.close_interrupted()
        if closed:
            log.warning("%d function call(s) were interrupted by a stop of the SM-SR", closed)
        self.change.resolve_all()

    def close(self) -> None:
        """End the HTTPS server's sessions, release the reader (the card session ends)."""
        if self.https is not None:
            self.https.stop()
        disconnect(self._smsr)
        self._smsr = None
        self.chain_open = False

    # -- plumbing ------------------------------------------------------------------------------
    def journalled(self, interface: str, function: str,
                   handler: Callable[[Envelope, str], list[Field]]) -> Callable[[Envelope], list[Field]]:
        """``handler`` with the call journalled (a MessageID seen before is refused, SGP.02 §5.1)."""
        def run(request: Envelope) -> list[Field]:
            eid = request.get("Eid")
            if not self.store.begin_call(request.message_id, interface, function, eid):
                raise FunctionFailed("1.6", "3.3", f"MessageID {request.message_id} was already received")
            status = "Failed"
            try:
                fields = handler(request, interface)
                status = SUCCESS.status
                return fields
            except FunctionFailed as failed:
                status = failed.status.status
                raise
            finally:
                self.store.end_call(request.message_id, status)
        return run

    def eid_document(self, request: Envelope) -> tuple[str, EisDocument]:
        """The EID of the request and its EIS (refused while an SM-SR change of it is under way)."""
        eid = request.get("Eid")
        if not eid:
            raise FunctionFailed("8.1.1", "2.2", "Eid missing")
        self.change.check_access(eid)
        doc = self.store.load(eid)
        if doc is None:
            raise FunctionFailed("8.1.1", "3.9", f"unknown EID {eid}")
        return eid, doc

    def _profile(self, request: Envelope, interface: str, eid: str, operation: str = "") -> ProfileRecord:
        """The profile named by Iccid, which the requester may manage (ES4: its MNO, or an M2M SP the
        MNO's PLMA allows ``operation``; ES3: its SM-DP)."""
        iccid = request.get("Iccid")
        if not iccid:
            raise FunctionFailed("8.2.1", "2.2", "Iccid missing")
        record = self.store.profile_by_iccid(eid, iccid)
        if record is None:
            raise FunctionFailed("8.2.1", "3.9", f"unknown ICCID {iccid}", "Iccid")
        requester = request.get("FunctionRequesterIdentifier")
        owner = record.mno if interface == "ES4" else record.smdp
        delegated = interface == "ES4" and owner is not None and self.store.plma_allows(owner, requester or "", operation)
        if owner is not None and owner != requester and not delegated:
            raise FunctionFailed("8.2.1", "1.2", f"{requester} may not manage profile {iccid}", "Iccid")
        return record

    def eum_of(self, eid: str) -> str | None:
        return self.store.eum(eid)

    @contextmanager
    def card(self, eid: str) -> Iterator[tuple[SmSr, EisDocument]]:
        """The SM-SR on ``eid``'s EIS, attached to the card; the EIS is saved afterwards."""
        with self._card_lock:
            check_validity("ES5 toward the eUICC")       # a call queued behind another, or a later step
            doc = self.store.load(eid)
            if doc is None:
                raise FunctionFailed("8.1.1", "3.9", f"unknown EID {eid}")
            if self.https is not None:
                self.https.check(doc)                # no PSK key set: refused before the card is touched
            doc.eis = _write_ahead(doc.eis, lambda kvn, value: self._reserve(eid, kvn, value))
            try:
                if self._smsr is not None and not self.chain_open and not self._smsr.terminal.link.alive():
                    self.close()                     # another SM-SR process reset the card: a new session
                if self._smsr is None:
                    self._smsr = self._connect(doc)
                else:
                    self._smsr.eis, self._smsr.keyset = doc.eis, doc.active_keyset()
                if self.https is not None:
                    self.https.attach(self._smsr, doc)
                yield self._smsr, doc
            except (OtaFailure, LinkError) as exc:
                self.close()
                raise card_refusal(exc, "ES5") from exc
            except CommandFailed as exc:
                raise card_refusal(exc, exc.args[0].split(":")[0]) from exc
            finally:
                self.store.save(eid, doc)

    def _connect(self, doc: EisDocument) -> SmSr:
        """An SM-SR on ``doc``: at the terminal simulator's MT endpoint, or on its own terminal on the reader."""
        if self.device is None:
            return connect(argparse.Namespace(reader=self.reader), doc)
        smsr = SmSr(doc.eis, doc.active_keyset())
        smsr.attach(RemoteTerminal(self.device))      # type: ignore[arg-type] (the part of Terminal SmSr uses)
        return smsr

    def _reserve(self, eid: str, kvn: int, value: int) -> None:
        self.store.reserve_counter(eid, kvn, value)
        checkpoint("SM-SR.ES5.counter-reserved")

    def _eis(self, eid: str, doc: EisDocument) -> list[Field]:
        return [("Eis", eis_fields(eid, doc, self.store.profiles(eid), None))]

    # -- ES1 -----------------------------------------------------------------------------------
    def register_eis(self, request: Envelope) -> list[Field]:
        """ES1.RegisterEIS (SGP.02 §5.2.1): the EUM hands over a new eUICC's EIS."""
        try:
            eid, eum, doc, records = parse_eis(request.group("Eis"))
            self.store.register(eid, doc, eum or request.get("FunctionRequesterIdentifier") or "", records)
        except (EisFormatError, Pol2Error) as exc:
            raise FunctionFailed("8.1.1", "2.1", f"EIS: {exc}", "Eis") from exc
        except StoreError as exc:
            raise FunctionFailed("8.1.1", "3.3", str(exc), "Eid") from exc
        return []

    # -- ES3 / ES4 -----------------------------------------------------------------------------
    def do_GetEIS(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802 (spec name)
        """GetEIS (§5.4.x/§5.5.x): the EIS as the SM-SR holds it, no card traffic."""
        eid, doc = self.eid_document(request)
        return self._eis(eid, doc)

    def do_AuditEIS(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """AuditEIS: ES5 eUICCCapabilityAudit, then the updated EIS."""
        eid, _ = self.eid_document(request)
        with self.card(eid) as (smsr, doc):
            smsr.audit()
        return self._eis(eid, doc)

    def _store_pol2(self, request: Envelope, record: ProfileRecord) -> None:
        """The request's POL2 becomes the profile's in the EIS ('Failed' 2.1 when it is invalid)."""
        try:
            record.pol2 = Pol2.from_fields(request.group("Pol2") or [])
        except Pol2Error as exc:
            raise FunctionFailed(CODES.pol2, "2.1", str(exc), "Pol2") from exc
        self.store.put_profile(record)

    def do_UpdatePolicyRules(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """UpdatePolicyRules: replace the profile's POL2 in the EIS (no card traffic)."""
        eid, _ = self.eid_document(request)
        record = self._profile(request, interface, eid)
        self._store_pol2(request, record)
        return []

    def do_UpdateSubscriptionAddress(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """UpdateSubscriptionAddress: the profile's MSISDN / IMSI in the EIS (no card traffic)."""
        eid, _ = self.eid_document(request)
        record = self._profile(request, interface, eid)
        try:
            record.imsi, record.msisdn = parse_subscription_address(request.group("NewSubscriptionAddress"))
        except EisFormatError as exc:
            raise FunctionFailed("8.2", "2.1", str(exc), "NewSubscriptionAddress") from exc
        self.store.put_profile(record)
        return []

    def _refuse_by_pol2(self, record: ProfileRecord, action: str) -> None:
        if not record.pol2.allows(action):
            raise FunctionFailed(CODES.pol2, "3.8", f"POL2 of profile {record.iccid} does not allow {action}", "Pol2")

    def _after_switch(self, smsr: SmSr, doc: EisDocument, eid: str, enabled: bytes | None,
                      disabled: list[ProfileRecord]) -> list[ProfileRecord]:
        """After the card executed a switch to ``enabled``.  On its own terminal the SM-SR reports
        the network attachment itself, confirms the card's notifications (the card may delete
        profiles under their POL1 in answer), then deletes the disabled profiles whose POL2 says
        deletion is mandatory when disabled (the race with POL1 ends as success); returns the
        deleted, by the card and by the SM-SR.  Behind a terminal simulator (``device``) the EIS
        takes the switch as the card executed it; the device attaches by itself and the card's
        '02' (confirmed, deletions then) or '03' rollback (reported) comes back over the network."""
        if self.device is not None:
            for info in doc.eis.profiles.values():
                if info.state == "ENABLED":
                    info.state = "DISABLED"
            if enabled is not None:
                doc.eis.profile(enabled).state = "ENABLED"
            return []
        https = self.https
        if https is not None:
            https.end_sessions()
        smsr.terminal.location_status(cat.NORMAL_SERVICE)
        by_card = deleted_by_card(smsr, doc.eis, self.store.profiles(eid),
                                  (lambda: https.notifications(smsr)) if https is not None else None)
        return by_card + [r for r in disabled if r.pol2.delete_when_disabled and self._delete(smsr, doc, r)]

    def _delete(self, smsr: SmSr, doc: EisDocument, record: ProfileRecord) -> bool:
        """ES5.DeleteProfile unless the EIS says the ISD-P is gone; False if another deletion came first."""
        aid = bytes.fromhex(record.isdp_aid)
        if aid not in doc.eis.profiles:
            return False                             # deleted already (POL1 auto-delete, an earlier call)
        try:
            smsr.delete_profile(aid)
        except CommandFailed as exc:
            if exc.sw != SW_UNKNOWN_ISDP:
                raise
            doc.eis.profiles.pop(aid, None)          # the card had deleted it: the race ends as success
        return True

    def _deleted_already(self, request: Envelope, interface: str, eid: str) -> bool:
        """A DeleteProfile by the profile's owner of a profile this SM-SR has deleted already (the
        second of two deletions: seed "The Double-Lock Rulebook", it ends as a success, no OTA)."""
        iccid = request.get("Iccid")
        if not iccid or self.store.profile_by_iccid(eid, iccid) is not None:
            return False
        owners = self.store.deleted_owners(eid, iccid)
        if owners is None:
            return False
        owner = owners[0] if interface == "ES4" else owners[1]
        requester = request.get("FunctionRequesterIdentifier") or ""
        return owner == requester or (interface == "ES4" and owner is not None
                                      and self.store.plma_allows(owner, requester, "DeleteProfile"))

    def _notify(self, request: Envelope, eid: str, events: list[tuple[ProfileRecord, str]]) -> None:
        for record, notification in events:
            self.notifier.send(eid, record, notification, request.get("FunctionRequesterIdentifier"))

    def do_EnableProfile(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """EnableProfile: POL2 ENABLE of the target and DISABLE of the enabled profile, then ES5."""
        eid, doc = self.eid_document(request)
        record = self._profile(request, interface, eid, "EnableProfile")
        self._refuse_by_pol2(record, "ENABLE")
        enabled = doc.eis.enabled()
        previous = self.store.profile_by_aid(eid, enabled.isdp_aid.hex()) if enabled else None
        if previous is not None and previous.isdp_aid != record.isdp_aid:
            self._refuse_by_pol2(previous, "DISABLE")
        with self.card(eid) as (smsr, doc):
            smsr.enable_profile(bytes.fromhex(record.isdp_aid))
            deleted = self._after_switch(smsr, doc, eid, bytes.fromhex(record.isdp_aid),
                                         [previous] if previous else [])
        self._notify(request, eid, [(record, ENABLED)] + ([(previous, DISABLED)] if previous else [])
                     + [(r, DELETED) for r in deleted])
        return []

    def do_DisableProfile(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """DisableProfile: POL2 DISABLE, then ES5 (the fall-back profile becomes enabled)."""
        eid, _ = self.eid_document(request)
        record = self._profile(request, interface, eid, "DisableProfile")
        self._refuse_by_pol2(record, "DISABLE")
        with self.card(eid) as (smsr, doc):
            smsr.disable_profile(bytes.fromhex(record.isdp_aid))
            fallback = next((aid for aid, info in doc.eis.profiles.items() if info.fallback), None)
            deleted = self._after_switch(smsr, doc, eid, fallback, [record])
        self._notify(request, eid, [(record, DISABLED)] + [(r, DELETED) for r in deleted])
        return []

    def do_DeleteProfile(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """DeleteProfile: POL2 DELETE; an enabled profile is refused (disable it first)."""
        eid, doc = self.eid_document(request)
        if self._deleted_already(request, interface, eid):
            return []                                # the deletion race: the profile is gone, success
        record = self._profile(request, interface, eid, "DeleteProfile")
        self._refuse_by_pol2(record, "DELETE")
        info = doc.eis.profiles.get(bytes.fromhex(record.isdp_aid))
        if info is not None and info.state == "ENABLED":
            raise FunctionFailed("8.2.1", "3.5", f"profile {record.iccid} is enabled", "Iccid")
        with self.card(eid) as (smsr, doc):
            deleted = self._delete(smsr, doc, record)
        self._notify(request, eid, [(record, DELETED)] if deleted else [])
        return []

    # -- ES3 only ------------------------------------------------------------------------------
    def do_CreateISDP(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """ES3.CreateISDP (§5.4.x): a new ISD-P for the profile Iccid of MNO Mno-id."""
        eid, _ = self.eid_document(request)
        iccid = request.get("Iccid")
        if not iccid:
            raise FunctionFailed("8.2.1", "2.2", "Iccid missing")
        if self.store.profile_by_iccid(eid, iccid) is not None:
            raise FunctionFailed("8.2.1", "3.3", f"ICCID {iccid} is already on this eUICC", "Iccid")
        memory = request.get("RequiredMemory")
        with self.card(eid) as (smsr, _doc):
            aid = smsr.create_isdp(None, int(memory) if memory and memory.isdigit() else None)
        self.store.put_profile(ProfileRecord(eid, aid.hex().upper(), iccid, request.get("Mno-id"),
                                             request.get("FunctionRequesterIdentifier"), Pol2()))
        return [("Isd-p-aid", aid.hex().upper())]

    def do_SendData(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """ES3.SendData: relay the SM-DP's script items (opaque to the SM-SR: SCP03t or key
        establishment) to the ISD-R or an ISD-P in one SCP80 packet; ``moreToDo`` chains the
        scripts of one session (TS 102 226 §5.2.1).  Answers EuiccResponseData, the response script."""
        eid, doc = self.eid_document(request)
        aid_text, data = request.get("sd-aid") or "", request.get("Data") or ""
        try:
            aid, items = bytes.fromhex(aid_text), bytes.fromhex(data)
            tar = tar_of(aid)
            tlv.parse(items)
        except (ValueError, tlv.TlvError) as exc:
            raise FunctionFailed(CODES.isdp, "2.1", f"sd-aid or Data: {exc}") from exc
        if aid not in doc.eis.profiles and aid != DEFAULT.isdr_aid():
            raise FunctionFailed(CODES.isdp, "3.9", f"unknown ISD-P/ISD-R {aid_text}", "sd-aid")
        more = request.get("moreToDo") == "true"
        chain = (CHAIN_NEXT if self.chain_open else CHAIN_FIRST) if more else (CHAIN_LAST if self.chain_open else None)
        with self.card(eid) as (smsr, _doc):
            self.chain_open = more
            answer = smsr.send_script(tar, [items], chain)
        script = tlv.tlv(0xAB, tlv.tlv(0x80, bytes([answer.executed])) + b"".join(tlv.tlv(t, v) for t, v in answer.items))
        return [("EuiccResponseData", script.hex().upper())]

    def do_ProfileDownloadCompleted(self, request: Envelope, interface: str) -> list[Field]:  # noqa: N802
        """ES3.ProfileDownloadCompleted: the SM-DP reports the profile installed; POL2 and
        subscription data go to the EIS."""
        eid, _ = self.eid_document(request)
        record = self._profile(request, interface, eid)
        self._store_pol2(request, record)
        with self.card(eid) as (smsr, _doc):
            smsr.audit()
        return []
