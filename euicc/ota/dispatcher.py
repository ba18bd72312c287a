"""The SMS-PP OTA path of the card: ENVELOPE (SMS-PP DATA DOWNLOAD, ETSI TS 102 223 §7.1.1) ->
SMS-DELIVER (3GPP TS 23.040 §9.2.2.1, TP-PID '7F', concatenated parts reassembled in volatile
state) -> Command Packet (TS 31.115 §4, UDH IEI '70') -> SCP80 (TS 102 225 §5.1) with the key
sets of the TAR's owner and its persisted counter -> TAR routing -> remote APDUs (TS 102 226 §5,
compact or expanded; SCP03t TLVs for an ISD-P, SGP.02 §4.1.3.3) run with
:meth:`CardSession.execute` -> PoR (TS 102 225 §5.2) in the ENVELOPE response, or by SMS-SUBMIT
with SEND SHORT MESSAGE when SPI byte 2 b6 asks (TS 31.115 §4.2).

TAR routing (SGP.02 Annex H, TS 101 220 Annex D): '000001' ISD-R; the TAR inside an ISD-P's AID
(secured with the ISD-R key sets by default, ``isdp_tars_use_isdr_keys``); the enabled profile's
own RFM instances and MNO-SD RAM TARs with the profile's key sets (:mod:`euicc.ota.profile_ota`);
``rfm_tars`` -> remote file management of the enabled profile with SGP.02-installed key sets;
anything else -> PoR '09'.
The counter is persisted once the packet passed every check, whatever the commands then do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError, sw_bytes
from euicc.crypto.scp80 import (Accepted, Checksum, MinimumSecurityLevel, PorStatus, Refused, Scp80,
                                parse_command_packet)
from euicc.m2m import es8
from euicc.m2m.keystore import Scp80Keys
from euicc.m2m.mo_packet import send_short_messages
from euicc.m2m.personalization import ensure_personalized
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.runtime import M2mRuntime, OtaOrigin
from euicc.m2m.settings import ISDR_TAR
from euicc.ota import remote_apdu
from euicc.ota.profile_ota import ProfileKeys, RfmInstance, profile_route
from euicc.ota.envelope import TAG_SMS_PP_DOWNLOAD, parse_sms_pp_download
from euicc.aids import ISD_R_AID as ISDR_AID
from euicc.ota.errors import OtaFormatError
from euicc.ota.sms import (IEI_COMMAND_PACKET, IEI_RESPONSE_PACKET, PID_SIM_DATA_DOWNLOAD,
                           InformationElement, SmsDeliver)
from euicc.tlv import encode_length, tlv
from euicc.profiles.manager import ISD_P_ELF

if TYPE_CHECKING:
    from euicc.applet import Applet
    from euicc.session import Context



@dataclass(frozen=True)
class Route:
    """Where a TAR leads: the applet (None: file system), its AID, the key sets securing it and
    its Minimum Security Level (TS 102 226 §8.2.1.3.2.2)."""

    applet: Applet | None
    aid: bytes
    keys: Scp80Keys | ProfileKeys
    owner: str
    minimum: MinimumSecurityLevel = MinimumSecurityLevel()
    rfm: RfmInstance | None = None      # remote file management of the enabled profile
    scp03t: bool = False                # an ISD-P: SCP03t TLVs admitted in its scripts


class OtaDispatcher:
    """The 'D1' ENVELOPE handler."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime

    def __call__(self, ctx: Context, tag: int, value: bytes) -> bytes:
        download = parse_sms_pp_download(tlv(TAG_SMS_PP_DOWNLOAD, value))
        sms = SmsDeliver.parse(download.tpdu)
        if sms.pid != PID_SIM_DATA_DOWNLOAD:
            raise OtaFormatError("not a (U)SIM data download short message")
        state = self.runtime.volatile(ctx.session)
        message = state.reassembler.add(sms)
        if message is None:
            return b""
        if message.element(IEI_COMMAND_PACKET) is None:
            raise OtaFormatError("no Command Packet IE '70'")
        ensure_personalized(ctx.store)
        por, data = self.secured_packet(ctx, message.payload, sms)
        PlatformManagement(ctx, self.runtime).tick(state.attached)
        return data if not por else self._por_by_sms(ctx, sms, data)

    def secured_packet(self, ctx: Context, packet_bytes: bytes, sms: SmsDeliver) -> tuple[bool, bytes]:
        """Check, run and answer one Command Packet; returns (PoR by SMS-SUBMIT, PoR bytes)."""
        settings = self.runtime.settings.scp80
        packet = parse_command_packet(packet_bytes, settings)
        if isinstance(packet, Refused):
            return False, self._refusal(packet)
        route = self.route(ctx, packet.tar)
        if route is None:
            return False, self._refusal(Scp80(Scp80Keys.isdr(ctx.store), settings).refuse(
                packet, PorStatus.TAR_UNKNOWN, "TAR unknown"))
        scp80 = Scp80(route.keys, settings, route.minimum)
        result = scp80.unwrap(packet, route.keys.counter(packet.key_set))
        if isinstance(result, Refused):
            return False, self._refusal(result, scp80)
        route.keys.set_counter(packet.key_set, result.counter)
        # Only a cryptographic checksum proves the sender holds the key set (TS 102 225 §5.1.3);
        # a redundancy check (CRC) or ciphering alone grants no rights.
        kvn = packet.key_set if packet.spi.checksum == Checksum.CC else 0
        origin = OtaOrigin(packet.tar, route.owner, kvn, route.aid, sms.originator)
        data = self._run(ctx, route, origin, result)
        por = scp80.response_packet(result.por, PorStatus.POR_OK, data)
        return result.por.spi.por_via_submit and por is not None, por or b""

    def _refusal(self, refused: Refused, scp80: Scp80 | None = None) -> bytes:
        if refused.por is None:
            return b""
        scp80 = scp80 or Scp80(_NoKeys(), self.runtime.settings.scp80)
        return scp80.response_packet(refused.por, refused.status) or b""

    # -- routing -----------------------------------------------------------------------------
    def route(self, ctx: Context, tar: bytes) -> Route | None:
        store, registry, settings = ctx.store, ctx.registry, self.runtime.settings
        minimum = settings.isdr_minimum_security_level
        if tar == ISDR_TAR:
            entry = registry.get(ISDR_AID)
            return Route(ctx.session.applet(entry), ISDR_AID, Scp80Keys.isdr(store), "isdr", minimum) \
                if entry else None
        for entry in registry.entries():
            if entry.elf == ISD_P_ELF and entry.aid[12:15] == tar:
                keys = Scp80Keys.isdr(store) if settings.isdp_tars_use_isdr_keys else Scp80Keys.isdp(store, entry.aid)
                return Route(ctx.session.applet(entry), entry.aid, keys, "isdr" if settings.isdp_tars_use_isdr_keys
                             else entry.aid.hex().upper(), minimum, scp03t=True)
        own = profile_route(ctx, tar)
        if own is not None:
            return Route(own.ram, own.aid, own.keys, own.owner, own.minimum, rfm=own.rfm)
        enabled = ctx.services.profiles.enabled()
        if tar in settings.rfm_tars and enabled is not None:
            return Route(None, b"", Scp80Keys.isdp(store, enabled.isdp_aid), enabled.isdp_aid.hex().upper(), minimum)
        return None

    # -- remote APDUs ------------------------------------------------------------------------
    def _run(self, ctx: Context, route: Route, origin: OtaOrigin, accepted: Accepted) -> bytes:
        state = self.runtime.volatile(ctx.session)
        state.origin = origin
        try:
            return self._script(ctx, route, accepted.secured_data)
        finally:
            state.origin = None

    def _script(self, ctx: Context, route: Route, data: bytes) -> bytes:
        if not data:
            return b""
        if not remote_apdu.is_expanded(data):
            try:
                commands = remote_apdu.parse_compact(data)
            except OtaFormatError:
                return b""
            responses = self._execute(ctx, route, commands)
            return remote_apdu.compact_response(len(responses), responses[-1])
        extra = es8.SCP03T_TAGS if route.scp03t else frozenset()
        script = remote_apdu.parse_expanded(data, extra_tags=extra)
        items, pending, executed = [], [], 0
        stopped = False

        def flush() -> bool:
            nonlocal executed
            if not pending:
                return False
            responses = self._execute(ctx, route, list(pending))
            pending.clear()
            executed += len(responses)
            items.extend(tlv(remote_apdu.TAG_R_APDU, r) for r in responses)
            return remote_apdu.stops_script(int.from_bytes(responses[-1][-2:], "big"))

        for item in script.items:
            if item.tag == remote_apdu.TAG_C_APDU:
                pending.append(item.value)
            elif item.tag in extra:
                if flush():
                    stopped = True
                    break
                response = es8.scp03t_item(ctx, route.aid, item.tag, item.value)
                items.append(response)
                executed += 1
                if response[:1] == b"\x9f":
                    stopped = True
                    break
        if not stopped:
            flush()
        body = b"".join(items)
        if script.bad_format is not None:
            body += tlv(remote_apdu.TAG_BAD_FORMAT, bytes([script.bad_format]))
        if script.indefinite:
            return bytes([remote_apdu.TAG_RESPONSE_SCRIPT_INDEFINITE, 0x80]) + body + remote_apdu.END_OF_CONTENTS
        body = tlv(remote_apdu.TAG_EXECUTED, bytes([executed & 0xFF])) + body
        return bytes([remote_apdu.TAG_RESPONSE_SCRIPT]) + encode_length(len(body)) + body

    def _execute(self, ctx: Context, route: Route, commands: list[bytes]) -> list[bytes]:
        """Run remote APDUs; a security domain (ISD-R, ISD-P) accepts none from a packet without
        cryptographic checksum: it proves no key (TS 102 225 §5.1.3, SGP.02 §2.4.1), so the
        script stops at its first command with '6982' (TS 102 226 §5.1.1)."""
        if route.rfm is not None:
            return route.rfm.execute(ctx, commands)
        origin = self.runtime.volatile(ctx.session).origin
        if route.applet is not None and (origin is None or origin.kvn == 0):
            return [sw_bytes(SW.SECURITY_STATUS_NOT_SATISFIED)]
        return ctx.session.execute(route.applet, commands)

    # -- PoR by SMS-SUBMIT -------------------------------------------------------------------
    def _por_by_sms(self, ctx: Context, sms: SmsDeliver, por: bytes) -> bytes:
        """TS 31.115 §4.2 / §6.2: the Response Packet (UDH '71') in SMS-SUBMITs to the sender."""
        header = (InformationElement(IEI_RESPONSE_PACKET),)
        for command in send_short_messages(sms.originator, header, por[3:], sms.scts[-1]):
            if not ctx.session.cat.submit(command):
                raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        return b""


class _NoKeys:
    """Key provider of a refusal before any key set was identified (the PoR goes unsecured)."""

    def key(self, kvn, usage):  # noqa: ANN001, ANN201 - KeyProvider protocol
        return None

    def key_type(self, kvn):  # noqa: ANN001, ANN201 - KeyProvider protocol
        return None
