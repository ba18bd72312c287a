"""The four-party SM-SR change between two SM-SR services (GSMA SGP.02 v4.2 §3.8-§3.9; ES4
PrepareSMSRChange / SMSRChange, §5.5; ES7 HandoverEUICC, AuthenticateSMSR, CreateAdditionalKeySet,
§5.6; ES5 EstablishISDRKeySet / FinaliseISDRhandover, §5.4; SPEC_NOTES §2.9).

1. The operator tells the new SM-SR (SM-SR2) with ES4.PrepareSMSRChange {Eid, CurrentSMSRid}.
2. The operator asks the old SM-SR (SM-SR1) with ES4.SMSRChange {Eid, Target-Smsr-id}: SM-SR1 locks
   the EIS for the change and sends it with ES7.HandoverEUICC (no keys: their versions only).
3. SM-SR2 verifies the eUICC certificate chain (CERT.ECASD.ECKA by the EUM, the EUM's certificate by
   the CI), then authenticates to the card through SM-SR1's relay: ES7.AuthenticateSMSR {SmsrCertificate}
   (SM-SR1 sends STORE DATA DGI '3A01'; the card checks CERT.SR to its CI and answers '85' RC) and
   ES7.CreateAdditionalKeySet {CRT fields, ePK, signature over the card's RC} (the card checks the
   signature and installs the key set; SM-SR1 returns the receipt).
4. SM-SR2 derives the key set and verifies the receipt: it stores the EIS with its own key set and is
   in charge.  It deletes SM-SR1's key sets on the card (ES5.FinaliseISDRhandover, under its own key
   set) and answers HandoverEUICC; SM-SR1 retires its EIS record (kept with its old keys and audit log
   in ``retired``) and answers SMSRChange.  SM-SR2 sends ES4.HandleSMSRChangeNotification to the
   operators of the profiles (their ``--notify`` endpoints, filtered by their ONC).

Crash consistency (a kill -9 of either SM-SR at any step): the card arbitrates.  SM-SR1 writes ahead
the KVN it relays.  When HandoverEUICC fails or cannot be answered, or at a restart, SM-SR1 resolves
the change: nothing relayed -> still in charge; else it deletes the relayed key set with its own key
set (success or '6A88' -> still in charge) and, if the card no longer answers its key set (SM-SR2
already deleted it), retires.  SM-SR2 holds the EIS from the verified receipt on, and at a restart or
on the next access finishes FinaliseISDRhandover: success or '6A88' (done before) -> in charge; the
card refusing its new key set (SM-SR1 rolled it back first) -> it drops the EIS.  A lost reader
leaves the change pending until the next try.  Pause points (:mod:`tools.m2m_services.pause`) are
named in ``STEPS``.

Field names of the ES4/ES7 messages follow NJIWA [C NJIWA io/njiwa/sr/ws ES4Impl / ES7]: settings.
The key sets (SCP80 and SCP81, ``KEY_SET_KINDS``), the CRT the old SM-SR rebuilds, the EIS's ES7 form
and the FinaliseISDRhandover items are :mod:`tools.smsr.handover`'s, which the in-process
``euicc-emu smsr change-smsr`` runs too.  Each kind is one AuthenticateSMSR + CreateAdditionalKeySet
pair; SM-SR1 writes ahead every KVN it relays and rolls them back together (one DELETE, which the
card runs all or nothing).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.eis_xml import EisFormatError, eis_fields, key_versions, parse_eis
from tools.m2m_services.es4a import SMSR_CHANGED
from tools.m2m_services.pause import checkpoint
from tools.m2m_services.pol2 import Pol2Error
from tools.m2m_services.smsr_store import EXPECTED, INCOMING, OUTGOING, Handover, StoreError
from tools.m2m_services.status import CODES, FunctionFailed
from tools.m2m_services.tls import TlsFiles
from tools.m2m_services.transport import Requester, RequesterError
from tools.smsr.eis_file import EisDocument
from tools.smsr.gp_certificate import CertificateError, parse_certificate
from tools.smsr.handover import establish_key_sets, finalise_items, relayed_key_agreement
from tools.smsr.key_establishment import KeyEstablishmentError, certificate_command
from tools.smsr.smsr import CHAIN_FIRST, CHAIN_LAST, CommandFailed, OtaFailure

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from tools.m2m_services.es4a import Notifier
    from tools.m2m_services.smsr_store import SmsrStore
    from tools.m2m_services.transport import Provider
    from tools.smsr.smsr import SmSr


class SmsrService(Protocol):
    """What the SM-SR change needs of its SM-SR service (tools.m2m_services.smsr_service), named
    here so that the service imports the change and not the other way round."""

    store: SmsrStore
    provider: Provider
    identifier: str
    notifier: Notifier
    chain_open: bool

    def journalled(self, interface: str, function: str,
                   handler: Callable[[Envelope, str], list[Field]]) -> Callable[[Envelope], list[Field]]: ...

    def card(self, eid: str) -> AbstractContextManager[tuple[SmSr, EisDocument]]: ...

    def close(self) -> None: ...

    def eid_document(self, request: Envelope) -> tuple[str, EisDocument]: ...

    def eum_of(self, eid: str) -> str | None: ...

log = logging.getLogger(__name__)
SW_UNKNOWN_KEY = 0x6A88
"""FinaliseISDRhandover: the key set is not on the card (deleted already, or never installed)."""
KEY_SET_REFUSED = (None, 0x01, 0x05, 0x06)
"""PoR statuses (TS 102 225 §5.2) by which the card says it does not hold the packet's key set: no (or
no readable) PoR, RC/CC/DS failed, ciphering error, unidentified security error (unknown KVN).  A
counter or memory status is not one of them: the change then stays pending."""
SW_CERTIFICATE = (0x6982, 0x6A80)
"""The card refuses CERT.SR (signature not by its CI, or malformed / wrong role)."""
STEPS = (
    "SM-SR1.SMSRChange.locked", "SM-SR1.AuthenticateSMSR.relaying", "SM-SR1.AuthenticateSMSR.relayed",
    "SM-SR1.CreateAdditionalKeySet.relaying",
    "SM-SR1.CreateAdditionalKeySet.relayed", "SM-SR1.HandoverEUICC.answered",
    "SM-SR2.HandoverEUICC.verified", "SM-SR2.AuthenticateSMSR.answered", "SM-SR2.CreateAdditionalKeySet.answered",
    "SM-SR2.in-charge", "SM-SR2.FinaliseISDRhandover.done",
)
"""Pause points, in the order the change reaches them; the AuthenticateSMSR and CreateAdditionalKeySet ones
once per key set kind (``STEP#2``: the SCP81 key set's, :mod:`tools.m2m_services.pause`)."""


def _key_set_refused(error: BaseException | None) -> bool:
    return isinstance(error, OtaFailure) and error.status in KEY_SET_REFUSED


@dataclass
class Trust:
    """What a new SM-SR needs: its SK.SR.ECDSA and CERT.SR.ECDSA ('7F21'), the CI certificate and the
    EUM certificates it accepts (X.509), and the ES7 addresses of the other SM-SRs by identifier."""

    key: ec.EllipticCurvePrivateKey | None = None
    certificate: bytes | None = None
    ci: x509.Certificate | None = None
    eums: list[x509.Certificate] = field(default_factory=list)
    peers: dict[str, str] = field(default_factory=dict)

    def ecasd_key(self, certificate: bytes) -> ec.EllipticCurvePublicKey:
        """PK.ECASD.ECKA once CERT.ECASD.ECKA verifies with an EUM certificate the CI issued
        (SGP.02 §2.3 certificate chain); :class:`FunctionFailed` 8.1 6.1 otherwise."""
        if self.ci is None:
            raise FunctionFailed("8.1", "6.1", "this SM-SR has no CI certificate to verify the eUICC with")
        ecasd = parse_certificate(certificate)
        for eum in self.eums:
            try:
                eum.verify_directly_issued_by(self.ci)
                ecasd.verify(eum.public_key())
                return ecasd.public_key()
            except (ValueError, TypeError, CertificateError):
                continue
        raise FunctionFailed("8.1", "6.1", "the eUICC certificate does not chain to the CI")


class SmsrChange:
    """Both sides of the SM-SR change for one :class:`SmsrService`."""

    def __init__(self, service: SmsrService, trust: Trust, tls: TlsFiles | None) -> None:
        self.service, self.store, self.trust, self.tls = service, service.store, trust, tls
        self._running: set[str] = set()
        """EIDs this process is handing over now (a pending change of any other EID was interrupted)."""
        register = service.provider.register
        register("ES4", "PrepareSMSRChange", service.journalled("ES4", "PrepareSMSRChange", self.prepare))
        register("ES4", "SMSRChange", service.journalled("ES4", "SMSRChange", self.smsr_change))
        register("ES7", "HandoverEUICC", service.journalled("ES7", "HandoverEUICC", self.handover_euicc))
        register("ES7", "AuthenticateSMSR", service.journalled("ES7", "AuthenticateSMSR", self.authenticate_smsr))
        register("ES7", "CreateAdditionalKeySet",
                 service.journalled("ES7", "CreateAdditionalKeySet", self.create_additional_key_set))

    def _requester(self, url: str) -> Requester:
        return Requester(url, self.service.identifier, self.service.provider.address, tls=self.tls)

    # -- resolution after a failure or a restart --------------------------------------------------
    def resolve_all(self) -> None:
        """At start-up: finish or roll back the changes a stop interrupted (module docstring)."""
        for handover in self.store.handovers(OUTGOING) + self.store.handovers(INCOMING):
            try:
                self.resolve(handover)
            except FunctionFailed as failed:
                log.warning("SM-SR change of %s still pending: %s", handover.eid, failed)

    def resolve(self, handover: Handover) -> bool:
        """Settle ``handover``; True if this SM-SR is in charge of the eUICC afterwards."""
        if handover.role == OUTGOING:
            return self._roll_back(handover)
        if handover.role == INCOMING:
            return self._finalise(handover)
        return False

    def _roll_back(self, handover: Handover) -> bool:
        """SM-SR1: delete the key sets it relayed, with its own key set (module docstring)."""
        eid = handover.eid
        if handover.relayed_kvns:
            try:
                with self.service.card(eid) as (smsr, _doc):
                    smsr.finalise_isdr_handover(finalise_items(handover.relayed_kvns))
            except FunctionFailed as failed:
                cause = failed.__cause__
                if _key_set_refused(cause):                  # our key set is gone: SM-SR2 is in charge
                    self.store.retire(eid, handover.peer)
                    self.service.close()
                    log.warning("SM-SR change of %s: the card follows %s now; EIS retired", eid, handover.peer)
                    return False
                if not (isinstance(cause, CommandFailed) and cause.sw == SW_UNKNOWN_KEY):
                    raise
        self.store.end_handover(eid)
        self.service.close()
        return True

    def _finalise(self, handover: Handover) -> bool:
        """SM-SR2: ES5.FinaliseISDRhandover of the old SM-SR's key sets, under the new key set."""
        eid = handover.eid
        try:
            with self.service.card(eid) as (smsr, _doc):
                smsr.finalise_isdr_handover(finalise_items(handover.old_kvns))
        except FunctionFailed as failed:
            cause = failed.__cause__
            if _key_set_refused(cause):                      # SM-SR1 rolled our key set back first
                self.store.retire(eid, handover.peer)
                self.service.close()
                raise FunctionFailed("8.1", "4.2", f"the card refused the new key set: {cause}") from failed
            if not (isinstance(cause, CommandFailed) and cause.sw == SW_UNKNOWN_KEY):
                raise
        checkpoint("SM-SR2.FinaliseISDRhandover.done")
        self.store.end_handover(eid)
        return True

    def check_access(self, eid: str) -> None:
        """Before any other function on ``eid``: refused while this SM-SR hands it over; a change left
        pending (a failure that could not reach the card) is settled first, on either side."""
        handover = self.store.handover(eid)
        if handover is None or handover.role == EXPECTED:
            return
        if handover.role == OUTGOING and eid in self._running:
            raise FunctionFailed(CODES.eis_busy, "4.4", f"an SM-SR change of {eid} is under way", "Eid")
        if not self.resolve(handover):                       # left pending (e.g. the card was unreachable)
            raise FunctionFailed("8.1.1", "3.9", f"{eid} is managed by {handover.peer} now", "Eid")

    # -- ES4 -----------------------------------------------------------------------------------
    def prepare(self, request: Envelope, interface: str) -> list[Field]:
        """ES4.PrepareSMSRChange (SGP.02 §5.5, on SM-SR2): expect the EIS of Eid from CurrentSMSRid."""
        eid, current = request.get("Eid"), request.get("CurrentSMSRid")
        if not eid or not current:
            raise FunctionFailed("8.1.1", "2.2", "Eid and CurrentSMSRid are mandatory")
        try:
            self.store.expect_handover(eid, current, request.get("FunctionRequesterIdentifier") or "")
        except StoreError as exc:
            raise FunctionFailed("8.1.1", "3.3", str(exc), "Eid") from exc
        return []

    def smsr_change(self, request: Envelope, interface: str) -> list[Field]:
        """ES4.SMSRChange (SGP.02 §5.5, on SM-SR1): hand the EIS to Target-Smsr-id (ES7.HandoverEUICC)."""
        eid, doc = self.service.eid_document(request)
        target, requester = request.get("Target-Smsr-id") or "", request.get("FunctionRequesterIdentifier") or ""
        url = self.trust.peers.get(target)
        if url is None:
            raise FunctionFailed("8.1", "3.9", f"unknown SM-SR {target!r}", "Target-Smsr-id")
        if not any(p.mno == requester for p in self.store.profiles(eid)):
            raise FunctionFailed("8.1", "1.2", f"{requester} owns no profile on {eid}", "Eid")
        try:
            self.store.begin_outgoing(eid, target, requester)
        except StoreError as exc:
            raise FunctionFailed(CODES.eis_busy, "4.4", str(exc), "Eid") from exc
        self._running.add(eid)
        try:
            return self._hand_over(eid, doc, target, url)
        finally:
            self._running.discard(eid)

    def _hand_over(self, eid: str, doc: EisDocument, target: str, url: str) -> list[Field]:
        """ES7.HandoverEUICC to ``url``; retire on success, settle the change otherwise."""
        checkpoint("SM-SR1.SMSRChange.locked")
        try:
            if not doc.eis.ecasd_certificate:
                with self.service.card(eid) as (smsr, doc):
                    smsr.audit()
            eis = eis_fields(eid, doc, self.store.profiles(eid), self.service.eum_of(eid), key_versions=True)
            response = self._requester(url).call("ES7", "HandoverEUICC", [("Eis", eis)])
        except (RequesterError, FunctionFailed) as exc:
            self._settle(eid)
            if isinstance(exc, FunctionFailed):
                raise
            raise FunctionFailed("1.2", "5.1", f"ES7.HandoverEUICC: {exc}") from exc
        if not response.status.ok:
            self._settle(eid)
            raise FunctionFailed.from_status(response.status)
        checkpoint("SM-SR1.HandoverEUICC.answered")
        self.store.retire(eid, target)
        self.service.close()
        return []

    def _settle(self, eid: str) -> None:
        handover = self.store.handover(eid)
        if handover is not None:
            self.resolve(handover)

    # -- ES7, old SM-SR side: the relay ----------------------------------------------------------
    def _outgoing(self, request: Envelope) -> tuple[str, Handover]:
        eid = request.get("Eid") or ""
        handover = self.store.handover(eid)
        requester = request.get("FunctionRequesterIdentifier")
        if handover is None or handover.role != OUTGOING or handover.peer != requester:
            raise FunctionFailed("1.1", "1.2", f"no SM-SR change of {eid!r} to {requester!r} is under way", "Eid")
        return eid, handover

    def authenticate_smsr(self, request: Envelope, interface: str) -> list[Field]:
        """ES7.AuthenticateSMSR (SGP.02 §5.6, on SM-SR1): relay CERT.SR2 (DGI '3A01', first script of a
        chain); the card's random challenge back.  A certificate the card refuses: Failed 1.1 6.1."""
        eid, _ = self._outgoing(request)
        try:
            certificate = bytes.fromhex(request.get("SmsrCertificate") or "")
        except ValueError as exc:
            raise FunctionFailed("1.1", "2.1", "SmsrCertificate is not hex", "SmsrCertificate") from exc
        checkpoint("SM-SR1.AuthenticateSMSR.relaying")
        try:
            with self.service.card(eid) as (smsr, _doc):
                self.service.chain_open = True
                rapdus = smsr.execute([certificate_command(certificate, smsr.s)], smsr.s.isd_r_tar,
                                      "AuthenticateSMSR", CHAIN_FIRST)
        except FunctionFailed as failed:
            self.service.close()
            cause = failed.__cause__
            if isinstance(cause, CommandFailed) and cause.sw in SW_CERTIFICATE:
                raise FunctionFailed("1.1", "6.1", f"the eUICC refused the SM-SR certificate ({cause.sw:04X})",
                                     "SmsrCertificate") from failed
            raise
        try:
            challenge = tlv.unwrap(rapdus[-1][:-2], 0x85)
        except tlv.TlvError as exc:
            self.service.close()
            raise FunctionFailed("8.1", "4.2", f"no random challenge in {rapdus[-1].hex()}") from exc
        checkpoint("SM-SR1.AuthenticateSMSR.relayed")
        return [("RandomChallenge", challenge.hex().upper())]

    def create_additional_key_set(self, request: Envelope, interface: str) -> list[Field]:
        """ES7.CreateAdditionalKeySet (SGP.02 §5.6, on SM-SR1): relay the key agreement (DGI '3A02' CRT
        rebuilt from the fields, '7F49' ePK, '5F37' signature; last script of the chain); the card's
        receipt (and derivation random) back.  The KVN is written ahead for a rollback."""
        eid, _ = self._outgoing(request)
        try:
            kvn = int(request.get("KeyVersionNumber") or "")
            counter = int(request.get("InitialSequenceCounter") or "0")
            scenario = int(request.get("ScenarioParameter") or "", 16)
            epk = bytes.fromhex(request.get("EphemeralPublicKey") or "")
            signature = bytes.fromhex(request.get("Signature") or "")
            relayed_key_agreement(kvn, counter, scenario, epk, signature)      # a KVN of no kind: refused here
        except (ValueError, OverflowError) as exc:
            raise FunctionFailed("1.1", "2.1", f"CreateAdditionalKeySet fields: {exc}") from exc
        self.store.record_relayed_kvn(eid, kvn)
        checkpoint("SM-SR1.CreateAdditionalKeySet.relaying")
        try:
            with self.service.card(eid) as (smsr, _doc):
                command = relayed_key_agreement(kvn, counter, scenario, epk, signature, smsr.s)
                rapdus = smsr.execute([command], smsr.s.isd_r_tar, "CreateAdditionalKeySet", CHAIN_LAST)
        finally:
            self.service.chain_open = False
        items = dict(tlv.iter_tlv(rapdus[-1][:-2]))
        checkpoint("SM-SR1.CreateAdditionalKeySet.relayed")
        self.service.close()                                 # the reader is the new SM-SR's next
        out: list[Field] = [("DerivationRandom", items[0x85].hex().upper())] if 0x85 in items else []
        return out + [("Receipt", items.get(0x86, b"").hex().upper())]

    # -- ES7, new SM-SR side ---------------------------------------------------------------------
    def handover_euicc(self, request: Envelope, interface: str) -> list[Field]:
        """ES7.HandoverEUICC (SGP.02 §5.6, on SM-SR2): verify, authenticate, establish, take over."""
        if self.trust.key is None or self.trust.certificate is None:
            raise FunctionFailed("1.2", "3.1", "this SM-SR has no SM-SR certificate: it cannot take eUICCs over")
        current = request.get("FunctionRequesterIdentifier") or ""
        group = request.group("Eis")
        try:
            eid, eum, doc, records = parse_eis(group, require_keys=False)
            old_kvns = key_versions(group)
        except (EisFormatError, Pol2Error) as exc:
            raise FunctionFailed("8.1.1", "2.1", f"EIS: {exc}", "Eis") from exc
        expected = self.store.handover(eid)
        if expected is None or expected.role != EXPECTED or expected.peer != current:
            raise FunctionFailed("8.1.1", "1.2", f"no PrepareSMSRChange of {eid} from {current}", "Eid")
        if not any(r.mno == expected.requester for r in records):
            raise FunctionFailed("8.1", "1.2", f"{expected.requester} owns no profile on {eid}", "Eid")
        ecasd = self.trust.ecasd_key(doc.eis.ecasd_certificate)
        checkpoint("SM-SR2.HandoverEUICC.verified")
        relay = _Es7Relay(self._requester(request.sender or self.trust.peers.get(current, "")), eid)
        assert self.trust.key is not None and self.trust.certificate is not None
        try:
            establish_key_sets(relay, self.trust.key, self.trust.certificate, ecasd, old_kvns, doc)
        except KeyEstablishmentError as exc:
            raise FunctionFailed("8.1", "6.1", f"the key establishment does not verify: {exc}") from exc
        doc.eis.log(f"taken over from {current} (ES7.HandoverEUICC)")
        try:
            self.store.receive(eid, doc, eum or "", records, current, old_kvns)
        except StoreError as exc:
            raise FunctionFailed("8.1.1", "3.3", str(exc), "Eid") from exc
        checkpoint("SM-SR2.in-charge")
        handover = self.store.handover(eid)
        if handover is not None:
            self._finalise(handover)
        owners = {r.mno: r for r in records if r.mno}
        for record in owners.values():                       # ES4.HandleSMSRChangeNotification, once per MNO
            self.service.notifier.send(eid, record, SMSR_CHANGED, None)
        return []


class _Es7Relay:
    """The new SM-SR's :class:`tools.smsr.handover.Relay`: ES7 calls to the current SM-SR."""

    def __init__(self, peer: Requester, eid: str) -> None:
        self.peer, self.eid = peer, eid

    def authenticate_smsr(self, certificate: bytes) -> bytes:
        response = self._call("AuthenticateSMSR", [("Eid", self.eid), ("SmsrCertificate", certificate.hex().upper())])
        checkpoint("SM-SR2.AuthenticateSMSR.answered")
        return self._hex(response.get("RandomChallenge"), "RandomChallenge", "4.2")

    def create_additional_key_set(self, kvn: int, scenario: int, epk: bytes, signature: bytes) -> bytes:
        response = self._call("CreateAdditionalKeySet", [
            ("Eid", self.eid), ("KeyVersionNumber", str(kvn)), ("InitialSequenceCounter", "0"),
            ("ScenarioParameter", f"{scenario:02X}"), ("EphemeralPublicKey", epk.hex().upper()),
            ("Signature", signature.hex().upper())])
        checkpoint("SM-SR2.CreateAdditionalKeySet.answered")
        dr = self._hex(response.get("DerivationRandom"), "DerivationRandom", "6.1")
        return (tlv.tlv(0x85, dr) if dr else b"") + tlv.tlv(0x86, self._hex(response.get("Receipt"), "Receipt", "6.1"))

    @staticmethod
    def _hex(text: str | None, name: str, reason: str) -> bytes:
        try:
            return bytes.fromhex(text or "")
        except ValueError as exc:
            raise FunctionFailed("8.1", reason, f"{name} is not hex") from exc

    def _call(self, function: str, fields: list[Field]):
        try:
            response = self.peer.call("ES7", function, fields)
        except RequesterError as exc:
            raise FunctionFailed("1.2", "5.1", f"the current SM-SR: {exc}") from exc
        if not response.status.ok:
            raise FunctionFailed.from_status(response.status)
        return response
