"""The SM-DP as a service: ES2 function provider for the operator, ES3 function requester toward
the SM-SR service, ES8 to the ISD-P through the SM-SR's ES3.SendData relay (SGP.02 v4.2 §3.1-§3.3,
§5.3, §5.4).

ES2.DownloadProfile (§3.1.x): ES3.GetEIS (CERT.ECASD.ECKA; ES3.AuditEIS when the EIS has none),
ES3.CreateISDP, ES8.EstablishISDPKeySet and ES8.DownloadAndInstallation over SCP03t
(:class:`tools.smdp_m2m.smdp.SmDp`), the delete-token key, ES3.ProfileDownloadCompleted (with the
POL2 the operator gave), and ES3.EnableProfile when asked.  The ISD-P keys go to the SM-DP's own
store; the SM-SR sees only the scripts.  The other ES2 profile functions are relayed to the ES3
function of the same name once the operator is found to own the profile.
"""
from __future__ import annotations

import logging
import threading

from cryptography.hazmat.primitives.asymmetric import ec

from tools.m2m_services.binding import Envelope, Field
from tools.m2m_services.pol2 import Pol2, Pol2Error
from tools.m2m_services.smdp_notifications import Es2Forwarder
from tools.m2m_services.smdp_store import DownloadRecord, SmdpStore
from tools.m2m_services.status import CODES, FunctionFailed
from tools.m2m_services.tls import TlsFiles
from tools.m2m_services.transport import DEFAULT_VALIDITY, Provider, Requester, RequesterError
from tools.m2m_services.validity import check as check_validity
from tools.m2m_services.validity import remaining
from tools.scp.scp03_host import Scp03HostError
from tools.smdp_m2m.scp03t import Scp03tError
from tools.smdp_m2m.smdp import DownloadRefused, SmDp
from tools.smsr.eis import Eis
from tools.smsr.gp_certificate import CertificateError
from tools.smsr.key_establishment import KeyEstablishmentError
from tools.smsr.settings import DEFAULT, M2mSettings, aid_for_tar
from tools.smsr.smsr import CHAIN_FIRST, CHAIN_NEXT, CommandFailed, OtaFailure, SmSr, parse_response_script

log = logging.getLogger(__name__)
RELAYED = ("GetEIS", "AuditEIS", "EnableProfile", "DisableProfile", "DeleteProfile", "UpdatePolicyRules",
           "SetFallBackAttribute", "UpdateSubscriptionAddress", "SetEmergencyProfileAttribute")
"""ES2 functions the SM-DP passes on to the same ES3 function."""
ES8_FAILURES = (CommandFailed, OtaFailure, Scp03tError, Scp03HostError, KeyEstablishmentError, CertificateError,
                DownloadRefused)


class Es3Relay:
    """What :class:`SmDp` needs of an SM-SR (``send_script`` and the script logic of
    :class:`SmSr` built on it), with each script sent as ES3.SendData to the SM-SR service
    instead of an SCP80 packet; ``moreToDo`` carries TS 102 226 script chaining."""

    execute = SmSr.execute
    check = SmSr.check
    establish_keyset = SmSr.establish_keyset
    send_data = SmSr.send_data

    def __init__(self, requester: Requester, eid: str, settings: M2mSettings = DEFAULT,
                 last_of_chain: tuple[str, str] | None = None) -> None:
        self.requester, self.eid, self.s = requester, eid, settings
        self.eis = Eis()                       # the SM-DP's own notes on the ISD-Ps (state only)
        self.last_of_chain = last_of_chain

    def send_script(self, tar: bytes, items: list[bytes], chaining: int | None = None):
        """ES3.SendData; with ``last_of_chain`` (function, ICCID), the script that ends a chain goes
        as that ES3 function instead (ES3.UpdateConnectivityParameters)."""
        more = chaining in (CHAIN_FIRST, CHAIN_NEXT)
        function, fields = "SendData", [("sd-aid", aid_for_tar(tar).hex().upper()), ("moreToDo", "true" if more else "false")]
        if self.last_of_chain is not None and not more:
            function, fields = self.last_of_chain[0], [("Iccid", self.last_of_chain[1])]
        check_validity(f"ES3.{function}")
        response = self.requester.call("ES3", function, [("Eid", self.eid), ("Data", b"".join(items).hex().upper()),
                                                         *fields], remaining(DEFAULT_VALIDITY))
        if not response.status.ok:
            raise FunctionFailed.from_status(response.status)
        try:
            return parse_response_script(bytes.fromhex(response.get("EuiccResponseData") or ""))
        except ValueError as exc:
            raise OtaFailure(f"EuiccResponseData: {exc}") from exc


