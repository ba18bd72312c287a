"""File definitions the profile builder puts into template-based PEs.

TCA SAIP v3.3.1 §9 defines file-system templates by OID (``templateID``); a PE names a
template and lists, per file, an optional ``fileDescriptor`` (Fcp, §8.3.2) that overrides the
template's values, and fill commands (``fillFileContent`` / ``fillFileOffset``, §8.3.3).
Like the GSMA TS.48 v7 "Generic eUICC Test Profile" packages, the builder states each listed
file's Fcp explicitly; the values below (FIDs, file descriptors, ARR references, sizes, SFIs,
special file information, ARR records) are the ones of TS.48 v7
(``TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI``), which follow the SAIP templates and
TS 102 221 / TS 31.102 / TS 31.103. Files with no ``size`` take the template's size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# TCA SAIP v3.3.1 §9 template OIDs (2.23.143.1.2.x).
TEMPLATE_MF = "2.23.143.1.2.1"
TEMPLATE_TELECOM = "2.23.143.1.2.3"
TEMPLATE_USIM = "2.23.143.1.2.4"
TEMPLATE_OPT_USIM = "2.23.143.1.2.5"
TEMPLATE_ISIM = "2.23.143.1.2.8"
TEMPLATE_OPT_ISIM = "2.23.143.1.2.9"


@dataclass(frozen=True)
class EfSpec:
    """One EF's Fcp (SAIP §8.3.2; codings of ETSI TS 102 222 / TS 102 221 §11.1.1.4)."""

    fid: str
    descriptor: str            # file descriptor byte(s) + record length, e.g. '42210021'
    arr: str                   # securityAttributesReferenced (EF.ARR id + record number)
    size: str | None = None    # efFileSize, minimal octets
    sfi: str | None = None     # shortEFID
    special: str = "00"        # proprietary specialFileInformation
    fill: str | None = None    # proprietary fillPattern

    def fcp(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "fileDescriptor": bytes.fromhex(self.descriptor),
            "fileID": bytes.fromhex(self.fid),
            "securityAttributesReferenced": bytes.fromhex(self.arr),
        }
        if self.size is not None:
            value["efFileSize"] = bytes.fromhex(self.size)
        if self.sfi is not None:
            value["shortEFID"] = bytes.fromhex(self.sfi)
        info: dict[str, Any] = {"specialFileInformation": bytes.fromhex(self.special)}
        if self.fill is not None:
            info["fillPattern"] = bytes.fromhex(self.fill)
        value["proprietaryEFInfo"] = info
        return value

    @property
    def record_length(self) -> int:
        """Record length of a linear fixed / cyclic EF (TS 102 221 §11.1.1.4.3), else 0."""
        raw = bytes.fromhex(self.descriptor)
        return raw[3] if len(raw) == 4 else 0


def df_fcp(fid: str, pin_refs: bytes, aid: bytes | None = None) -> dict[str, Any]:
    """Fcp of a DF/ADF: temporary or real file ID, optional AID, PIN status template DO."""
    value: dict[str, Any] = {"fileID": bytes.fromhex(fid)}
    if aid is not None:
        value["dfName"] = aid
    value["securityAttributesReferenced"] = bytes.fromhex("2F0601")
    value["pinStatusTemplateDO"] = pin_refs
    return value


MF_FILES = {
    "ef-pl": EfSpec("2F05", "4121", "2F0604", size="06", special="40", fill="656EFF"),
    "ef-iccid": EfSpec("2FE2", "4121", "2F0603", sfi="10", special="40"),
    "ef-dir": EfSpec("2F00", "42210021", "2F0602", size="84", special="40"),
    "ef-arr": EfSpec("2F06", "4221002E", "2F0602", size="02B2", sfi="30", special="40"),
    "ef-umpc": EfSpec("2F08", "4121", "2F0602", sfi="40", special="40"),
}

TELECOM_FILES = {
    "ef-arr": EfSpec("6F06", "42210014", "2F0602", size="14", sfi="B8", special="40"),
}

USIM_FILES = {
    "ef-imsi": EfSpec("6F07", "4121", "6F060A"),
    "ef-arr": EfSpec("6F06", "42210036", "6F0608", size="032A"),
    "ef-keys": EfSpec("6F08", "4121", "6F0602", special="80", fill="07FF"),
    "ef-keysPS": EfSpec("6F09", "4121", "6F0602", special="80", fill="07FF"),
    "ef-hpplmn": EfSpec("6F31", "4121", "6F0603"),
    "ef-ust": EfSpec("6F38", "4121", "6F0604", size="11"),
    "ef-fdn": EfSpec("6F3B", "4221001C", "6F0601", size="8C"),
    "ef-sms": EfSpec("6F3C", "422100B0", "6F0602", size="06E0", fill="00FF"),
    "ef-smsp": EfSpec("6F42", "4221002A", "6F0602", size="54"),
    "ef-smss": EfSpec("6F43", "4121", "6F0602"),
    "ef-spn": EfSpec("6F46", "4121", "6F0607"),
    "ef-est": EfSpec("6F56", "4121", "6F0601"),
    "ef-start-hfn": EfSpec("6F5B", "4121", "6F0602", special="80"),
    "ef-threshold": EfSpec("6F5C", "4121", "6F0603"),
    "ef-psloci": EfSpec("6F73", "4121", "6F0602", special="80"),
    "ef-acc": EfSpec("6F78", "4121", "6F0603"),
    "ef-fplmn": EfSpec("6F7B", "4121", "6F0606"),
    "ef-loci": EfSpec("6F7E", "4121", "6F0602", special="80"),
    "ef-ad": EfSpec("6FAD", "4121", "6F0607"),
    "ef-ecc": EfSpec("6FB7", "4221000E", "6F0608", size="1C"),
    "ef-netpar": EfSpec("6FC4", "4121", "6F0602", size="32", special="80"),
    "ef-epsloci": EfSpec("6FE3", "4121", "6F0602", special="C0"),
    "ef-epsnsc": EfSpec("6FE4", "42210036", "6F0602", size="36", special="C0"),
}

