"""Templates of ADF.ISIM: TCA SAIP v3.3.1 §9.6.1 (created by default) and §9.6.2 (optional
files, v1 and v2).  FIDs and SFIs as TS 31.103 §4.2 defines them; ARR record numbers refer to
EF.ARR '6F06' of ADF.ISIM.
"""
from __future__ import annotations

from .base import ADF_KIND, BT, LF, ROOT_ISIM, ROOT_NONE, TR, FileTemplate as F, Template

_ISIM = (
    F("adf-isim", None, ADF_KIND, arr=14),
    F("ef-impi", 0x6F02, TR, arr=2, sfi=0x02),
    F("ef-impu", 0x6F04, LF, arr=2, sfi=0x04, records=1),
    F("ef-domain", 0x6F03, TR, arr=2, sfi=0x05),
    F("ef-ist", 0x6F07, TR, 14, arr=2, sfi=0x07),
    F("ef-ad", 0x6FAD, TR, 3, arr=10, sfi=0x03, default="000000"),
    F("ef-arr", 0x6F06, LF, arr=10, sfi=0x06),
)

_OPT_ISIM = (
    F("ef-pcscf", 0x6F09, LF, arr=2, records=1),
    F("ef-sms", 0x6F3C, LF, 176, arr=5, default="00FF...FF", records=10),
    F("ef-smsp", 0x6F42, LF, 38, arr=5, default="FF...FF", records=1),
    F("ef-smss", 0x6F43, TR, 2, arr=5, default="FFFF"),
    F("ef-smsr", 0x6F47, LF, 30, arr=5, default="00FF...FF", records=10),
    F("ef-gbabp", 0x6FD5, TR, arr=5, default="FF...FF"),
    F("ef-gbanl", 0x6FD7, LF, arr=2, default="FF...FF"),
    F("ef-nafkca", 0x6FDD, LF, arr=2, default="FF...FF"),
    F("ef-uicciari", 0x6FE7, LF, arr=2),
    F("ef-frompreferred", 0x6FF7, TR, 1, arr=2, default="00"),
    F("ef-imsconfigdata", 0x6FF8, BT, arr=2),
    F("ef-xcapconfigdata", 0x6FFC, BT, arr=2),
    F("ef-webrtcuri", 0x6FFA, LF, arr=2),
)

TEMPLATES = (
    Template("2.23.143.1.2.8", "isim", True, ROOT_NONE, _ISIM),
    Template("2.23.143.1.2.9", "opt-isim", False, ROOT_ISIM, _OPT_ISIM),
    Template("2.23.143.1.2.9.2", "opt-isim", False, ROOT_ISIM, _OPT_ISIM),
)
