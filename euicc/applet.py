"""The on-card application model: one class per AID (GP Card Spec §6.1, Java Card's Applet).

An applet receives complete commands (already parsed; GET RESPONSE chaining is the channel's job)
and returns response data or raises :class:`~euicc.apdu.SwError`.  Its persistent state lives in
the card's store (``ctx.store``); its volatile state for the channel it is selected on lives in
``ctx.channel.applet_state``, which is emptied whenever it is (re)selected or the card resets.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from euicc.apdu import SW, Command, SwError

if TYPE_CHECKING:
    from euicc.gp.registry import RegistryEntry
    from euicc.context import Context


class Applet:
    """Base class of every on-card application (see applets/)."""

    APPLET_ID: ClassVar[str] = ""           # stable catalog id, kept in registry entries: never change it
    AID: ClassVar[bytes] = b""             # instance AID installed by default
    ADF_PREFIX: ClassVar[bytes] = b""      # or: the application of every ADF whose AID starts so
    KIND: ClassVar[str] = "APP"             # registry kind: ISD, SD or APP
    PRIVILEGES: ClassVar[int] = 0
    LIFECYCLE: ClassVar[int] = 0x07         # SELECTABLE
    INSTALL_BY_DEFAULT: ClassVar[bool] = False
    INS: ClassVar[frozenset[int]] = frozenset()   # instructions this applet processes itself
    HANDLES_SECURE_MESSAGING: ClassVar[bool] = False

    def __init__(self, entry: RegistryEntry) -> None:
        self.entry = entry

    @property
    def aid(self) -> bytes:
        return self.entry.aid

    def select(self, ctx: Context, cmd: Command) -> bytes:
        """Called on SELECT by AID; returns the FCI (GP Card Spec §11.9.3.1)."""
        from euicc.tlv import tlv
        return tlv(0x6F, tlv(0x84, self.aid) + tlv(0xA5, b""))

    def process(self, ctx: Context, cmd: Command) -> bytes:
        """Process one command whose INS is in `INS`."""
        raise SwError(SW.INS_NOT_SUPPORTED)
