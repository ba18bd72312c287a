"""Settings of a card that are not part of its persistent state (ISO/IEC 7816-3 §8, TS 102 221 §11.1.17)."""
from __future__ import annotations

from dataclasses import dataclass

from euicc.aids import ISD_R_AID
from euicc.channels import LE_6CXX
from euicc.ports import SINGLE, PortLayout


@dataclass(frozen=True)
class CardConfig:
    """Settings of a card that are not part of its persistent state (a vendor quirk profile,
    ``euicc-emu run --quirks``, sets them all; the defaults are this emulator's own card).

    ``euicc_info`` is the SGP.22 extension's EUICCInfo values (euicc.rsp.euicc_info.EuiccInfoSettings,
    None: its defaults); the kernel carries it without reading it.
    """

    atr: bytes | None = None     # None: DEFAULT_ATR (T=0 only); see euicc.atr.INTERFACES
    t0: bool = True              # T=0 response delivery (61xx / 6Cxx); False: direct (T=1 only)
    channels: int = 20           # logical channels including the basic one (TS 102 221: up to 20)
    le_policy: str = LE_6CXX     # T=0 case 2 with a wrong Le: euicc.channels.LE_POLICIES
    max_store_data_block: int | None = None   # longest STORE DATA block (bytes) the ISD-R takes
    isd_r_aid: bytes = ISD_R_AID              # the AID the ISD-R answers at (SGP.02 Annex H by default)
    # the applications the eUICC's own EF.DIR lists (the MF while no profile is enabled, TS 102 221
    # §13.1), written when a card is created; None: the ISD-R (at isd_r_aid) and the ECASD
    ef_dir_aids: tuple[bytes, ...] | None = None
    euicc_info: object | None = None          # the SGP.22 extension's EUICCInfo settings
    disabled: frozenset[str] = frozenset()    # optional features that do not answer (Card features_of)
    ports: PortLayout = SINGLE                # logical SE interfaces (eSIM ports, euicc.ports)
