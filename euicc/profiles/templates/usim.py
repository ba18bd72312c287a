"""Templates of ADF.USIM and its DFs: TCA SAIP v3.3.1 §9.5.1 (USIM, created by default; v2 has a
17-byte EF.UST), §9.5.2 (optional USIM files), §9.5.4 (DF.GSM-ACCESS), §9.5.11 (DF.5GS, v1-v4),
§9.5.12 (DF.SAIP).  FIDs and SFIs as TS 31.102 §4.2 / §4.4 define them.

ARR record numbers refer to EF.ARR '6F06' of ADF.USIM (SAIP §8.3.2).
"""
from __future__ import annotations

from .base import (ADF_KIND, BT, CY, DF_KIND, LF, ROOT_NONE, ROOT_USIM, TR, FileTemplate as F,
               Template)

_PLMN_ACT_UNUSED = "FFFFFF0000"


def _usim(ust_size: int) -> tuple[F, ...]:
    return (
        F("adf-usim", None, ADF_KIND, arr=14),
        F("ef-imsi", 0x6F07, TR, 9, arr=2, sfi=0x07),
        F("ef-arr", 0x6F06, LF, arr=10, sfi=0x17),
        F("ef-keys", 0x6F08, TR, 33, arr=5, sfi=0x08, default="07FF...FF"),
        F("ef-keysPS", 0x6F09, TR, 33, arr=5, sfi=0x09, default="07FF...FF"),
        F("ef-hpplmn", 0x6F31, TR, 1, arr=2, sfi=0x12, default="0A"),
        F("ef-ust", 0x6F38, TR, ust_size, arr=2, sfi=0x04),
        F("ef-fdn", 0x6F3B, LF, 26, arr=8, default="FF...FF", records=20),
        F("ef-sms", 0x6F3C, LF, 176, arr=5, default="00FF...FF", records=10),
        F("ef-smsp", 0x6F42, LF, 38, arr=5, default="FF...FF", records=1),
        F("ef-smss", 0x6F43, TR, 2, arr=5, default="FFFF"),
        F("ef-spn", 0x6F46, TR, 17, arr=10),
        F("ef-est", 0x6F56, TR, 1, arr=8, sfi=0x05),
        F("ef-start-hfn", 0x6F5B, TR, 6, arr=5, sfi=0x0F, default="F00000F00000"),
        F("ef-threshold", 0x6F5C, TR, 3, arr=2, sfi=0x10, default="FFFFFF"),
        F("ef-psloci", 0x6F73, TR, 14, arr=5, sfi=0x0C, default="FFFFFFFFFFFFFFFFFFFF0000FF01"),
        F("ef-acc", 0x6F78, TR, 2, arr=2, sfi=0x06),
        F("ef-fplmn", 0x6F7B, TR, 12, arr=5, sfi=0x0D, default="FF...FF"),
        F("ef-loci", 0x6F7E, TR, 11, arr=5, sfi=0x0B, default="FFFFFFFFFFFFFF0000FF01"),
        F("ef-ad", 0x6FAD, TR, 4, arr=10, sfi=0x03, default="00000002"),
        F("ef-ecc", 0x6FB7, LF, 4, arr=10, sfi=0x01, records=1),
        F("ef-netpar", 0x6FC4, TR, 128, arr=5, default="FF...FF"),
        F("ef-epsloci", 0x6FE3, TR, 18, arr=5, sfi=0x1E,
          default="FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF000001"),
        F("ef-epsnsc", 0x6FE4, LF, 80, arr=5, sfi=0x18, default="FF...FF", records=1),
    )


