"""A test SM-SR: ES5 over SMS (SCP80) to the ISD-R, ES3 relay of SM-DP scripts to ISD-Ps.

GSMA SGP.02 v4.2 §3 / §5.4 (ES5): every function is a TS 102 226 expanded remote APDU script
('AA' {['83' chaining] '22' C-APDU ...}) in an SCP80 command packet (TS 102 225 §5.1, SPI from the
settings, default '16 39') sent as SMS-DELIVER through the terminal's SMS-PP download; the PoR
(TS 102 225 §5.2) comes back as ENVELOPE response data or in an SMS-SUBMIT (SPI2 b6).
Notifications arrive as SMS-SUBMIT command packets and are confirmed with
ES5.HandleNotificationConfirmation (DGI '3A08').
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from euicc import tlv
from tools.ota.packet import POR_UDH, OtaKeyset, build_command_packet, decode_response_packet
from tools.ota.transport import sms_deliver_tpdus
from tools.smsr import es5
from tools.smsr.eis import Eis
from tools.smsr.key_establishment import EstablishedKeys, KeyEstablishment
from tools.smsr.mo import (
    IEI_COMMAND,
    IEI_RESPONSE,
    MoError,
    MoMessage,
    MoReassembler,
    Notification,
    open_command_packet,
    parse_notification,
)
from tools.smsr.settings import AID_PREFIX, DEFAULT, M2mSettings, aid_for_tar, tar_of
from tools.terminal.terminal import Terminal

log = logging.getLogger(__name__)
POR_STATUS = {0x00: "PoR OK", 0x01: "RC/CC/DS failed", 0x02: "CNTR low", 0x03: "CNTR high", 0x04: "CNTR blocked",
              0x05: "ciphering error", 0x06: "unidentified security error", 0x07: "insufficient memory",
              0x08: "more time needed", 0x09: "TAR unknown", 0x0A: "insufficient security level"}
"""TS 102 225 §5.2 response status codes."""
CHAIN_FIRST, CHAIN_NEXT, CHAIN_LAST = 0x01, 0x02, 0x03  # TS 102 226 §5.2.1 script chaining
SWITCH_NOTIFICATIONS = (0x02, 0x03, 0x05)
"""Notification types whose ISD-P is the one enabled now (SPEC_NOTES §2.8: profile change, rollback
to it, Fall-Back to it)."""


class OtaFailure(Exception):
    """No usable PoR: the card refused the packet (PoR status) or did not answer one."""

    def __init__(self, message: str, status: int | None = None, sw: int | None = None) -> None:
        super().__init__(message)
        self.status, self.sw = status, sw


class CommandFailed(Exception):
    """A remote command of the script ended with an error status word (SGP.02 / GP codes)."""

    def __init__(self, what: str, sw: int, responses: list[bytes]) -> None:
        super().__init__(f"{what}: card answered {sw:04X}")
        self.sw, self.responses = sw, responses


@dataclass(frozen=True)
class ScriptResponse:
    """A decoded expanded response (TS 102 226 §5.2.2): executed count and the response TLVs."""

    executed: int
    items: list[tuple[int, bytes]]

    @property
    def rapdus(self) -> list[bytes]:
        return [v for t, v in self.items if t == 0x23]


def parse_response_script(data: bytes) -> ScriptResponse:
    """'AB' L {['80' 01 n] TLV*} or 'AF 80' TLV* '00 00' (SPEC_NOTES §3.1 / §8 item 5)."""
    try:
        if data[:2] == b"\xAF\x80" and data[-2:] == b"\x00\x00":
            body = data[2:-2]
        else:
            body = tlv.unwrap(data, 0xAB)
        items = tlv.parse(body)
    except (tlv.TlvError, IndexError) as exc:
        raise OtaFailure(f"bad response script {data.hex()}: {exc}") from exc
    count = next((v[0] for t, v in items if t == 0x80 and v), None)
    items = [(t, v) for t, v in items if t != 0x80]
    return ScriptResponse(len(items) if count is None else count, items)


def command_script(items: list[bytes], chaining: int | None = None) -> bytes:
    """'AA' L {['83' 01 chaining] items} (TS 102 226 §5.2.1); ``items`` are complete TLVs."""
    head = tlv.tlv(0x83, bytes([chaining])) if chaining is not None else b""
    return tlv.tlv(0xAA, head + b"".join(items))


def c_apdu(apdu: bytes) -> bytes:
    return tlv.tlv(0x22, apdu)


class ScriptTransport(Protocol):
    """Another way to the card for expanded scripts (e.g. HTTPS administration sessions)."""

    def run_script(self, tar: bytes, items: list[bytes], chaining: int | None) -> bytes: ...


def is_isdp_aid(aid: bytes, s: M2mSettings = DEFAULT) -> bool:
    """An ISD-P's AID: SGP.02 Annex H form, neither the ISD-R's nor the ECASD's."""
    return len(aid) == 16 and aid[:12] == AID_PREFIX and aid not in (s.isdr_aid(), s.ecasd_aid())


