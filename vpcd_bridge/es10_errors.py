"""Forged ES10 error responses (GSMA SGP.22 v2.5 §5.7, ASN.1 module ``RSPDefinitions``).

For a request tag (e.g. ``BF38`` AuthenticateServer) the response type is the ``...Response`` type
with the same tag number (``LoadBoundProfilePackage``, request ``BF36``, answers a
``ProfileInstallationResult``, ``BF37``, SGP.22 §5.7.6).  The error code is looked up by name among
the named numbers of that type's error member, as the module declares them, e.g.

* ``AuthenticateServerResponse`` -> ``authenticateResponseError {transactionId,
  authenticateErrorCode invalidCertificate(1)}`` (§5.7.13);
* ``EnableProfileResponse`` -> ``{enableResult profileNotInDisabledState(2)}`` (§5.7.16);
* ``ProfileInstallationResult`` -> ``finalResult errorResult {bppCommandId, errorReason
  installFailedDueToInsufficientMemoryForProfile(10)}``.

The forged answer is a fault, not the card's word: the ``transactionId`` is taken from the request
(the first ``[0]`` data object, SGP.22 puts it there in every request that has one) or the rule, and
``euiccSignPIR`` is 64 zero bytes, which no eUICC key verifies.  Encoded with asn1tools from the
card's own copy of the module (:func:`euicc.asn1.rsp`).
"""
from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import asn1tools

from euicc import tlv
from euicc.asn1 import rsp

from .rule_values import RuleError, hex_bytes

MODULE = "RSPDefinitions"
LOAD_BPP_TAG = 0xBF36                    # BoundProfilePackage, SGP.22 §5.7.6
PIR_TYPE = "ProfileInstallationResult"
TRANSACTION_ID_TAG = 0x80                # [0] TransactionId
DEFAULT_TRANSACTION_ID = bytes(16)       # when neither the request nor the rule has one
NOTIFICATION_ADDRESS = "fault-injection.invalid"   # RFC 2606 reserved name: clearly not a server
NOTIFICATION_INSTALL = (b"\x80", 1)      # NotificationEvent notificationInstall(0)
FORGED_SIGNATURE = bytes(64)             # not a valid signature by anyone's key


@functools.cache
def _types() -> dict[str, dict[str, Any]]:
    text = resources.files("euicc.asn1").joinpath("RSPDefinitions.asn").read_text(encoding="utf-8")
    return asn1tools.parse_string(text)[MODULE]["types"]


def tag_number(tag: int) -> int:
    """The tag number of a context-specific BER tag such as ``BF38`` (X.690 §8.1.2.4)."""
    raw = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return raw[0] & 0x1F if raw[0] & 0x1F != 0x1F else int.from_bytes(raw[1:], "big") & 0x7F


def response_type(request_tag: int) -> str:
    """Name of the response type of the ES10 function whose request has `request_tag`."""
    if request_tag == LOAD_BPP_TAG:
        return PIR_TYPE
    number = tag_number(request_tag)
    names = [name for name, t in _types().items()
             if name.endswith("Response") and t.get("tag", {}).get("number") == number
             and t.get("tag", {}).get("class") is None]
    if len(names) != 1:
        raise RuleError(f"no single ES10 response type for request tag {request_tag:X}: {names}")
    return names[0]


def _named(member: dict[str, Any]) -> dict[str, int] | None:
    """The named numbers of an INTEGER member (inline or through a type reference)."""
    t = member
    while t.get("type") in _types():
        t = _types()[t["type"]]
    return t.get("named-numbers") if t.get("type") == "INTEGER" else None


def _code(named: dict[str, int], error: str | int) -> int | None:
    if isinstance(error, int):
        return error if error in named.values() else None
    return named.get(error)


def _sequence_value(members: list[dict[str, Any]], error: str | int, transaction_id: bytes) -> dict | None:
    """{field: value} of a SEQUENCE one of whose INTEGER fields knows `error`."""
    for m in members:
        named = _named(m)
        code = _code(named, error) if named else None
        if code is None:
            continue
        value: dict[str, Any] = {m["name"]: code}
        for other in members:
            if other is m or other.get("optional"):
                continue
            if other.get("type") != "TransactionId":
                raise RuleError(f"cannot fill field '{other['name']}' of an error response")
            value[other["name"]] = transaction_id
        return value
    return None