_OPT_USIM = (
    F("ef-li", 0x6F05, TR, 6, arr=1, sfi=0x02, default="FF...FF"),
    F("ef-acmax", 0x6F37, TR, 3, arr=5, default="000000"),
    F("ef-acm", 0x6F39, CY, 3, arr=7, default="000000", records=1),
    F("ef-gid1", 0x6F3E, TR, 8, arr=2),
    F("ef-gid2", 0x6F3F, TR, 8, arr=2),
    F("ef-msisdn", 0x6F40, LF, 24, arr=2, default="FF...FF", records=1),
    F("ef-puct", 0x6F41, TR, 5, arr=5, default="FFFFFF0000"),
    F("ef-cbmi", 0x6F45, TR, 10, arr=5, default="FF...FF"),
    F("ef-cbmid", 0x6F48, TR, 10, arr=2, sfi=0x0E, default="FF...FF"),
    F("ef-sdn", 0x6F49, LF, 24, arr=2, default="FF...FF", records=10),
    F("ef-ext2", 0x6F4B, LF, 13, arr=8, default="00FF...FF", records=10),
    F("ef-ext3", 0x6F4C, LF, 13, arr=2, default="00FF...FF", records=10),
    F("ef-cbmir", 0x6F50, TR, 20, arr=5, default="FF...FF"),
    F("ef-plmnwact", 0x6F60, TR, 40, arr=5, sfi=0x0A, default=_PLMN_ACT_UNUSED * 8),
    F("ef-oplmnwact", 0x6F61, TR, 40, arr=2, sfi=0x11, default=_PLMN_ACT_UNUSED * 8),
    F("ef-hplmnwact", 0x6F62, TR, 5, arr=2, sfi=0x13, default=_PLMN_ACT_UNUSED),
    F("ef-dck", 0x6F2C, TR, 16, arr=5, default="FF...FF"),
    F("ef-cnl", 0x6F32, TR, 30, arr=2, default="FF...FF"),
    F("ef-smsr", 0x6F47, LF, 30, arr=5, default="00FF...FF", records=10),
    F("ef-bdn", 0x6F4D, LF, 25, arr=8, default="FF...FF", records=10),
    F("ef-ext5", 0x6F4E, LF, 13, arr=5, default="00FF...FF", records=10),
    F("ef-ccp2", 0x6F4F, LF, 15, arr=5, sfi=0x16, default="FF...FF", records=5),
    F("ef-ext4", 0x6F55, LF, 13, arr=8, default="00FF...FF", records=10),
    F("ef-acl", 0x6F57, TR, 101, arr=8, default="00FF...FF"),
    F("ef-cmi", 0x6F58, LF, 11, arr=2, default="FF...FF", records=10),
    F("ef-ici", 0x6F80, CY, 38, arr=5, sfi=0x14, default="FF...FF0000000001FFFF", records=20),
    F("ef-oci", 0x6F81, CY, 37, arr=5, sfi=0x15, default="FF...FF00000001FFFF", records=20),
    F("ef-ict", 0x6F82, CY, 3, arr=7, default="000000", records=1),
    F("ef-oct", 0x6F83, CY, 3, arr=7, default="000000", records=1),
    F("ef-vgcs", 0x6FB1, TR, 20, arr=2),
    F("ef-vgcss", 0x6FB2, TR, 7, arr=5),
    F("ef-vbs", 0x6FB3, TR, 20, arr=2),
    F("ef-vbss", 0x6FB4, TR, 7, arr=5),
    F("ef-emlpp", 0x6FB5, TR, 2, arr=2),
    F("ef-aaem", 0x6FB6, TR, 1, arr=5, default="00"),
    F("ef-hiddenkey", 0x6FC3, TR, 4, arr=5, default="FF...FF"),
    F("ef-pnn", 0x6FC5, LF, 16, arr=10, sfi=0x19, records=10),
    F("ef-opl", 0x6FC6, LF, 8, arr=10, sfi=0x1A, records=5),
    F("ef-mbdn", 0x6FC7, LF, 24, arr=5, records=3),
    F("ef-ext6", 0x6FC8, LF, 13, arr=5, default="00FF...FF", records=10),
    F("ef-mbi", 0x6FC9, LF, 5, arr=5, records=10),
    F("ef-mwis", 0x6FCA, LF, 6, arr=5, default="00...00", records=10),
    F("ef-cfis", 0x6FCB, LF, 16, arr=5, default="0100FF...FF", records=10),
    F("ef-ext7", 0x6FCC, LF, 13, arr=5, default="00FF...FF", records=10),
    F("ef-spdi", 0x6FCD, TR, 17, arr=2, sfi=0x1B),
    F("ef-mmsn", 0x6FCE, LF, 6, arr=5, default="000000FF...FF", records=10),
    F("ef-ext8", 0x6FCF, LF, 13, arr=5, default="00FF...FF", records=10),
    F("ef-mmsicp", 0x6FD0, TR, 100, arr=2, default="FF...FF"),
    F("ef-mmsup", 0x6FD1, LF, arr=5, default="FF...FF"),
    F("ef-mmsucp", 0x6FD2, TR, 100, arr=5, default="FF...FF"),
    F("ef-nia", 0x6FD3, LF, 11, arr=2, default="FF...FF", records=5),
    F("ef-vgcsca", 0x6FD4, TR, arr=2, default="00...00"),
    F("ef-vbsca", 0x6FD5, TR, arr=2, default="00...00"),
    F("ef-gbabp", 0x6FD6, TR, arr=5, default="FF...FF"),
    F("ef-msk", 0x6FD7, LF, arr=2, default="FF...FF"),
    F("ef-muk", 0x6FD8, LF, arr=2, default="FF...FF"),
    F("ef-ehplmn", 0x6FD9, TR, 15, arr=2, sfi=0x1D, default="FF...FF"),
    F("ef-gbanl", 0x6FDA, LF, arr=2, default="FF...FF"),
    F("ef-ehplmnpi", 0x6FDB, TR, 1, arr=2, default="00"),
    F("ef-lrplmnsi", 0x6FDC, TR, 1, arr=2, default="00"),
    F("ef-nafkca", 0x6FDD, LF, arr=2, default="FF...FF"),
    F("ef-spni", 0x6FDE, TR, arr=10, default="00FF...FF"),
    F("ef-pnni", 0x6FDF, LF, arr=10, default="00FF...FF"),
    F("ef-ncp-ip", 0x6FE2, LF, arr=2),
    F("ef-ufc", 0x6FE6, TR, 30, arr=10,
      default="801E60C01E900080040000000000000000F0000000004000000000000080"),
    F("ef-nasconfig", 0x6FE8, TR, 18, arr=2),
    F("ef-uicciari", 0x6FE7, LF, arr=2),
    F("ef-pws", 0x6FEC, TR, arr=10),
    F("ef-fdnuri", 0x6FED, LF, arr=8, default="FF...FF"),
    F("ef-bdnuri", 0x6FEE, LF, arr=8, default="FF...FF"),
    F("ef-sdnuri", 0x6FEF, LF, arr=2, default="FF...FF"),
    F("ef-ial", 0x6FF0, LF, arr=3, default="FF...FF"),
    F("ef-ips", 0x6FF1, CY, 4, arr=10, default="FF...FF"),
    F("ef-ipd", 0x6FF2, LF, arr=3, default="FF...FF"),
    F("ef-epdgid", 0x6FF3, TR, arr=2),
    F("ef-epdgselection", 0x6FF4, TR, arr=2),
    F("ef-epdgidem", 0x6FF5, TR, arr=2),
    F("ef-epdgselectionem", 0x6FF6, TR, arr=2),
    F("ef-frompreferred", 0x6FF7, TR, 1, arr=2, default="00"),
    F("ef-imsconfigdata", 0x6FF8, BT, arr=2),
    F("ef-3gpppsdataoff", 0x6FF9, TR, 4, arr=2),
    F("ef-3gpppsdataoffservicelist", 0x6FFA, LF, arr=2),
    F("ef-xcapconfigdata", 0x6FFC, BT, arr=2),
    F("ef-earfcnlist", 0x6FFD, TR, arr=10),
)