OPT_USIM_FILES = {
    "ef-li": EfSpec("6F05", "4121", "6F0605"),
    "ef-gid1": EfSpec("6F3E", "4121", "6F0604", size="02"),
    "ef-gid2": EfSpec("6F3F", "4121", "6F0604", size="02"),
    "ef-msisdn": EfSpec("6F40", "42210027", "6F0604", size="4E"),
    "ef-plmnwact": EfSpec("6F60", "4121", "6F0606", size="AA"),
    "ef-oplmnwact": EfSpec("6F61", "4121", "6F0603", size="FA"),
    "ef-hplmnwact": EfSpec("6F62", "4121", "6F0603", size="FA"),
    "ef-ehplmn": EfSpec("6FD9", "4121", "6F0603", size="1E", special="40"),
}

ISIM_FILES = {
    "ef-impi": EfSpec("6F02", "4121", "6F0601", size="40"),
    "ef-impu": EfSpec("6F04", "42210040", "6F0601", size="C0"),
    "ef-domain": EfSpec("6F03", "4121", "6F0601", size="40"),
    "ef-ist": EfSpec("6F07", "4121", "6F0601", size="07"),
    "ef-ad": EfSpec("6FAD", "4121", "6F0603"),
    "ef-arr": EfSpec("6F06", "42210023", "6F0603", size="8C"),
}

OPT_ISIM_FILES = {
    "ef-pcscf": EfSpec("6F09", "42210020", "6F0601", size="60", special="40"),
}

# EF.ARR records (TS 102 221 §9.2.4 expanded format), TS.48 v7; key references 01 (PIN1),
# 81 (PIN2), 0A (ADM1). Record n is referenced as '2F06'/'6F06' + n.
MF_ARR_RECORDS = (
    "80015EA40683010A9501088401D4A40683010A950108",
    "800101900080015AA40683010A9501088401D4A40683010A950108",
    "8001019000800118A40683010A950108",
    "8001019000800102A4068301019501088401D4A40683010A950108800158A40683010A950108",
    "800103A406830101950108800118A406830181950108800140A40683010A9501088401D4A40683010A950108",
    "800101A406830101950108800102A406830181950108800158A40683010A9501088401D4A40683010A950108",
    "800103A406830101950108800158A40683010A9501088401D4A40683010A950108",
    "800101A40683010195010880015AA40683010A9501088401D4A40683010A950108",
    "800101A406830101950108800152A40683010A950108",
    "800101A40683010195010880015AA40683010A9501088401D4A40683010A950108",
    "800103A4068301019501088401D4A40683010A950108800158A40683010A950108",
    "800101A406830101950108800102A40683010A950108",
    "800101A406830101950108800102A4068301819501088401D4A40683010A950108800158A40683010A950108",
    "8001039000800158A40683010A9501088401D4A40683010A950108",
)

USIM_ARR_RECORDS = (
    "800101A406830101950108800102A406830181950108800158A40683010A950108",
    "800103A406830101950108800158A40683010A950108",
    "800101A40683010195010880015AA40683010A950108",
    "800101A40683010195010880015AA40683010A9501088401D4A40683010A950108",
    "8001019000800102A4068301019501088401D4A40683010A950108800158A40683010A950108",
    "800103A4068301019501088401D4A40683010A950108800158A40683010A950108",
    "800101900080015AA40683010A950108",
    "800101900080015AA40683010A9501088401D4A40683010A950108",
    "800101A406830101950108800102A4068301819501088401D4A40683010A950108800158A40683010A950108",
    "800101A40683010195010880011AA40683010A950108",
    "800101A406830101950108800158A40683010A950108840132A406830101950108800102A010A406830101"
    "950108A406830181950108",
    "800103A40683010A950108",
    "80015EA40683010A9501088401D4A40683010A950108",
    "80010390008401D4A40683010A950108800158A40683010A950108",
    "80015FA40683010A9501088401D4A40683010A950108",
)

ISIM_ARR_RECORDS = (
    "800101A40683010195010880015AA40683010A9501088401D4A40683010A950108",
    "800103A4068301019501088401D4A40683010A950108800158A40683010A950108",
    "800101900080015AA40683010A9501088401D4A40683010A950108",
)

# TS 31.102 §4.2.21 EF.ECC records (TS.48 v7): '112' "Euro Emer" and '911' "Emergency".
ECC_RECORDS = ("11F2FF4575726F20456D6572FF00", "19F1FF456D657267656E6379FF00")
