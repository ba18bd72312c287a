"""Activation Code parsing: GSMA SGP.22 v2.5 §4.1.

``LPA:`` prefix (when scanned), then ``AC_Format $ SM-DP+ Address $ AC_Token [$ SM-DP+ OID
[$ Confirmation Code Required Flag]]`` with AC_Format ``1`` and the flag ``1`` when set.
"""
from __future__ import annotations

from dataclasses import dataclass


class ActivationCodeError(ValueError):
    """Not an SGP.22 §4.1 activation code."""


@dataclass(frozen=True)
class ActivationCode:
    smdp_address: str
    matching_id: str
    smdp_oid: str | None = None
    confirmation_code_required: bool = False


def parse(text: str) -> ActivationCode:
    body = text[4:] if text.upper().startswith("LPA:") else text
    fields = body.split("$")
    if len(fields) < 3 or fields[0] != "1":
        raise ActivationCodeError(f"expected '1$<SM-DP+ address>$<matching ID>[...]', got {text!r}")
    if len(fields) > 5:
        raise ActivationCodeError("too many '$' fields")
    address, token = fields[1], fields[2]
    if not address or any(c.isspace() for c in address):
        raise ActivationCodeError("empty or invalid SM-DP+ address")
    oid = fields[3] if len(fields) > 3 and fields[3] else None
    flag = fields[4] if len(fields) > 4 else ""
    if flag not in ("", "1"):
        raise ActivationCodeError("Confirmation Code Required Flag must be '1' or absent")
    return ActivationCode(address, token, oid, flag == "1")