_GSM_ACCESS = (
    F("df-gsm-access", 0x5F3B, DF_KIND, arr=14),
    F("ef-kc", 0x4F20, TR, 9, arr=5, sfi=0x01, default="FF...FF07", parent="df-gsm-access"),
    F("ef-kcgprs", 0x4F52, TR, 9, arr=5, sfi=0x02, default="FF...FF07", parent="df-gsm-access"),
    F("ef-cpbcch", 0x4F63, TR, 10, arr=5, default="FF...FF", parent="df-gsm-access"),
    F("ef-invscan", 0x4F64, TR, 1, arr=2, default="00", parent="df-gsm-access"),
)


def _df_5gs(nsc_record: int, nsc_records: int, v2: bool) -> tuple[F, ...]:
    d = "df-df-5gs"
    loci = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000001"
    files = (
        F(d, 0x5FC0, DF_KIND, arr=14),
        F("ef-5gs3gpploci", 0x4F01, TR, 20, arr=5, sfi=0x01, default=loci, parent=d),
        F("ef-5gsn3gpploci", 0x4F02, TR, 20, arr=5, sfi=0x02, default=loci, parent=d),
        F("ef-5gs3gppnsc", 0x4F03, LF, nsc_record, arr=5, sfi=0x03, default="FF...FF",
          records=nsc_records, parent=d),
        F("ef-5gsn3gppnsc", 0x4F04, LF, nsc_record, arr=5, sfi=0x04, default="FF...FF",
          records=nsc_records, parent=d),
        F("ef-5gauthkeys", 0x4F05, TR, 110, arr=5, sfi=0x05, parent=d),
        F("ef-uac-aic", 0x4F06, TR, 4, arr=2, sfi=0x06, parent=d),
        F("ef-suci-calc-info", 0x4F07, TR, arr=2, sfi=0x07, default="FF...FF", parent=d),
        F("ef-opl5g", 0x4F08, LF, 10, arr=10, sfi=0x08, default="FF...FF", parent=d),
        F("ef-supinai", 0x4F09, TR, arr=2, sfi=0x09, parent=d),
        F("ef-routing-indicator", 0x4F0A, TR, 4, arr=2, sfi=0x0A, default="F0FFFFFF", parent=d),
    )
    if v2:
        files += (F("ef-ursp", 0x4F0B, BT, arr=2, parent=d),
                  F("ef-tn3gppsnn", 0x4F0C, TR, 1, arr=2, sfi=0x0C, default="00", parent=d))
    return files