def error_value(type_name: str, error: str | int, transaction_id: bytes) -> Any:
    """The asn1tools value of `type_name` carrying `error` (module docstring)."""
    t = _types()[type_name]
    if t["type"] == "SEQUENCE":
        value = _sequence_value(t["members"], error, transaction_id)
        if value is not None:
            return value
    elif t["type"] == "CHOICE":
        for m in t["members"][1:]:            # the first alternative is the success answer
            named = _named(m)
            if named is not None and _code(named, error) is not None:
                return m["name"], _code(named, error)
            inner = _types().get(m["type"], {})
            if inner.get("type") == "SEQUENCE":
                value = _sequence_value(inner["members"], error, transaction_id)
                if value is not None:
                    return m["name"], value
    raise RuleError(f"{type_name} has no error code {error!r}")


def _pir(error: str | int, bpp_command: str | int, transaction_id: bytes) -> dict[str, Any]:
    """ProfileInstallationResult with ``finalResult errorResult`` (SGP.22 §2.5.6, §5.7.6)."""
    reason = _code(_types()["ErrorReason"]["named-numbers"], error)
    command = _code(_types()["BppCommandId"]["named-numbers"], bpp_command)
    if reason is None:
        raise RuleError(f"ErrorReason has no value {error!r}")
    if command is None:
        raise RuleError(f"BppCommandId has no value {bpp_command!r}")
    data = {"transactionId": transaction_id,
            "notificationMetadata": {"seqNumber": 0, "profileManagementOperation": NOTIFICATION_INSTALL,
                                     "notificationAddress": NOTIFICATION_ADDRESS},
            "finalResult": ("errorResult", {"bppCommandId": command, "errorReason": reason})}
    return {"profileInstallationResultData": data, "euiccSignPIR": FORGED_SIGNATURE}


def request_transaction_id(request: bytes) -> bytes | None:
    """The first ``[0]`` (tag ``80``) data object of 1..16 bytes in the request's first levels.

    Works on a first STORE DATA block that holds only part of the request: constructed objects
    are entered from their header, whatever follows past the block's end is ignored."""
    frontier, depth = [request], 0
    while frontier and depth < 3:
        nxt = []
        for buf in frontier:
            i = 0
            while i < len(buf):
                try:
                    tag, j = tlv.read_tag(buf, i)
                    length, j = tlv.read_length(buf, j)
                except tlv.TlvError:
                    break
                value = buf[j:j + length]
                if tag == TRANSACTION_ID_TAG and 1 <= length <= 16 and len(value) == length:
                    return value
                if buf[i] & 0x20:              # constructed (X.690 §8.1.2.5)
                    nxt.append(value)
                i = j + length
        frontier, depth = nxt, depth + 1
    return None


def build(request_tag: int, request: bytes, params: dict[str, Any]) -> bytes:
    """DER of the ES10 error response for a rule's ``error`` / ``bpp_command`` / ``transaction_id``."""
    tid = hex_bytes(params.get("transaction_id", ""), "transaction_id") or request_transaction_id(request) \
        or DEFAULT_TRANSACTION_ID
    name = response_type(request_tag)
    if name == PIR_TYPE:
        value = _pir(params["error"], params.get("bpp_command", "initialiseSecureChannel"), tid)
    else:
        value = error_value(name, params["error"], tid)
    return rsp().encode(name, value)


def check_error(request_tag: int, params: dict[str, Any]) -> None:
    """Refuse an ``es10_error`` rule whose code the function's response does not have, before it
    is armed (by building the answer once)."""
    error = params["error"]
    if not isinstance(error, (str, int)) or isinstance(error, bool):
        raise RuleError("error: a name from the ASN.1 module or an integer")
    bpp = params.get("bpp_command", "initialiseSecureChannel")
    if not isinstance(bpp, (str, int)) or isinstance(bpp, bool):
        raise RuleError("bpp_command: a BppCommandId name or an integer")
    if len(hex_bytes(params.get("transaction_id", ""), "transaction_id")) > 16:
        raise RuleError("transaction_id: TransactionId has 1..16 bytes (SGP.22 RSPDefinitions)")
    build(request_tag, b"", params)