class SmdpService:
    def __init__(self, store: SmdpStore, smsr_url: str, address: str, signing_key: ec.EllipticCurvePrivateKey,
                 certificate: bytes, eum_key: ec.EllipticCurvePublicKey | None,
                 catalogue: dict[str, bytes], identifier: str = "SM-DP", tls: TlsFiles | None = None,
                 endpoints: dict[str, str] | None = None) -> None:
        self.store, self.identifier = store, identifier
        self.key, self.certificate, self.eum_key, self.catalogue = signing_key, certificate, eum_key, catalogue
        self.smsr = Requester(smsr_url, identifier, address, tls=tls)
        self.provider = Provider(address)
        self.provider.register("ES2", "DownloadProfile", self.download_profile)
        self.provider.register("ES2", "UpdateConnectivityParameters", self.update_connectivity_parameters)
        for function in RELAYED:
            self.provider.register("ES2", function, self._relay(function))
        Es2Forwarder(store, endpoints or {}, identifier, address, tls).register(self.provider)
        self._lock = threading.Lock()

    def _es3(self, function: str, fields: list[Field]) -> list[Field]:
        """Call ES3 ``function`` within what is left of the ES2 call's validity period (§5.1)."""
        check_validity(f"ES3.{function}")
        try:
            response = self.smsr.call("ES3", function, fields, remaining(DEFAULT_VALIDITY))
        except RequesterError as exc:
            raise FunctionFailed("1.2", "5.1", f"SM-SR unreachable: {exc}") from exc
        if not response.status.ok:
            raise FunctionFailed.from_status(response.status)
        return response.envelope.fields

    def _owned(self, request: Envelope, iccid: str) -> DownloadRecord:
        """The profile ``iccid`` this SM-DP downloaded for the requesting operator."""
        record = self.store.download(request.get("Eid") or "", iccid)
        if record is None:
            raise FunctionFailed("8.2.1", "3.9", f"profile {iccid} unknown to this SM-DP", "Iccid")
        if record.mno != request.get("FunctionRequesterIdentifier"):
            raise FunctionFailed("8.2.1", "1.2", f"profile {iccid} belongs to another operator", "Iccid")
        return record

    def _relay(self, function: str):
        def relay(request: Envelope) -> list[Field]:
            iccid = request.get("Iccid")
            if iccid is not None:
                self._owned(request, iccid)
            skip = ("FunctionRequesterIdentifier", "FunctionCallIdentifier", "ValidityPeriod")
            answer = self._es3(function, [f for f in request.fields if f[0] not in skip])
            if function == "DeleteProfile" and iccid is not None:
                self.store.mark_deleted(request.get("Eid") or "", iccid)   # the ISD-P is gone (§5.3)
            head = ("ProcessingStart", "ProcessingEnd", "AcceptableValidityPeriod", "FunctionExecutionStatus")
            return [f for f in answer if f[0] not in head]
        return relay

    def _ecasd_certificate(self, eid: str) -> bytes:
        for function in ("GetEIS", "AuditEIS"):
            eis = next((v for n, v in self._es3(function, [("Eid", eid)]) if n == "Eis" and isinstance(v, list)), [])
            signed = next((v for n, v in eis if n == "EumSignedInfo" and isinstance(v, list)), [])
            cert = next((v for n, v in signed if n == "EcasdCertificate" and isinstance(v, str)), "")
            if cert:
                return bytes.fromhex(cert)
        raise FunctionFailed("8.1", "3.9", "the SM-SR has no ECASD certificate of this eUICC")

    def download_profile(self, request: Envelope) -> list[Field]:
        """ES2.DownloadProfile: Eid, Iccid (a profile of the catalogue), optional Pol2 and EnableProfile."""
        eid, iccid, mno = request.get("Eid"), request.get("Iccid"), request.get("FunctionRequesterIdentifier") or ""
        if not eid or not iccid:
            raise FunctionFailed("8.1.1" if not eid else "8.2.1", "2.2", "Eid and Iccid are mandatory")
        package = self.catalogue.get(iccid)
        if package is None:
            raise FunctionFailed("8.2.1", "3.9", f"no profile {iccid} at this SM-DP", "Iccid")
        try:
            pol2 = Pol2.from_fields(request.group("Pol2") or [])
        except Pol2Error as exc:
            raise FunctionFailed(CODES.pol2, "2.1", str(exc), "Pol2") from exc
        with self._lock:
            if (previous := self.store.download(eid, iccid)) is not None and previous.state == "INSTALLED":
                raise FunctionFailed("8.2.1", "3.3", f"profile {iccid} already downloaded", "Iccid")
            ecasd_cert = self._ecasd_certificate(eid)
            aid = dict((n, v) for n, v in self._es3("CreateISDP", [("Eid", eid), ("Iccid", iccid), ("Mno-id", mno)])
                       if isinstance(v, str)).get("Isd-p-aid", "")
            self.store.put_download(DownloadRecord(eid, iccid, mno, aid, "CREATED"))
            smdp = SmDp(self.key, self.certificate, Es3Relay(self.smsr, eid))   # type: ignore[arg-type]
            isdp = bytes.fromhex(aid)
            try:
                smdp.establish_isdp_keyset(isdp, smdp.ecasd_public_key(ecasd_cert, self.eum_key))
                self.store.put_keys(eid, aid, smdp.keys[isdp])
                smdp.download_profile(isdp, package)
                self.store.put_keys(eid, aid, smdp.keys[isdp], smdp.put_token_key(isdp))
            except ES8_FAILURES as exc:
                self._delete_isdp(eid, iccid, mno, aid)
                raise FunctionFailed("8.2", "4.2", f"ES8 toward ISD-P {aid}: {exc}") from exc
            self._es3("ProfileDownloadCompleted", [("Eid", eid), ("Iccid", iccid), ("Pol2", pol2.fields())])
            self.store.put_download(DownloadRecord(eid, iccid, mno, aid, "INSTALLED"))
        if request.get("EnableProfile") == "true":
            self._es3("EnableProfile", [("Eid", eid), ("Iccid", iccid)])
        return [("Iccid", iccid), ("Isd-p-aid", aid)]

    def _delete_isdp(self, eid: str, iccid: str, mno: str, aid: str) -> None:
        """After a failed download: ES3.DeleteISDP of the ISD-P created for it (§3.1); the ES2 call
        still reports the download's failure if the clean-up fails too."""
        try:
            self._es3("DeleteISDP", [("Eid", eid), ("Iccid", iccid)])
            self.store.put_download(DownloadRecord(eid, iccid, mno, None, "FAILED"))
        except FunctionFailed as exc:
            log.warning("ES3.DeleteISDP of %s after a failed download: %s", aid, exc.status)

    def update_connectivity_parameters(self, request: Envelope) -> list[Field]:
        """ES2.UpdateConnectivityParameters (§5.3.x): ES8.UpdateConnectivityParameters (§4.1.3.4), an
        SCP03 session with the ISD-P under the SM-DP's keys: INITIALIZE UPDATE by ES3.SendData, the
        protected STORE DATA by ES3.UpdateConnectivityParameters (one TS 102 226 chain)."""
        record = self._owned(request, request.get("Iccid") or "")
        try:
            parameters = bytes.fromhex(request.get("ConnectivityParameters") or "")
        except ValueError as exc:
            raise FunctionFailed("8.2", "2.1", "ConnectivityParameters is not hex", "ConnectivityParameters") from exc
        stored = self.store.keys(record.eid, record.isdp_aid or "")
        if stored is None or not parameters:
            raise FunctionFailed("8.2", "2.2" if not parameters else "3.9", "no ConnectivityParameters or no ISD-P keys")
        isdp = bytes.fromhex(record.isdp_aid or "")
        relay = Es3Relay(self.smsr, record.eid, last_of_chain=("UpdateConnectivityParameters", record.iccid))
        smdp = SmDp(None, b"", relay)   # type: ignore[arg-type]
        smdp.keys[isdp] = stored[0]
        with self._lock:
            try:
                smdp.update_connectivity_parameters(isdp, parameters)
            except ES8_FAILURES as exc:
                raise FunctionFailed("8.2", "4.2", f"ES8 toward ISD-P {record.isdp_aid}: {exc}") from exc
        return []
