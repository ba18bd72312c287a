"""The card session's logical SE interfaces and the MANAGE LSI command (ETSI TS 102 221 V17
§7.5; the layout and the command's coding: :mod:`euicc.ports`).

Each LSI keeps its own logical channels, selections, verified PINs and proactive session and
shows the file system its store key names (:meth:`euicc.ports.PortLayout.fs_key`).  LSI 0 is selected after the ATR;
the configuration is agreed beforehand (§7.5: a non-removable UICC may skip the setup step), so
every LSI of the layout is usable until a "configure LSIs" lowers the highest one.  The
extensions add their own configuration TLVs (SGP.22: the MEP mode) through
``CardServices.lsi_configurators``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.atr import presented
from euicc.cat.proactive import ProactiveSession
from euicc.channels import Channel
from euicc.fs.filesystem import Cursor, FileSystem
from euicc.fs.pin import PinService
from euicc.ports import (ASSIGN_SWP, CONFIGURE_LSIS, HIGHEST_LSI_TAG, LSI_OPTIONS_TAG, RESET_LSE,
                         RETRIEVE_SWP, SELECT_LSI)
from euicc.profiles.manager import NO_PROFILE_FSID

if TYPE_CHECKING:
    from euicc.channels import Application
    from euicc.config import CardConfig
    from euicc.context import CardServices, Context

LSI_OPTIONS_NONE = 0x00
"""LSI options of the session: the LSI is chosen with MANAGE LSI, not the T=1 NAD byte (the card
is reached through an APDU transport)."""


class LsiState:
    """What one logical SE interface holds: its logical channels, verified PINs, proactive
    session (each LSE has its own terminal, TS 102 223) and the file system it shows."""

    def __init__(self, services: CardServices, fsid: str) -> None:
        self.channels: dict[int, Channel] = {0: Channel(0)}
        self.cat = ProactiveSession()
        self.verified: set[tuple[str, int]] = set()
        self.adf_apps: dict[str, Application | None] = {}
        self.fsid = ""
        self.fs: FileSystem
        self.pins: PinService
        self.bind(services, fsid)

    def bind(self, services: CardServices, fsid: str) -> None:
        """Show the file system `fsid`; after a profile switch every channel starts at the MF."""
        self.fsid = fsid
        self.fs = FileSystem(services.store, fsid)
        self.pins = PinService(services.store, fsid, self.verified)
        self.adf_apps.clear()
        for ch in self.channels.values():
            ch.cursor = Cursor()


class Lsis:
    """The LSIs of one card session and the one the terminal's APDUs go to."""

    def __init__(self, services: CardServices, config: CardConfig) -> None:
        self.services = services
        self.config = config
        self.states = [LsiState(services, self.shown_fsid(n)) for n in range(config.ports.count)]
        self.index = 0
        self.limit = config.ports.count           # LSIs usable in this card session

    @property
    def current(self) -> LsiState:
        return self.states[self.index]

    def shown_fsid(self, lsi: int) -> str:
        """The file system LSI `lsi` shows: its store key's (euicc.ports.PortLayout.fs_key)."""
        ports = self.config.ports
        key = ports.fs_key(lsi)
        if key is None:
            return NO_PROFILE_FSID
        return self.services.store.get(key, "" if lsi == ports.profile_base else NO_PROFILE_FSID)

    def rebind_changed(self) -> None:
        """Each LSI whose enabled profile changed shows the new file system."""
        for number, state in enumerate(self.states):
            fsid = self.shown_fsid(number)
            if state.fsid != fsid:
                state.bind(self.services, fsid)

    def manage_lsi(self, ctx: Context, cmd: Command) -> bytes:
        """MANAGE LSI: select an LSI, reset its LSE, configure the LSIs (SWP: not supported)."""
        if cmd.p1 == SELECT_LSI:
            if cmd.data:
                raise SwError(SW.WRONG_LENGTH)
            self.index = self._lsi(cmd.p2)
            return b""
        if cmd.p1 == RESET_LSE:
            lsi = self._lsi(cmd.p2)
            self.states[lsi] = LsiState(self.services, self.shown_fsid(lsi))
            return tlv.tlv(HIGHEST_LSI_TAG, presented(self.config.atr, True))
        if cmd.p1 == CONFIGURE_LSIS and cmd.p2 == 0:
            return self._configure(ctx, cmd.data)
        if cmd.p1 in (ASSIGN_SWP, RETRIEVE_SWP):
            raise SwError(SW.FUNCTION_NOT_SUPPORTED)
        raise SwError(SW.INCORRECT_P1P2)

    def _lsi(self, number: int) -> int:
        if number >= self.limit:
            raise SwError(SW.INCORRECT_P1P2)
        return number

    def _configure(self, ctx: Context, data: bytes) -> bytes:
        """The highest LSI both sides support, the session's options, the extensions' TLVs."""
        try:
            request = dict(tlv.parse(data))
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        proposed = request.get(HIGHEST_LSI_TAG, b"")
        if len(proposed) != 1:
            raise SwError(SW.INCORRECT_DATA)
        highest = min(proposed[0], self.config.ports.count - 1)
        extra = b"".join(configure(ctx, request) for configure in self.services.lsi_configurators)
        self.limit = highest + 1
        if self.index > highest:
            self.index = 0
        return (tlv.tlv(HIGHEST_LSI_TAG, bytes((highest,)))
                + tlv.tlv(LSI_OPTIONS_TAG, bytes((LSI_OPTIONS_NONE,))) + extra)
