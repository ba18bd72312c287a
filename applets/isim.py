"""The ISIM application: 3GPP TS 31.103 §7.1.2 AUTHENTICATE in the IMS AKA security context."""
from __future__ import annotations

from typing import ClassVar

from applets.usim import Usim, lv
from euicc.auth.aka import AkaSuccess


class Isim(Usim):
    """The ISIM ADF application (AID prefix A0000000871004)."""

    APPLET_ID = "isim"
    ADF_PREFIX: ClassVar[bytes] = bytes.fromhex("A0000000871004")
    INS = frozenset({0x88})
    CONTEXTS: ClassVar[frozenset[int]] = frozenset({0x81})

    def success_response(self, outcome: AkaSuccess) -> bytes:
        """'DB' RES, CK, IK — no Kc in the IMS context (TS 31.103 §7.1.2.1)."""
        return b"\xdb" + lv(outcome.res) + lv(outcome.ck) + lv(outcome.ik)
