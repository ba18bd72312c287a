"""Templates of ADF.CSIM: TCA SAIP v3.3.1 §9.7 (OIDs 2.23.143.1.2.10 / .11 and their v2).

[U] The §9.7 table itself was not available: FIDs below are those of 3GPP2 C.S0065 §5.2 and the
sizes its minimum file sizes as recalled, unverified (settings; a package that states
``efFileSize`` overrides them, and a fill longer than the size is refused).  Files not listed here
are sized by the package's fill commands (``Template.sized_by_fill``), an approximation.  CSIM files are installed and readable; CAVE
authentication is not provided.
"""
from __future__ import annotations

from .base import ADF_KIND, CY, LF, ROOT_CSIM, ROOT_NONE, TR, FileTemplate as F, Template

_CSIM = (
    F("adf-csim", None, ADF_KIND, arr=14),
    F("ef-arr", 0x6F06, LF, arr=10),
    F("ef-call-count", 0x6F21, CY, 2, records=1),
    F("ef-imsi-m", 0x6F22, TR, 10),
    F("ef-imsi-t", 0x6F23, TR, 10),
    F("ef-tmsi", 0x6F24, TR, 16),
    F("ef-ah", 0x6F25, TR, 2),
    F("ef-aop", 0x6F26, TR, 1),
    F("ef-aloc", 0x6F27, TR, 7),
    F("ef-snregi", 0x6F2A, TR, 7),
    F("ef-distregi", 0x6F2B, TR, 8),
    F("ef-accolc", 0x6F2C, TR, 1),
    F("ef-term", 0x6F2D, TR, 1),
    F("ef-acp", 0x6F2F, TR, 7),
    F("ef-spc", 0x6F33, TR, 3),
    F("ef-otapaspc", 0x6F34, TR, 1),
    F("ef-namlock", 0x6F35, TR, 1),
    F("ef-ota", 0x6F36, TR, 17),
    F("ef-sp", 0x6F37, TR, 1),
    F("ef-esn-meid-me", 0x6F38, TR, 8),
    F("ef-usgind", 0x6F42, TR, 1),
    F("ef-ad", 0x6F43, TR, 3),
    F("ef-max-prl", 0x6F45, TR, 4),
    F("ef-spcs", 0x6F46, TR, 1),
    F("ef-mecrp", 0x6F55, TR, 3),
)

TEMPLATES = (
    Template("2.23.143.1.2.10", "csim", True, ROOT_NONE, _CSIM, sized_by_fill=True),
    Template("2.23.143.1.2.10.2", "csim", True, ROOT_NONE, _CSIM, sized_by_fill=True),
    Template("2.23.143.1.2.11", "opt-csim", False, ROOT_CSIM, (), sized_by_fill=True),
    Template("2.23.143.1.2.11.2", "opt-csim", False, ROOT_CSIM, (), sized_by_fill=True),
)
