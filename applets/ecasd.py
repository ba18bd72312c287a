"""ECASD, the eUICC Controlling Authority Security Domain: SGP.22 v2.5 §2.2.2 / SGP.02 v4.2 §2.2.3.

Holds the eUICC's credentials; GET DATA '5A' returns the EID (SGP.02 §5.1.1.2.x; pySim identifies
an SGP.02 eUICC this way).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.aids import ECASD_AID
from euicc.apdu import SW, Command, SwError
from euicc.applet import Applet
from euicc.gp.registry import KIND_SD, LCS_PERSONALIZED, PRIV_SECURITY_DOMAIN

if TYPE_CHECKING:
    from euicc.context import Context


class Ecasd(Applet):
    """ECASD: A0000005591010FFFFFFFF8900000200 (SGP.02 Annex H)."""

    APPLET_ID = "ecasd"
    AID = ECASD_AID
    KIND = KIND_SD
    LIFECYCLE = LCS_PERSONALIZED
    PRIVILEGES = PRIV_SECURITY_DOMAIN
    INSTALL_BY_DEFAULT = True
    INS = frozenset({0xCA})

    def process(self, ctx: Context, cmd: Command) -> bytes:
        """GET DATA (GP Card Spec v2.3.1 §11.3)."""
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        if cmd.p1p2 == 0x005A:
            return tlv.tlv(0x5A, ctx.services.eid)
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
