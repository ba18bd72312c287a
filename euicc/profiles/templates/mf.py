"""Templates of the MF and DF.CD: TCA SAIP v3.3.1 §9.2 (MF, created by default) and §9.3 (CD).

ARR record numbers refer to EF.ARR '2F06' of the MF (SAIP §8.3.2: implicit for the MF and the
files directly under it).
"""
from __future__ import annotations

from .base import (DF_KIND, LF, MF_KIND, ROOT_MF, ROOT_NONE, TR, FileTemplate as F,
               Template)

MF = Template("2.23.143.1.2.1", "mf", True, ROOT_NONE, (
    F("mf", 0x3F00, MF_KIND, arr=14),
    F("ef-pl", 0x2F05, TR, 2, arr=1, sfi=0x05, default="FF...FF"),
    F("ef-iccid", 0x2FE2, TR, 10, arr=11, sfi=0x02),
    F("ef-dir", 0x2F00, LF, arr=10, sfi=0x1E),
    F("ef-arr", 0x2F06, LF, arr=10, sfi=0x06),
    F("ef-umpc", 0x2F08, TR, 5, arr=10, sfi=0x08),
))

CD = Template("2.23.143.1.2.2", "cd", False, ROOT_MF, (
    F("df-cd", 0x7F11, DF_KIND, arr=14),
    F("ef-launchpad", 0x6F01, TR, arr=2, parent="df-cd"),
    F("ef-icon", None, TR, arr=2, parent="df-cd"),          # FIDs '6F40'..'6F7E'
))

TEMPLATES = (MF, CD)
