"""The card session: one power cycle of the card, and the command dispatcher.

Everything volatile lives here and dies with a reset (ISO 7816-3 §6.2.2): open logical channels
and their selections, verified PINs, the terminal's capabilities, applet instances and the
extensions' typed records (euicc.volatile).  Whoever runs a command says where it came from
(euicc.context.Origin): :meth:`CardSession.process` the terminal, :meth:`CardSession.execute` the
OTA script engine's origin.  Commands that
concern the card as a whole (SELECT, MANAGE CHANNEL, GET RESPONSE, STATUS, TERMINAL CAPABILITY,
TERMINAL PROFILE) are handled here; the rest go to the selected applet or the file system.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from euicc import keys as card_keys
from euicc import tlv
from euicc.aids import ISD_R_AID
from euicc.apdu import SW, Command, SwError, check_header, sw_bytes
from euicc.cat.envelope import envelope
from euicc.cat.proactive import ProactiveSession
from euicc.channels import Application, Channel
from euicc.context import CardServices, Context, Origin
from euicc.fs.commands import FS_COMMANDS
from euicc.fs.filesystem import Cursor, FileSystem
from euicc.fs.model import ADF, BERTLV, LCSI_ACTIVATED, adf_path, fcp
from euicc.fs.pin import PinService
from euicc.gp.registry import KIND_APP, LCS_SELECTABLE, RegistryEntry
from euicc.nvm import NvmWriteError
from euicc.volatile import Lifetime, Volatile

if TYPE_CHECKING:
    from euicc.config import CardConfig

log = logging.getLogger(__name__)

_CAT_INS = frozenset({0x10, 0x12, 0x14, 0xC2})


class CardSession:
    """Volatile state of one power cycle, and the dispatcher of every command."""

    def __init__(self, services: CardServices, config: CardConfig) -> None:
        self.services = services
        self.config = config
        self.channels: dict[int, Channel] = {0: Channel(0)}
        self.verified: set[tuple[str, int]] = set()
        self.terminal_capability = b""
        self.cat = ProactiveSession()
        self.volatile = Volatile(Lifetime.POWER_CYCLE)   # the extensions' records (euicc.volatile)
        self._applets: dict[bytes, Application] = {}
        self._adf_apps: dict[str, Application | None] = {}
        self._fsid = ""
        self.fs: FileSystem
        self.pins: PinService
        self._bind_fs()

    def _bind_fs(self) -> None:
        """Present the active file system; after a profile switch every channel starts at the MF."""
        self._fsid = self.services.active_fsid
        self.fs = FileSystem(self.services.store, self._fsid)
        self.pins = PinService(self.services.store, self._fsid, self.verified)
        self._adf_apps.clear()
        for ch in self.channels.values():
            ch.cursor = Cursor()

    # -- the entry point ---------------------------------------------------------------------
    def process(self, apdu: bytes) -> bytes:
        try:
            cmd = Command.parse(apdu)
        except SwError as e:
            return sw_bytes(e.sw)
        ch = self.channels.get(cmd.channel)
        if ch is None or cmd.channel >= self.config.channels:
            return sw_bytes(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
        if cmd.ins == 0xC0:
            try:
                return ch.get_response(cmd, self.config.t0, self.config.le_policy)
            except SwError as e:
                return sw_bytes(e.sw)
        kept = ch.kept_answer(cmd)   # the re-send after 6Cxx: the answer, not a second run
        ch.clear()
        if kept is not None:
            return ch.deliver(cmd, kept.data, kept.sw, self.config.t0, self.cat.status)
        store = self.services.store
        try:
            with store.transaction():
                data = self._dispatch(ch, cmd, Origin.TERMINAL)
            sw = SW.OK
        except SwError as e:
            sw = e.sw
            data = e.data if (sw >> 8) in (0x62, 0x63) else b""
        except NvmWriteError:  # logged by the store; the old state is kept (TS 102 221 §10.2.1.3)
            data, sw = b"", SW.MEMORY_PROBLEM
        except Exception:  # a defect: never let it reach the terminal as a traceback
            log.exception("internal error processing %s", apdu.hex().upper())
            data, sw = b"", SW.TECHNICAL_PROBLEM
        if self._fsid != self.services.active_fsid:
            self._bind_fs()
        return ch.deliver(cmd, data, sw, self.config.t0, self.cat.status, self.config.le_policy)

    def execute(self, applet: Application | None, apdus: list[bytes], origin: Origin,
                pins: PinService | None = None) -> list[bytes]:
        """Run remote APDUs (ETSI TS 102 226 §5) from `origin` on a private channel with `applet`
        selected (None: the file system, from the MF).  Each response comes back whole, data and SW, in the
        transaction of the caller; the first APDU that fails ends the script (TS 102 226 §5.1.1).
        A GET RESPONSE returns the previous command's data again (TS 102 226 §5.1.1: how a script
        ends to get the last response data).  ``pins`` replaces the terminal's PIN state for the
        access conditions (the RFM access domain, TS 102 226 §8.2.1.3.2.4).
        """
        ch = Channel(0, applet=applet)
        out: list[bytes] = []
        terminal_pins, self.pins = self.pins, pins or self.pins
        try:
            for apdu in apdus:
                try:
                    cmd = Command.parse(apdu)
                    if cmd.ins == 0xC0 and not cmd.proprietary:
                        out.append(ch.get_response(cmd, t0=False))
                        continue
                    ch.clear()
                    with self.services.store.savepoint():
                        data, sw = self._dispatch(ch, cmd, origin), int(SW.OK)
                except SwError as e:
                    data, sw = (e.data if (e.sw >> 8) in (0x62, 0x63) else b""), e.sw
                ch.pending, ch.pending_sw = data, sw
                out.append(data + sw_bytes(sw))
                if (sw >> 8) not in (0x90, 0x91, 0x61, 0x62, 0x63):
                    break
        finally:
            self.pins = terminal_pins
        return out

    def _dispatch(self, ch: Channel, cmd: Command, origin: Origin) -> bytes:
        ins = cmd.ins
        applet = ch.applet
        claimed = applet is not None and ins in applet.INS
        if cmd.chaining:  # ISO 7816-4 §5.1.1.1: no command chaining on this card
            raise SwError(SW.COMMAND_CHAINING_NOT_SUPPORTED)
        if cmd.secure_messaging and not (claimed and applet.HANDLES_SECURE_MESSAGING):
            raise SwError(SW.SM_NOT_SUPPORTED)
        ctx = Context(self, ch, origin)
        if ins == 0xA4:
            return self._select(ctx, cmd)
        if ins == 0x70:
            return self._manage_channel(ch, cmd)
        if ins == 0xF2 and cmd.p1 <= 0x02:
            return self._status(ch, cmd)
        if ins == 0xAA:
            return self._terminal_capability(cmd)
        if ins in _CAT_INS:
            return self._cat(ctx, cmd)
        if claimed:
            return applet.process(ctx, cmd)
        if applet is None and ch.cursor.adf is not None:
            adf_app = self._adf_application(ch.cursor.adf)
            if adf_app is not None and ins in adf_app.INS:
                return adf_app.process(ctx, cmd)
        entry = FS_COMMANDS.get(ins)
        if entry is None:
            raise SwError(SW.INCORRECT_P1P2 if ins == 0xF2 else SW.INS_NOT_SUPPORTED)
        handler, cls = entry
        if cmd.proprietary != (cls == "P"):
            raise SwError(SW.CLA_NOT_SUPPORTED)
        return handler(ctx, cmd)

    # -- applets ------------------------------------------------------------------------------
    def applet(self, entry: RegistryEntry) -> Application:
        inst = self._applets.get(entry.aid)
        if inst is None or inst.entry != entry:
            cls = self.services.catalog.get(entry.applet)
            if cls is None:
                raise SwError(SW.FILE_NOT_FOUND)
            inst = self._applets[entry.aid] = cls(entry)
        return inst

    def _adf_application(self, path: str) -> Application | None:
        """The application that serves the ADF at `path` (its class found by AID prefix), if any;
        looked up once per ADF and session (also when there is none)."""
        if path in self._adf_apps:
            return self._adf_apps[path]
        desc = self.fs.node(path)
        inst = None
        if desc is not None:
            for name, cls in self.services.catalog.items():
                if cls.ADF_PREFIX and desc.aid.startswith(cls.ADF_PREFIX):
                    inst = cls(RegistryEntry(desc.aid, KIND_APP, LCS_SELECTABLE, applet=name))
                    break
        self._adf_apps[path] = inst
        return inst

    # -- SELECT (TS 102 221 §11.1.1, ISO 7816-4 §11.2.2, GP Card Spec §11.9) ------------------
    def _select(self, ctx: Context, cmd: Command) -> bytes:
        if cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        ch = ctx.channel
        if cmd.p1 == 0x04:
            return self._select_aid(ctx, cmd)
        if cmd.p2 not in (0x00, 0x04, 0x0C):
            raise SwError(SW.INCORRECT_P1P2)
        fs, cur, data = self.fs, ch.cursor, cmd.data
        if cmd.p1 == 0x00:
            if len(data) not in (0, 2):
                raise SwError(SW.WRONG_LENGTH)
            path = fs.select_fid(cur, int.from_bytes(data, "big") if data else 0x3F00)
        elif cmd.p1 == 0x01:
            if len(data) != 2:
                raise SwError(SW.WRONG_LENGTH)
            path = fs.select_child_df(cur, int.from_bytes(data, "big"))
        elif cmd.p1 == 0x03:
            if data:
                raise SwError(SW.WRONG_LENGTH)
            path = fs.select_parent(cur)
        elif cmd.p1 in (0x08, 0x09):
            if not data or len(data) % 2:
                raise SwError(SW.WRONG_LENGTH)
            fids = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
            path = fs.select_path(cur, fids, cmd.p1 == 0x08)
        else:
            raise SwError(SW.INCORRECT_P1P2)
        desc = fs.node(path)
        if desc is None:
            raise SwError(SW.FILE_NOT_FOUND)
        ch.applet, ch.applet_state = None, {}
        cur.select(path, desc)
        if desc.lcsi != LCSI_ACTIVATED:
            raise SwError(SW.SELECTED_FILE_INVALIDATED)
        return self._file_info(desc, cmd.p2, path)

    def _file_info(self, desc, p2: int, path: str) -> bytes:
        if p2 & 0x0C == 0x0C:
            return b""
        used = len(self.fs.data(path)) if desc.structure == BERTLV else 0
        template = fcp(desc, self.pins.enabled_map(desc.pins), used)
        return template if p2 & 0x0C == 0x04 else tlv.tlv(0x6F, tlv.unwrap(template, 0x62))

    def _select_aid(self, ctx: Context, cmd: Command) -> bytes:
        ch, p2 = ctx.channel, cmd.p2
        if p2 & 0xB0 or p2 & 0x0C == 0x08:  # b8, b6, b5 RFU; b4-b3 '10' (FMD) unsupported
            raise SwError(SW.INCORRECT_P1P2)
        aid = cmd.data
        if not 1 <= len(aid) <= 16:
            raise SwError(SW.WRONG_LENGTH)
        candidates: list[RegistryEntry | bytes] = self._registry_matches(aid)
        candidates += [a for a in self.fs.adfs() if a.startswith(aid)]
        if not candidates:
            raise SwError(SW.FILE_NOT_FOUND)
        target = self._occurrence(ch, candidates, p2 & 0x03)
        if p2 & 0x40:  # termination of the application session (TS 102 221 §11.1.1.2)
            if isinstance(target, bytes):
                if ch.cursor.adf == adf_path(target):
                    ch.cursor = Cursor()
            elif ch.applet is not None and ch.applet.aid == target.aid:
                ch.applet, ch.applet_state = None, {}
            return b""
        if isinstance(target, bytes):
            path = adf_path(target)
            desc = self.fs.node(path)
            if desc is None:
                raise SwError(SW.FILE_NOT_FOUND)
            ch.applet, ch.applet_state = None, {}
            ch.cursor.select(path, desc)
            if desc.lcsi != LCSI_ACTIVATED:
                raise SwError(SW.SELECTED_FILE_INVALIDATED)
            return self._file_info(desc, p2 & 0x0C, path)
        applet = self.applet(target)
        ch.applet, ch.applet_state = applet, {}
        fci = applet.select(ctx, cmd)
        return b"" if p2 & 0x0C == 0x0C else fci

    def _registry_matches(self, aid: bytes) -> list[RegistryEntry]:
        """Selectable registry entries whose AID starts with `aid` (GP Card Spec §11.9.2.2); the
        ISD-R answers at the AID the card presents (``CardConfig.isd_r_aid``; SGP.02 Annex H), not at
        the standard one when that differs."""
        registry = self.services.registry
        presented = self.config.isd_r_aid
        matches = registry.find_selectable(aid)
        if presented == ISD_R_AID:
            return list(matches)
        matches = [e for e in matches if e.aid != ISD_R_AID]
        isd_r = registry.get(ISD_R_AID)
        if isd_r is not None and presented.startswith(aid):
            matches.insert(0, isd_r)
        return matches

    def _occurrence(self, ch: Channel, candidates: list, mode: int):
        """First '00', last '01', next '02' or previous '03' occurrence (ISO 7816-4 Table 39)."""
        if mode == 0x00:
            return candidates[0]
        if mode == 0x01:
            return candidates[-1]
        current = None
        for i, c in enumerate(candidates):
            if isinstance(c, bytes):
                if ch.applet is None and ch.cursor.adf == adf_path(c):
                    current = i
            elif ch.applet is not None and ch.applet.aid == c.aid:
                current = i
        if current is None:
            return candidates[0] if mode == 0x02 else candidates[-1]
        nxt = current + (1 if mode == 0x02 else -1)
        if not 0 <= nxt < len(candidates):
            raise SwError(SW.FILE_NOT_FOUND)
        return candidates[nxt]

    # -- MANAGE CHANNEL (TS 102 221 §11.1.17, ISO 7816-4 §11.1.2) -----------------------------
    def _manage_channel(self, ch: Channel, cmd: Command) -> bytes:
        if cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        limit = self.config.channels
        if cmd.p1 == 0x00:
            if cmd.p2 == 0:
                free = [n for n in range(1, limit) if n not in self.channels]
                if not free:
                    raise SwError(SW.FUNCTION_NOT_SUPPORTED)
                number = free[0]
            elif cmd.p2 >= limit or cmd.p2 > 19:
                raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
            elif cmd.p2 in self.channels:
                raise SwError(SW.INCORRECT_P1P2)
            else:
                number = cmd.p2
            new = Channel(number)
            if ch.number != 0:  # opened from a non-basic channel: inherit its selection
                src = ch.cursor
                new.cursor = Cursor(src.df, src.ef, src.adf, src.record)
                new.applet = ch.applet
            self.channels[number] = new
            return bytes((number,)) if cmd.p2 == 0 else b""
        if cmd.p1 == 0x80:
            number = cmd.p2 or ch.number
            if number == 0:
                raise SwError(SW.INCORRECT_P1P2)
            if number not in self.channels:
                raise SwError(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
            del self.channels[number]
            return b""
        raise SwError(SW.INCORRECT_P1P2)

    # -- STATUS (TS 102 221 §11.1.2) -----------------------------------------------------------
    def _status(self, ch: Channel, cmd: Command) -> bytes:
        if not cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        if cmd.p2 == 0x0C:
            return b""
        if cmd.p2 == 0x00:
            desc = self.fs.node(ch.cursor.df)
            if desc is None:
                raise SwError(SW.FILE_NOT_FOUND)
            return fcp(desc, self.pins.enabled_map(desc.pins))
        if cmd.p2 == 0x01:
            if ch.applet is not None:
                aid = ch.applet.aid
                return tlv.tlv(0x84, self.config.isd_r_aid if aid == ISD_R_AID else aid)
            adf = self.fs.node(ch.cursor.adf) if ch.cursor.adf else None
            return tlv.tlv(0x84, adf.aid) if adf is not None and adf.kind == ADF else b""
        raise SwError(SW.INCORRECT_P1P2)

    # -- terminal information (TS 102 221 §11.1.19 TERMINAL CAPABILITY, §11.2.1 TERMINAL PROFILE)
    def _terminal_capability(self, cmd: Command) -> bytes:
        check_header(cmd, data=True)
        try:
            tlv.parse(cmd.data)
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        self.terminal_capability = cmd.data
        return b""

    def _cat(self, ctx: Context, cmd: Command) -> bytes:
        """TERMINAL PROFILE, FETCH, TERMINAL RESPONSE, ENVELOPE (TS 102 221 §11.2); then the
        toolkit's event registration and timers (euicc.cat.toolkit)."""
        if cmd.ins == 0x12:
            return self.cat.fetch(cmd)
        if cmd.ins == 0x10:
            data = self.cat.terminal_profile_command(cmd)
        elif cmd.ins == 0x14:
            data = self.cat.terminal_response(cmd)
        else:
            data = envelope(ctx, cmd, self.services.envelope_handlers)
        self.services.toolkit.after_command(ctx, cmd.ins)
        return data
