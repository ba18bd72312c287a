"""Templates of DF.TELECOM (TCA SAIP v3.3.1 §9.4, v1 and v2 OIDs) and of DF.PHONEBOOK, which
DF.TELECOM contains and ADF.USIM may contain (§9.5.3).

ARR record numbers refer to EF.ARR '6F06' of the DF (SAIP §8.3.2).  Files whose FID is one of a
range (EF.EXT1 '4F38'..'4F3F', EF.IIDF '4F40'..'4F7F', ...) take it from the package.
"""
from __future__ import annotations

from .base import (BT, DF_KIND, LF, ROOT_MF, ROOT_USIM, TR, FileTemplate as F, Template)


def phonebook(parent: str) -> tuple[F, ...]:
    """DF.PHONEBOOK and its EFs (TS 31.102 §4.4.2), under `parent` ("" = template root)."""
    pb = "df-phonebook"
    return (
        F(pb, 0x5F3A, DF_KIND, arr=14, parent=parent),
        F("ef-pbr", 0x4F30, LF, arr=2, parent=pb),
        F("ef-ext1", None, LF, 13, arr=5, default="00FF...FF", parent=pb),
        F("ef-aas", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-gas", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-psc", 0x4F22, TR, 4, arr=5, default="00000000", parent=pb),
        F("ef-cc", 0x4F23, TR, 2, arr=5, default="0000", parent=pb),
        F("ef-puid", 0x4F24, TR, 2, arr=5, default="0000", parent=pb),
        F("ef-iap", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-adn", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-pbc", None, LF, 2, arr=5, default="00...00", parent=pb),
        F("ef-anr", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-puri", None, LF, arr=5, parent=pb),
        F("ef-email", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-sne", None, LF, arr=5, default="FF...FF", parent=pb),
        F("ef-uid", None, LF, 2, arr=5, default="0000", parent=pb),
        F("ef-grp", None, LF, arr=5, default="00...00", parent=pb),
        F("ef-ccp1", None, LF, arr=5, default="FF...FF", parent=pb),
    )


_TELECOM = "df-telecom"
_FILES = (
    F(_TELECOM, 0x7F10, DF_KIND, arr=14),
    F("ef-arr", 0x6F06, LF, arr=10, parent=_TELECOM),
    F("ef-rma", 0x6F53, LF, arr=3, parent=_TELECOM),
    F("ef-sume", 0x6F54, TR, 22, arr=3, parent=_TELECOM),
    F("ef-ice-dn", 0x6FE0, LF, 24, arr=9, default="FF...FF", records=50, parent=_TELECOM),
    F("ef-ice-ff", 0x6FE1, LF, arr=9, default="FF...FF", parent=_TELECOM),
    F("ef-psismsc", 0x6FE5, LF, arr=5, parent=_TELECOM),
    F("df-graphics", 0x5F50, DF_KIND, arr=14, parent=_TELECOM),
    F("ef-img", 0x4F20, LF, arr=2, default="00FF...FF", parent="df-graphics"),
    F("ef-iidf", None, TR, arr=2, default="FF...FF", parent="df-graphics"),
    F("ef-ice-graphics", 0x4F21, BT, arr=9, parent="df-graphics"),
    F("ef-launch-scws", 0x4F01, TR, arr=10, parent="df-graphics"),
    F("ef-icon", None, TR, arr=10, parent="df-graphics"),
    *phonebook(_TELECOM),
    F("df-multimedia", 0x5F3B, DF_KIND, arr=14, parent=_TELECOM),
    F("ef-mml", 0x4F47, BT, arr=5, parent="df-multimedia"),
    F("ef-mmdf", 0x4F48, BT, arr=5, parent="df-multimedia"),
    F("df-mmss", 0x5F3C, DF_KIND, arr=14, parent=_TELECOM),
    F("ef-mlpl", 0x4F20, TR, arr=2, sfi=0x01, parent="df-mmss"),
    F("ef-mspl", 0x4F21, TR, arr=2, sfi=0x02, parent="df-mmss"),
    F("ef-mmssmode", 0x4F22, TR, 1, arr=2, sfi=0x03, parent="df-mmss"),
    F("df-mcs", 0x5F3D, DF_KIND, arr=14, parent=_TELECOM),
    F("ef-mst", 0x4F01, TR, arr=2, sfi=0x01, parent="df-mcs"),
    F("ef-mcs-config", 0x4F02, BT, arr=2, sfi=0x02, parent="df-mcs"),
    F("df-v2x", 0x5F3E, DF_KIND, arr=14, parent=_TELECOM),
    F("ef-vst", 0x4F01, TR, arr=2, sfi=0x01, parent="df-v2x"),
    F("ef-v2x-config", 0x4F02, BT, arr=2, sfi=0x02, parent="df-v2x"),
    F("ef-v2xp-pc5", 0x4F03, TR, arr=2, parent="df-v2x"),
    F("ef-v2xp-Uu", 0x4F04, TR, arr=2, parent="df-v2x"),
)

TELECOM = Template("2.23.143.1.2.3", "telecom", False, ROOT_MF, _FILES)
TELECOM_V2 = Template("2.23.143.1.2.3.2", "telecom", False, ROOT_MF, _FILES)
PHONEBOOK = Template("2.23.143.1.2.6", "phonebook", False, ROOT_USIM, phonebook(""))

TEMPLATES = (TELECOM, TELECOM_V2, PHONEBOOK)
