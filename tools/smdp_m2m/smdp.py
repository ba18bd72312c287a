"""A test SM-DP (GSMA SGP.02 v4.2 §3.1-§3.3, ES3 to the SM-SR, ES8 to the ISD-P through it).

- ES8.EstablishISDPKeySet (SGP.02 §4.1.3.1): INSTALL [for personalization] of the ISD-P and the
  GP Amd E scenario #3 key agreement with the eUICC's ECASD (certificate from the SM-SR's audit),
  giving the ISD-P's SCP03 key set (KVN '30', key IDs 01/02/03 = ENC/MAC/DEK);
- ES8.DownloadAndInstallation (SGP.02 §4.1.3.3): an SCP03t session with the ISD-P carrying the
  Unprotected Profile Package (SAIP profile elements) in '86' TLVs, relayed by the SM-SR in
  scripts addressed to the ISD-P's TAR and joined by TS 102 226 script chaining; an answer is a
  SAIP EUICCResponse, and a refused package (profileInstallationAborted / a PEStatus other than
  ok) ends the download: the SM-DP has the ISD-P deleted (ES3.DeleteISDP -> ES5 DELETE, SGP.02
  §3.1.3) and reports the card's reason (:class:`DownloadRefused`);
- ES8.UpdateConnectivityParameters (SGP.02 §4.1.3.4): DGI '3A07' in an SCP03 APDU-mode session;
- the delete-token key (PUT KEY in the same kind of session) and the MasterDelete token (§4.1.1.6)
  the SM-DP hands to the SM-SR.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import asn1tools
from Crypto.Cipher import AES
from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from euicc.asn1 import saip
from tools.scp.scp03_host import HostKeySet, Scp03Host, kcv
from tools.smdp_m2m.scp03t import Scp03tHost, segment_upp
from tools.smsr import es5
from tools.smsr.gp_certificate import parse_certificate
from tools.smsr.key_establishment import EstablishedKeys, KeyEstablishment, KeyEstablishmentError
from tools.smsr.settings import DEFAULT, M2mSettings
from tools.smsr.smsr import CHAIN_FIRST, CHAIN_LAST, CHAIN_NEXT, CommandFailed, SmSr, c_apdu

# TCA SAIP v3.3.1 PEDefinitions PEStatus.status named numbers
PE_STATUS = {0: "ok", 1: "pe-not-supported", 2: "memory-failure", 3: "bad-values", 4: "not-enough-memory",
             5: "invalid-request-format", 6: "invalid-parameter", 7: "runtime-not-supported",
             8: "lib-not-supported", 9: "template-not-supported", 10: "feature-not-supported",
             11: "pin-code-missing", 31: "unsupported-profile-version"}


class DownloadRefused(Exception):
    """The ISD-P refused the profile package (its EUICCResponse, decoded as :func:`refusal`)."""


def refusal(answer: bytes) -> str | None:
    """The reason a SAIP EUICCResponse reports (each failing PEStatus: status name, PE
    identification, additional information, then the statusMessage), or None when it reports
    no failure.  An answer that is no EUICCResponse is itself the reason."""
    try:
        response = saip().decode("EUICCResponse", answer)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError):   # asn1tools on foreign bytes
        return f"not a SAIP EUICCResponse: {answer.hex()}"
    failed = [p for p in response["peStatus"] if p["status"] != 0]
    if not failed and "profileInstallationAborted" not in response:
        return None
    parts = []
    for p in failed:
        part = PE_STATUS.get(p["status"], f"status {p['status']}")
        if "identification" in p:
            part += f" (PE {p['identification']})"
        if "additional-information" in p:
            part += f" info {p['additional-information']}"
        parts.append(part)
    if "statusMessage" in response:
        parts.append(response["statusMessage"])
    return ": ".join(parts) or "profile installation aborted"


@dataclass
class DownloadResult:
    """What the ISD-P answered to the profile segments (decrypted '86' answers, non-empty ones)."""

    segments: int
    answers: list[bytes] = field(default_factory=list)


class SmDp:
    """One SM-DP with its signing key and GP-format certificate (role 'C8 01 01')."""

    def __init__(self, signing_key: ec.EllipticCurvePrivateKey | None, certificate: bytes, smsr: SmSr) -> None:
        self.signing_key, self.certificate, self.smsr = signing_key, certificate, smsr
        self.keys: dict[bytes, HostKeySet] = {}
        self.token_keys: dict[bytes, bytes] = {}

    @property
    def s(self):
        return self.smsr.s

    def ecasd_public_key(self, ecasd_certificate: bytes, issuer: ec.EllipticCurvePublicKey | None = None) -> ec.EllipticCurvePublicKey:
        """PK.ECASD.ECKA from CERT.ECASD.ECKA, verified with the EUM's key when given."""
        cert = parse_certificate(ecasd_certificate)
        if issuer is not None:
            cert.verify(issuer)
        return cert.public_key()

    def establish_isdp_keyset(self, isdp_aid: bytes, ecasd_public: ec.EllipticCurvePublicKey,
                              ephemeral: ec.EllipticCurvePrivateKey | None = None) -> EstablishedKeys:
        """ES8.EstablishISDPKeySet through the SM-SR (scripts to the ISD-R, SPEC_NOTES §2.4 step 1)."""
        if self.signing_key is None:
            raise KeyEstablishmentError("the SM-DP needs its signing key for key establishment")
        ke = KeyEstablishment(self.signing_key, self.certificate, ecasd_public, self.s.isdp_scp03_kvn, self.s,
                              ephemeral=ephemeral)
        keys = self.smsr.establish_keyset(ke, self.s.isd_r_tar, [ke.install_for_personalization(isdp_aid)],
                                          "EstablishISDPKeySet")
        enc, mac, dek = keys.keys if len(keys.keys) == 3 else keys.keys * 3
        self.keys[isdp_aid] = HostKeySet(keys.kvn, enc, mac, dek)
        self.smsr.eis.profile(isdp_aid).state = "PERSONALIZED"
        return keys

    def prepare_isdp(self, isdp_aid: bytes | None = None, issuer: ec.EllipticCurvePublicKey | None = None) -> bytes:
        """The ISD-P a download goes into: ES3 -> ES5.CreateISDP unless ``isdp_aid`` names a
        SELECTABLE one (SGP.02 §3.1.1), CERT.ECASD.ECKA from the SM-SR's audit (verified with the
        EUM's ``issuer`` key when given), ES8.EstablishISDPKeySet (§4.1.3.1); returns its AID."""
        isdp = isdp_aid if isdp_aid is not None else self.smsr.create_isdp()
        self.smsr.audit()
        self.establish_isdp_keyset(isdp, self.ecasd_public_key(self.smsr.eis.ecasd_certificate, issuer))
        return isdp

    def open_scp03t(self, isdp_aid: bytes) -> Scp03tHost:
        """INITIALIZE UPDATE and EXTERNAL AUTHENTICATE TLVs, each in its own chained script."""
        session = Scp03tHost(self.keys[isdp_aid], isdp_aid, self.s.scp03t_key_id, self.s.scp03t_security_level)
        chain = CHAIN_FIRST if self.s.script_chaining else None
        session.process_initialize_update(self.smsr.send_data(isdp_aid, [session.initialize_update()], chain).items)
        chain = CHAIN_NEXT if self.s.script_chaining else None
        session.process_external_authenticate(self.smsr.send_data(isdp_aid, [session.external_authenticate()], chain).items)
        return session

    def download_profile(self, isdp_aid: bytes, upp: bytes) -> DownloadResult:
        """ES8.DownloadAndInstallation of an Unprotected Profile Package (SAIP DER); a refusal
        raises :class:`DownloadRefused`, after which the caller has the ISD-P deleted
        (:meth:`delete_isdp`, or ES3.DeleteISDP by the SM-DP service; module docstring)."""
        session = self.open_scp03t(isdp_aid)
        segments = segment_upp(upp, self.s.profile_segment_size)
        result = DownloadResult(len(segments))
        for number, segment in enumerate(segments, 1):
            chain = (CHAIN_LAST if number == len(segments) else CHAIN_NEXT) if self.s.script_chaining else None
            answer = session.unwrap(self.smsr.send_data(isdp_aid, [session.wrap(segment)], chain).items)
            if answer:
                reason = refusal(answer)
                if reason is not None:
                    raise DownloadRefused(f"ISD-P {isdp_aid.hex().upper()} refused the profile: {reason}")
                result.answers.append(answer)
        self.smsr.eis.profile(isdp_aid).state = "DISABLED"
        self.smsr.eis.profile(isdp_aid).smdp = "SM-DP"
        return result

    def delete_isdp(self, isdp_aid: bytes) -> None:
        """ES3.DeleteISDP: the SM-SR deletes the ISD-P (ES5 DELETE, SGP.02 §5.4.6) and the SM-DP
        forgets its keys."""
        self.smsr.delete_profile(isdp_aid)
        self.keys.pop(isdp_aid, None)
        self.token_keys.pop(isdp_aid, None)

    def scp03_apdus(self, isdp_aid: bytes, apdus: list[bytes], what: str) -> list[bytes]:
        """An SCP03 session in APDU mode with the ISD-P (GP Amd D §7, security level '33'),
        relayed by the SM-SR in two chained scripts to the ISD-P's TAR (SPEC_NOTES §2.3
        UpdateConnectivityParameters): INITIALIZE UPDATE; then EXTERNAL AUTHENTICATE and the
        wrapped ``apdus``.  Returns the unwrapped response data of ``apdus``."""
        if isdp_aid not in self.keys:
            raise KeyError(f"no SCP03 keys for ISD-P {isdp_aid.hex().upper()}")
        host = Scp03Host(self.keys[isdp_aid], 0x33)
        chain = (CHAIN_FIRST, CHAIN_LAST) if self.s.script_chaining else (None, None)
        answer = self.smsr.send_data(isdp_aid, [c_apdu(host.initialize_update(0x00))], chain[0]).rapdus
        if not answer or answer[-1][-2:] != b"\x90\x00":
            raise CommandFailed("INITIALIZE UPDATE", int.from_bytes(answer[-1][-2:], "big") if answer else 0x6F00, answer)
        host.process_initialize_update(answer[-1][:-2], isdp_aid)
        items = [c_apdu(host.external_authenticate())]
        wrapped = []
        answers = self.smsr.send_data(isdp_aid, items + [c_apdu(host.wrap(a)) for a in apdus], chain[1]).rapdus
        for index, answer in enumerate(answers):
            sw = int.from_bytes(answer[-2:], "big")
            if sw != 0x9000:
                name = "EXTERNAL AUTHENTICATE" if index == 0 else what
                raise CommandFailed(name, sw, answers)
            if index:
                wrapped.append(host.unwrap(answer[:-2], sw))
        if len(answers) < len(apdus) + 1:
            raise CommandFailed(what, 0x6F00, answers)
        return wrapped

    def update_connectivity_parameters(self, isdp_aid: bytes, parameters: bytes) -> None:
        """ES8.UpdateConnectivityParameters (SGP.02 §4.1.3.4): STORE DATA DGI '3A07' ``parameters``
        (e.g. 'A0' {'06' SMS-C}, :func:`sms_connectivity_parameters`) in an SCP03 session."""
        store = es5.store_data(es5.P1_LAST_DGI, 0x00, es5.dgi(es5.DGI_ADDRESSING, parameters), self.s)
        self.scp03_apdus(isdp_aid, [store], "STORE DATA 3A07")

    def put_token_key(self, isdp_aid: bytes, token_key: bytes | None = None) -> bytes:
        """PUT KEY (GP §11.8, Amd D §7.3) of the ISD-P's delete-token key (KVN ``token_kvn`` of the
        settings) so that a later MasterDelete token verifies (SGP.02 §4.1.1.6); returns the key."""
        key = token_key or os.urandom(16)
        dek = self.keys[isdp_aid].dek
        wrapped = AES.new(dek, AES.MODE_CBC, iv=bytes(16)).encrypt(key)
        data = bytes([self.s.token_kvn, 0x88, 0x11, 0x10]) + wrapped + b"\x03" + kcv(key)
        answer, = self.scp03_apdus(isdp_aid, [bytes([0x80, 0xD8, 0x00, 0x01, len(data)]) + data + b"\x00"], "PUT KEY")
        if answer != bytes([self.s.token_kvn]) + kcv(key):
            raise CommandFailed(f"PUT KEY answered {answer.hex()}, not KVN || KCV", 0x9000, [answer])
        self.token_keys[isdp_aid] = key
        return key

    def master_delete_token(self, isdp_aid: bytes, ident: es5.MasterDeleteData = es5.TEST_DELETE_IDENT) -> bytes:
        """The delete token the SM-DP gives the SM-SR for ES5.MasterDelete (SGP.02 §3.9, §4.1.1.6)."""
        return master_delete_token(self.token_keys[isdp_aid], isdp_aid, ident, self.s)


def master_delete_token(token_key: bytes, isdp_aid: bytes, ident: es5.MasterDeleteData = es5.TEST_DELETE_IDENT,
                        s: M2mSettings = DEFAULT) -> bytes:
    """GP Annex C.4 delete token over the MasterDelete data (:func:`tools.smsr.es5.delete_token`)."""
    return es5.delete_token(es5.master_delete_body(isdp_aid, ident), token_key, s)


def sms_connectivity_parameters(smsc: str, ton_npi: int = 0x91) -> bytes:
    """'A0' {'06' TON/NPI || BCD SMS-C address} (SGP.02 §4.1.3.4, WHTY vector form)."""
    digits = smsc + ("F" if len(smsc) % 2 else "")
    bcd = bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))
    return tlv.tlv(0xA0, tlv.tlv(0x06, bytes([ton_npi]) + bcd))
