"""Logical SE interfaces (LSIs, the eSIM ports of SGP.22 v3): ETSI TS 102 221 V17 §7.5.

A UICC that supports LSIs lets one terminal talk to several logical secure elements over one
physical interface: the LSIs are numbered from 0, LSI 0 is selected after the ATR, and the
MANAGE LSI command selects the LSI the following APDUs go to (mandatory with T=0; with T=1 the
NAD byte can do it too, which an APDU-level transport such as vpcd does not carry).  The setup
step (MANAGE LSI 'configure') may be skipped for a non-removable UICC whose LSI configuration is
agreed with the terminal beforehand (§7.5): this card's configuration is its
:class:`PortLayout` (``CardConfig.ports``), in use from the ATR on, which indicates the LSIs
(euicc.atr.presented).

Each LSI has its own logical channels, selections and verified PINs (the card session keeps one
:class:`euicc.lsi.LsiState` per LSI) and shows the file system named by its store key
(:meth:`PortLayout.fs_key`): the kernel knows nothing of profiles per port; whoever enables a
profile (euicc.profiles.manager, on behalf of an extension) writes the key.

The coding of MANAGE LSI (TS 102 221 V17 §11.1.2x) is taken from two independent public decoders
(no text of the clause was at hand; [U] until checked against it): CLA '8X', INS '7C', P1 the
operation (:data:`SELECT_LSI` '00' with P2 = the LSI, :data:`RESET_LSE` '01', assign / retrieve
SWP '02' / '03', :data:`CONFIGURE_LSIS` '04' with P2 '00'), the configuration a BER-TLV list:
'80' highest LSI (proposed / supported), '81' LSI options (b1: LSI indicated by the T=1 NAD
byte); SGP.22 v3 (§3.4.1, MEP setup) adds '90' and '91' (euicc.rsp.mep).
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc.profiles import keys as profile_keys

MANAGE_LSI_INS = 0x7C
"""[U] INS of MANAGE LSI (proprietary class '8X')."""
SELECT_LSI, RESET_LSE, ASSIGN_SWP, RETRIEVE_SWP, CONFIGURE_LSIS = 0x00, 0x01, 0x02, 0x03, 0x04
"""[U] P1 of MANAGE LSI: its operations."""
HIGHEST_LSI_TAG, LSI_OPTIONS_TAG = 0x80, 0x81
"""[U] Configure LSIs TLVs: the highest LSI, the LSI options."""
MAX_LSI = 0x1F
"""Highest LSI number (TS 102 221 V17 §7.5)."""


@dataclass(frozen=True)
class PortLayout:
    """The card's LSIs: `count` of them (1: no LSI support, the card of TS 102 221 before V17);
    LSIs from `profile_base` on can show an enabled profile, those below it always show the
    eUICC's own file system; the ISD-R answers on the LSIs of `isd_r_ports` (None: all).
    `mode` names the extension's use of the ports (SGP.22: the MEP option); the kernel does
    not read it."""

    count: int = 1
    profile_base: int = 0
    isd_r_ports: frozenset[int] | None = None
    mode: str = "off"

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_LSI + 1:
            raise ValueError(f"a UICC has 1 to {MAX_LSI + 1} LSIs")
        if not 0 <= self.profile_base < self.count:
            raise ValueError("the first profile port must be one of the LSIs")

    @property
    def profile_ports(self) -> range:
        """The LSIs that can show an enabled profile."""
        return range(self.profile_base, self.count)

    def fs_key(self, lsi: int) -> str | None:
        """Store key naming the file system LSI `lsi` shows (None: always the eUICC's own).  The
        first profile port uses the single-interface card's key, so a state file keeps its
        enabled profile whatever the layout."""
        if lsi < self.profile_base or lsi >= self.count:
            return None
        index = lsi - self.profile_base
        return profile_keys.ACTIVE_FS if index == 0 else profile_keys.port_fs(index)

    def isd_r_on(self, lsi: int) -> bool:
        """Whether the ISD-R can be selected on LSI `lsi`."""
        return self.isd_r_ports is None or lsi in self.isd_r_ports


SINGLE = PortLayout()