class SmSr:
    """One SM-SR holding the EIS of one eUICC and talking to it through a :class:`Terminal`."""

    def __init__(self, eis: Eis, keyset: OtaKeyset, settings: M2mSettings = DEFAULT, name: str = "SM-SR") -> None:
        self.eis, self.keyset, self.s, self.name = eis, keyset, settings, name
        eis.keysets.setdefault(keyset.kvn, keyset)
        self.terminal: Terminal | None = None
        self.https: ScriptTransport | None = None
        self.notifications: list[Notification] = []
        self._reassembler = MoReassembler()
        self._pors: list[bytes] = []
        self._reference = 0

    # -- transport ---------------------------------------------------------------------------------
    def attach(self, terminal: Terminal) -> None:
        """Become the network behind ``terminal``: its SEND SHORT MESSAGEs come to :meth:`receive_mo`."""
        self.terminal = terminal
        terminal.sms_sink = self.receive_mo

    def receive_mo(self, tpdu: bytes, address: bytes = b"") -> bool:
        """An SMS-SUBMIT from the card: a PoR (IE '71') or a notification (IE '70', SGP.02 §4.1.1.11)."""
        try:
            message = self._reassembler.add(tpdu)
            if message is not None:
                self.take(message)
        except MoError as exc:
            log.warning("%s: refused MO message: %s", self.name, exc)
        return True

    def take(self, message: MoMessage) -> None:
        """A whole MO message: a PoR is kept for the packet waiting for it, a notification is opened
        with the key set in use and kept for :meth:`confirm_all` (MoError when it does not verify)."""
        if IEI_RESPONSE in message.ies:
            self._pors.append(POR_UDH + message.payload)
        elif IEI_COMMAND in message.ies:
            packet = open_command_packet(self.keyset, message.payload, self.s.cc_length)
            notification = parse_notification(packet.data, self.s)
            self.notifications.append(notification)
            self.eis.log(f"notification {notification.type_name} seq {notification.sequence}")
        else:
            log.warning("%s: SMS without command/response packet IE to %s", self.name, message.destination)

    def send_script(self, tar: bytes, items: list[bytes], chaining: int | None = None) -> ScriptResponse:
        """One expanded script to ``tar``: in an SCP80 packet (the PoR's script back), or through
        the :attr:`https` transport when one is set (GP Amd B, tools/smsr_https)."""
        if self.https is not None:
            return parse_response_script(self.https.run_script(tar, items, chaining))
        return parse_response_script(self.send_secured(tar, command_script(items, chaining)))

    def send_secured(self, tar: bytes, script: bytes) -> bytes:
        """One SCP80 packet with secured data ``script`` (a script, or a push such as GP Amd B's
        administration session trigger) to ``tar``; returns the verified PoR's response data."""
        if self.terminal is None:
            raise OtaFailure("no terminal attached")
        counter = self.eis.next_counter(self.keyset.kvn)
        packet = build_command_packet(self.keyset, self.s.spi, tar, script, counter, self.s.cc_length)
        self._reference = (self._reference + 1) & 0xFF
        self._pors.clear()
        data, sw = self.terminal.sms_pp_download(sms_deliver_tpdus(packet, reference=self._reference))
        por = data if data[:3] == POR_UDH else (self._pors.pop(0) if self._pors else None)
        if por is None:
            raise OtaFailure(f"no PoR from the card (ENVELOPE answered {data.hex()} {sw:04X})", sw=sw)
        try:
            decoded = decode_response_packet(self.keyset, self.s.spi, por, self.s.cc_length)
        except (ValueError, IndexError) as exc:
            raise OtaFailure(f"unreadable PoR {por.hex()}: {exc}", sw=sw) from exc
        if decoded.checksum_valid is False:
            raise OtaFailure("PoR checksum does not verify", decoded.status, sw)
        if decoded.status != 0:
            raise OtaFailure(f"PoR status {decoded.status:02X} {POR_STATUS.get(decoded.status, '')}", decoded.status, sw)
        if decoded.tar != tar:
            raise OtaFailure(f"PoR for TAR {decoded.tar.hex()} instead of {tar.hex()}", decoded.status, sw)
        return decoded.data

    def execute(self, apdus: list[bytes], tar: bytes | None = None, what: str = "script",
                chaining: int | None = None) -> list[bytes]:
        """Run C-APDUs in one script; R-APDUs (data || SW) back; an error SW raises CommandFailed."""
        result = self.send_script(tar or self.s.isd_r_tar, [c_apdu(a) for a in apdus], chaining)
        return self.check(result.rapdus, len(apdus), what)

    def check(self, rapdus: list[bytes], commands: int, what: str) -> list[bytes]:
        """The R-APDUs of a script of ``commands`` C-APDUs, all answered and the last one successful
        (TS 102 226 §5.1.1: a script ends at its first error), else CommandFailed; logged in the EIS."""
        if len(rapdus) < commands or not rapdus:
            last = int.from_bytes(rapdus[-1][-2:], "big") if rapdus else 0x6F00
            raise CommandFailed(what, last, rapdus)
        last = int.from_bytes(rapdus[-1][-2:], "big")
        if last != 0x9000 and last >> 8 not in (0x61, 0x62, 0x63):
            raise CommandFailed(what, last, rapdus)
        self.eis.log(f"{what}: {[r.hex() for r in rapdus]}")
        return rapdus

    def execute_one(self, apdu: bytes, what: str) -> bytes:
        """One C-APDU; its response data (without SW)."""
        return self.execute([apdu], what=what)[0][:-2]

    # -- ES5 functions (SGP.02 §5.4) ---------------------------------------------------------------
    def create_isdp(self, isdp_aid: bytes | None = None, nvm_quota: int | None = None) -> bytes:
        """ES5.CreateISDP (SGP.02 §5.4.1); allocates the next TAR free in the EIS when no AID is
        given (an EIS that lists no ISD-P is first filled by an audit)."""
        if isdp_aid is None:
            if not self.eis.profiles:
                self.audit()
            while aid_for_tar(self.eis.next_tar.to_bytes(3, "big")) in self.eis.profiles:
                self.eis.next_tar += 1
            isdp_aid = aid_for_tar(self.eis.next_tar.to_bytes(3, "big"))
        self.execute_one(es5.create_isdp(isdp_aid, nvm_quota, self.s), "CreateISDP")
        self.eis.profile(isdp_aid).state = "SELECTABLE"
        return isdp_aid

    def enable_profile(self, isdp_aid: bytes) -> None:
        """ES5.EnableProfile (SGP.02 §5.4.4); the card then REFRESHes and notifies."""
        self.execute_one(es5.enable_profile(isdp_aid, self.s), "EnableProfile")

    def disable_profile(self, isdp_aid: bytes) -> None:
        """ES5.DisableProfile (SGP.02 §5.4.5): the fall-back profile becomes enabled."""
        self.execute_one(es5.disable_profile(isdp_aid, self.s), "DisableProfile")

    def delete_profile(self, isdp_aid: bytes) -> None:
        """ES5.DeleteProfile (SGP.02 §5.4.6)."""
        self.execute_one(es5.delete_profile(isdp_aid, self.s), "DeleteProfile")
        self.eis.profiles.pop(isdp_aid, None)

    def master_delete(self, isdp_aid: bytes, ident: es5.MasterDeleteData, token: bytes) -> None:
        """ES5.MasterDelete (SGP.02 §5.4.9) with the delete token the SM-DP computed (the SM-SR
        never holds the token key)."""
        body = es5.master_delete_body(isdp_aid, ident)
        self.execute_one(es5.master_delete_apdu(body, token, self.s), "MasterDelete")
        self.eis.profiles.pop(isdp_aid, None)

    def set_fallback_attribute(self, isdp_aid: bytes) -> None:
        """ES5.SetFallBackAttribute (SGP.02 §5.4.10): exactly one holder afterwards."""
        self.execute_one(es5.set_fallback_attribute(isdp_aid, self.s), "SetFallBackAttribute")
        for info in self.eis.profiles.values():
            info.fallback = info.isdp_aid == isdp_aid

    def set_emergency_profile_attribute(self, isdp_aid: bytes) -> None:
        """ES5.SetEmergencyProfileAttribute (SGP.02 v4.x); DGI from the settings [U]."""
        self.execute_one(es5.set_emergency_profile_attribute(isdp_aid, self.s), "SetEmergencyProfileAttribute")
        for info in self.eis.profiles.values():
            info.emergency = info.isdp_aid == isdp_aid

    def update_smsr_addressing_parameters(self, msisdn: str) -> None:
        """ES5.UpdateSMSRAddressingParameters (SGP.02 §5.4.12), DGI '3A07' 'A3'."""
        self.execute_one(es5.update_smsr_addressing(msisdn, self.s), "UpdateSMSRAddressingParameters")

    def audit(self) -> list[es5.IsdpStatus]:
        """ES5.AuditEIS / eUICCCapabilityAudit (SGP.02 §5.4.7): ECASD certificate and ISD-P list.

        GET STATUS P1 '40' lists every application and supplementary security domain (GP Card
        Spec §11.4.2), the ECASD and e.g. an ARA-M among them; only ISD-Ps (SGP.02 Annex H AIDs
        other than the ISD-R's and the ECASD's) are kept in the list.
        What does not fit into one answer comes with '6310' and is fetched with P2 b1 = 1 (next
        occurrence), in the same script since the card keeps that context only within one
        (TS 102 226 §5.1.1: the commands of a script share one selection).  The script carries
        ``audit_next_occurrences`` of them; the first one after the last page is refused by the
        card ('6985', nothing pending), which ends the script (TS 102 226 §5.1.1)."""
        nexts = [es5.get_status(None, self.s, next_occurrence=True)] * self.s.audit_next_occurrences
        apdus = [es5.get_data_ecasd_certificate(self.s), es5.get_status(None, self.s), *nexts]
        rapdus = self.send_script(self.s.isd_r_tar, [c_apdu(a) for a in apdus]).rapdus
        self.eis.log(f"eUICCCapabilityAudit: {[r.hex() for r in rapdus]}")
        status = b""
        for number, rapdu in enumerate(rapdus):
            sw = int.from_bytes(rapdu[-2:], "big")
            if number == 0 and sw != 0x9000:
                raise CommandFailed("eUICCCapabilityAudit (ECASD certificate)", sw, rapdus)
            if number > 0:
                status += rapdu[:-2]
                if sw == 0x9000:
                    break
                if sw != 0x6310:
                    raise CommandFailed("eUICCCapabilityAudit (GET STATUS)", sw, rapdus)
        else:
            last = int.from_bytes(rapdus[-1][-2:], "big") if rapdus else 0x6F00
            raise CommandFailed(f"eUICCCapabilityAudit: more ISD-Ps than {len(apdus) - 1} GET STATUS answers",
                                last, rapdus)
        self.eis.ecasd_certificate = es5.find_certificate(rapdus[0][:-2])
        entries = [e for e in es5.parse_get_status(status) if is_isdp_aid(e.aid, self.s)]
        for entry in entries:
            info = self.eis.profile(entry.aid)
            info.state, info.fallback = entry.state, entry.fallback
        return entries

    def confirm(self, notification: Notification) -> list[bytes]:
        """ES5.HandleNotificationConfirmation (SGP.02 §5.4.11); returns AIDs deleted by POL1."""
        data = self.execute_one(es5.confirm_notification(notification.sequence, self.s), "HandleNotificationConfirmation")
        return self.confirmed(notification, data)

    def confirm_all(self) -> list[Notification]:
        """Confirm every notification received so far; update the EIS from their content (the ISD-P
        of a '02', '03' or '05' notification is the enabled one)."""
        done, self.notifications = self.notifications, []
        for notification in done:
            self.apply_notification(notification)
            self.confirm(notification)
        return done

    def apply_notification(self, notification: Notification) -> None:
        """What a notification tells the EIS (SGP.02 §3.15): after a profile change ('02'), a
        rollback ('03', naming the profile enabled again) or a change after Fall-Back ('05') its
        ISD-P is the enabled one, the others are not."""
        if notification.isdp_aid is not None and notification.type in SWITCH_NOTIFICATIONS:
            for info in self.eis.profiles.values():
                if info.state == "ENABLED":
                    info.state = "DISABLED"
            self.eis.profile(notification.isdp_aid).state = "ENABLED"

    def confirmed(self, notification: Notification, data: bytes) -> list[bytes]:
        """The card answered ES5.HandleNotificationConfirmation with ``data`` (by SMS or inside its
        HTTPS notification session): the EIS records the sequence number and forgets the ISD-Ps
        POL1 deleted (SGP.02 §5.4.11); returns their AIDs."""
        deleted = es5.parse_confirmation_response(data)
        self.eis.notifications.append(notification.sequence)
        for aid in deleted:
            self.eis.profiles.pop(aid, None)
        return deleted

    def send_data(self, isdp_aid: bytes, items: list[bytes], chaining: int | None = None) -> ScriptResponse:
        """ES3.SendData relay (SGP.02 §5.3.x): a script for an ISD-P, by its TAR (SPEC_NOTES §8 item 7)."""
        return self.send_script(tar_of(isdp_aid), items, chaining)

    def finalise_isdr_handover(self, keys: list[tuple[int, int, int]]) -> None:
        """ES5.FinaliseISDRhandover (SGP.02 §5.4.13): delete the old SM-SR's keys."""
        self.execute_one(es5.finalise_isdr_handover(keys, self.s), "FinaliseISDRhandover")
        for kvn, _, _ in keys:
            self.eis.keysets.pop(kvn, None)
            self.eis.psk_keysets.pop(kvn, None)

    def establish_keyset(self, ke: KeyEstablishment, tar: bytes, prefix: list[bytes], what: str) -> EstablishedKeys:
        """Run GP Amd E scenario #3 (SPEC_NOTES §2.4) in two scripts joined by TS 102 226 chaining."""
        first, last = (CHAIN_FIRST, CHAIN_LAST) if self.s.script_chaining else (None, None)
        rapdus = self.execute([*prefix, ke.store_certificate()], tar, f"{what} (certificate)", first)
        ke.process_challenge(rapdus[-1][:-2])
        rapdus = self.execute([ke.store_keys()], tar, f"{what} (key agreement)", last)
        return ke.process_receipt(rapdus[-1][:-2])


def read_eid(terminal: Terminal) -> bytes:
    """SELECT the ISD-R, GET DATA '5A' (the EID, GP §11.3 / SGP.02 Annex H AID)."""
    _, sw = terminal.send(bytes.fromhex("00A4040010") + aid_for_tar(DEFAULT.isd_r_tar))
    data, sw2 = terminal.send(bytes.fromhex("80CA005A00"))
    if sw != 0x9000 or sw2 != 0x9000 or not data:
        raise OtaFailure(f"cannot read the EID (SELECT {sw:04X}, GET DATA {sw2:04X})")
    return data[2:] if data[:1] == b"\x5A" and len(data) == data[1] + 2 else data
