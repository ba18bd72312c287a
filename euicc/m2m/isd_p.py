"""ISD-P, the security domain of one profile: SGP.22 v2.5 §2.2.3 / SGP.02 v4.2 §2.2.2.

Instances are created per profile by the ISD-R (their AIDs follow SGP.02 Annex H); the terminal
cannot select them.  ES8 (SGP.02) commands reach an ISD-P through the ISD-R.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.apdu import Command
from euicc.applet import Applet
from euicc.m2m import es8
from euicc.gp.registry import KIND_SD, LCS_SELECTABLE
from euicc.profiles.manager import ISD_P_APPLET, ISD_P_MODULE, ISDP_PRIVILEGES

if TYPE_CHECKING:
    from euicc.context import Context


class IsdP(Applet):
    """The ISD-P executable module (A0000005591010FFFFFFFF8900000E00); one instance per profile."""

    APPLET_ID = ISD_P_APPLET
    AID = ISD_P_MODULE
    KIND = KIND_SD
    LIFECYCLE = LCS_SELECTABLE
    PRIVILEGES = ISDP_PRIVILEGES
    INS = frozenset({0x50, 0x82, 0xE2, 0xD8})
    HANDLES_SECURE_MESSAGING = True

    def process(self, ctx: Context, cmd: Command) -> bytes:
        """ES8 commands of the SM-DP in an SCP03 session (SGP.02 v4.2 §4.1.3.4)."""
        return es8.process_isdp(ctx, cmd, self.aid)