_DF_SAIP = (
    F("df-df-saip", 0x5FD0, DF_KIND, arr=14),
    F("ef-suci-calc-info-usim", 0x4F01, TR, arr=3, default="FF...FF", parent="df-df-saip"),
)

TEMPLATES = (
    Template("2.23.143.1.2.4", "usim", True, ROOT_NONE, _usim(14)),
    Template("2.23.143.1.2.4.2", "usim", True, ROOT_NONE, _usim(17)),
    Template("2.23.143.1.2.5", "opt-usim", False, ROOT_USIM, _OPT_USIM),
    Template("2.23.143.1.2.5.2", "opt-usim", False, ROOT_USIM, _OPT_USIM),
    Template("2.23.143.1.2.5.3", "opt-usim", False, ROOT_USIM, _OPT_USIM),
    Template("2.23.143.1.2.7", "gsm-access", False, ROOT_USIM, _GSM_ACCESS),
    Template("2.23.143.1.2.13", "df-5gs", False, ROOT_USIM, _df_5gs(57, 1, False)),
    Template("2.23.143.1.2.13.2", "df-5gs", False, ROOT_USIM, _df_5gs(57, 1, True)),
    Template("2.23.143.1.2.13.3", "df-5gs", False, ROOT_USIM, _df_5gs(62, 2, True)),
    Template("2.23.143.1.2.13.4", "df-5gs", False, ROOT_USIM, _df_5gs(62, 2, True)),
    Template("2.23.143.1.2.14", "df-saip", False, ROOT_USIM, _DF_SAIP),
)
