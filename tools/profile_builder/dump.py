"""Readable JSON view of an Unprotected Profile Package (TCA SAIP v3.3.1).

Bytes become upper-case hex strings, CHOICE values ``{"<alternative>": value}``, NULL ``null``.
A ``summary`` carries the decoded ICCID (ProfileHeader BCD and EF.ICCID, TS 102 221 §13.2) and
IMSI of each USIM (EF.IMSI, TS 31.102 §4.2.2) next to the elements.
"""
from __future__ import annotations

from typing import Any

from euicc.profiles.saip_codec import ProfileElement, decode_upp

from .coding import decode_iccid_ef, decode_imsi_ef


def to_jsonable(value: Any) -> Any:
    """Map an asn1tools value onto JSON types."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if isinstance(value, dict):
        return {key: to_jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return {value[0]: to_jsonable(value[1])}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    return value


def _file_content(file_value: list[tuple[str, Any]]) -> bytes | None:
    """First fillFileContent of a template file (content written at offset 0)."""
    for kind, item in file_value:
        if kind == "fillFileOffset":
            return None
        if kind == "fillFileContent":
            return item
    return None


def summarize(elements: list[ProfileElement]) -> dict[str, Any]:
    """ICCID/IMSI/header facts of a decoded package."""
    summary: dict[str, Any] = {"elements": len(elements), "imsi": []}
    for name, value in elements:
        if name == "header":
            summary["version"] = f"{value['major-version']}.{value['minor-version']}"
            summary["profileType"] = value.get("profileType")
            summary["iccid_header"] = value["iccid"].hex().upper().rstrip("F")
        elif name == "mf":
            content = _file_content(value.get("ef-iccid", []))
            if content is not None:
                summary["iccid"] = decode_iccid_ef(content)
        elif name == "usim":
            content = _file_content(value.get("ef-imsi", []))
            if content is not None:
                try:
                    summary["imsi"].append(decode_imsi_ef(content))
                except ValueError:
                    summary["imsi"].append(None)
    return summary


def dump_upp(data: bytes) -> dict[str, Any]:
    """Decode ``data`` and return the JSON-able dump (raises SaipDecodeError on bad input)."""
    elements = decode_upp(data)
    return {"summary": summarize(elements),
            "elements": [{"element": name, "value": to_jsonable(value)}
                         for name, value in elements]}
