"""Remote Profile Management on the test SM-DP+: GSMA SGP.22 v3.1 §3.7 (RPM initiation: the
operator's order, as ES2+.RpmOrder would give it; RPM download: ES9+.AuthenticateClient
answering ``AuthenticateClientOkRpm``; the result: ES9+.HandleNotification with the eUICC's
``LoadRpmPackageResultSigned``).

An :class:`RpmOrder` is an RPM Package (a list of ``RpmCommand`` values) for one EID (or any).
In a v3 session whose ctxParams1 asks for ``operationType`` {rpm} the SM-DP+ takes the first
released order for the eUICC and signs ``smdpSigned3`` with SK.DPauth.SIG over
smdpSigned3 || euiccSignature1 (the complete '5F37' TLV, as smdpSignature2 of §5.6.3), with
``rpmPending`` when another order waits for the same eUICC.  A download order's smdpSigned2
carries ``rpmPending`` too when an RPM order waits for the eUICC, so that the LPA chains the RPM
after the installation (§3.1.3 / §3.7.2).  The result is verified with the eUICC's key from the
session (PK.EUICC.SIG of CERT.EUICC, checked at AuthenticateClient) over the received bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asn1tools

from euicc import tlv
from euicc.asn1 import rsp3
from tools.smdpp import signing
from tools.smdpp.orders import CANCELLED, RELEASED, iccid_ef_coding

DOWNLOADED, EXECUTED, FAILED = "Downloaded", "Executed", "Error"
RPM_OPERATION = 0x40                    # OperationType rpm (1), first octet
RPM_ORDER_NOT_FOUND = ("8.2.6", "3.8")
"""[U] Status code pair of AuthenticateClient when no RPM order waits for the eUICC (no v3.1 value
read here; the v2.5 'matching ID refused' pair)."""
#: RpmType bits of every command (enable .. contactPcmp), for an RpmConfiguration allowing all.
ALL_RPM_TYPES = (bytes((0b11111000,)), 5)


@dataclass
class RpmOrder:
    """One RPM Package ordered for ``eid`` (None: any eUICC) and what became of it."""

    commands: list[dict[str, Any]]
    eid: str | None = None
    state: str = RELEASED
    result: dict = field(default_factory=dict)


def command(kind: str, iccid: str | None = None, *, continue_on_failure: bool = False, **params: Any) -> dict:
    """An ``RpmCommand`` value: ``kind`` is its alternative (enable, disable, delete,
    listProfileInfo, updateMetadata, contactPcmp); ``iccid`` digits; ``params`` the other members
    (``updateMetadataRequest``, ``dpiRpm``, ``searchCriteria``/``tagList`` for listProfileInfo)."""
    details = dict(params)
    if iccid is not None:
        if kind == "listProfileInfo":
            details.setdefault("searchCriteria", ("iccid", iccid_ef_coding(iccid)))
        else:
            details["iccid"] = iccid_ef_coding(iccid)
    value: dict[str, Any] = {"rpmCommandDetails": (kind, details)}
    if continue_on_failure:
        value["continueOnFailure"] = None
    return value


def rpm_configuration(smdp_oid: str, owner_oid: str, rpm_type: tuple[bytes, int] | None = ALL_RPM_TYPES,
                      allowed_ci: bytes | None = None, polling_address: str | None = None) -> dict:
    """An ``RpmConfiguration`` value naming ``smdp_oid`` as Managing SM-DP+ (metadata 'BA'), and
    ``polling_address`` as the address the LPA polls for RPM."""
    entry: dict[str, Any] = {"managingDpOid": smdp_oid}
    if rpm_type is not None:
        entry["rpmType"] = rpm_type
    value: dict[str, Any] = {"managingDpList": [entry], "profileOwnerOid": owner_oid}
    if polling_address is not None:
        value["pollingAddress"] = polling_address
    if allowed_ci is not None:
        value["allowedCiPKId"] = allowed_ci
    return value


def _common_params(euicc_signed1: bytes) -> dict | None:
    """ctxParamsForCommonAuthentication of euiccSigned1 (v3.1), or None."""
    try:
        kind, params = rsp3().decode("EuiccSigned1", euicc_signed1)["ctxParams1"]
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError):
        return None
    return params if kind == "ctxParamsForCommonAuthentication" else None


def requested(euicc_signed1: bytes) -> bool:
    """Whether euiccSigned1 (v3.1) carries ctxParamsForCommonAuthentication with operationType rpm."""
    params = _common_params(euicc_signed1)
    bits = params.get("operationType", (b"\x80", 1))[0] if params is not None else b""
    return bool(bits and bits[0] & RPM_OPERATION)


def _targets(order: RpmOrder, iccid: bytes) -> bool:
    """Whether one of the order's commands names ``iccid`` (ListProfileInfo: by its iccid criterion)."""
    for cmd in order.commands:
        details = cmd["rpmCommandDetails"][1]
        if details.get("iccid") == iccid or details.get("searchCriteria") == ("iccid", iccid):
            return True
    return False


def signed_data(member: bytes) -> bytes:
    """The input of euiccSignRPR from the received ``loadRpmPackageResultDataSigned`` member.

    LoadRpmPackageResultSigned has no tag written in its components, so AUTOMATIC TAGS gives them
    [0] / [1] ('A0' / '81' on the wire).  The eUICC signs the DER of the
    LoadRpmPackageResultDataSigned type itself, i.e. the received member with its universal
    SEQUENCE tag '30' [U: the v3.1 text on the signature input was not readable here]."""
    return b"\x30" + member[1:]


class RpmDesk:
    """The RPM orders of one SM-DP+ and the sessions that carry them."""

    def __init__(self) -> None:
        self.orders: list[RpmOrder] = []
        self.by_transaction: dict[bytes, RpmOrder] = {}

    def add(self, order: RpmOrder) -> RpmOrder:
        self.orders.append(order)
        return order

    def waiting(self, eid: str, iccid: bytes | None = None) -> list[RpmOrder]:
        """Released orders for ``eid``; with ``iccid`` (the LPA polls for one profile, ctxParams1
        iccid, §3.7.2) only those with a command on that profile."""
        return [o for o in self.orders if o.state == RELEASED and o.eid in (None, eid)
                and (iccid is None or _targets(o, iccid))]

    def package(self, transaction_id: bytes, eid: str, euicc_signed1: bytes, auth_key,
                euicc_signature1: bytes) -> dict | None:
        """AuthenticateClientOkRpm members for the first waiting order, or None."""
        params = _common_params(euicc_signed1) or {}
        waiting = self.waiting(eid, params.get("iccid"))
        if not waiting:
            return None
        order = waiting[0]
        value: dict[str, Any] = {"transactionId": transaction_id, "rpmPackage": order.commands}
        if len(waiting) > 1:
            value["rpmPending"] = None
        signed3 = rsp3().encode("SmdpSigned3", value)
        order.state = DOWNLOADED
        self.by_transaction[transaction_id] = order
        return {"transactionId": transaction_id, "smdpSigned3": signed3,
                "smdpSignature3": tlv.tlv(0x5F37, signing.sign(auth_key, signed3 + euicc_signature1))}

    def cancelled(self, transaction_id: bytes, reason: int) -> None:
        """ES9+.CancelSession of an RPM session: the order waits again after postponed (1) or
        timeout (2), else it ends (as a download order, §5.6.5)."""
        order = self.by_transaction.get(transaction_id)
        if order is not None and order.state == DOWNLOADED:
            order.state = RELEASED if reason in (1, 2) else CANCELLED

    def result(self, pending: bytes, public_key_of) -> tuple[bool, dict]:
        """Judge a PendingNotification 'A1' (LoadRpmPackageResultSigned): (verified, detail).
        ``public_key_of(transaction_id)`` gives the eUICC key of that session, or None."""
        parts = tlv.split(tlv.unwrap(pending, 0xA1))
        if [t for t, _ in parts] != [0xA0, 0x81]:
            raise ValueError("LoadRpmPackageResultSigned has the wrong members")
        signed = signed_data(parts[0][1])
        data = rsp3().decode("LoadRpmPackageResultDataSigned", signed)
        key = public_key_of(data["transactionId"])
        verified = key is not None and signing.verify(key, signed, tlv.unwrap(parts[1][1], 0x81))
        kind, final = data["finalResult"]
        detail = {"transactionId": data["transactionId"].hex().upper(), "result": kind,
                  "seqNumber": data["notificationMetadata"]["seqNumber"], "smdpOid": data["smdpOid"],
                  "final": final}
        order = self.by_transaction.get(data["transactionId"])
        if verified and order is not None:
            order.state = EXECUTED if kind == "rpmPackageExecutionResult" else FAILED
            order.result = detail
        return verified, detail


# -- command line (``euicc-emu smdpp serve ... --rpm-enable ICCID``) -------------------------------
CLI_COMMANDS = {"enable": "enable", "disable": "disable", "delete": "delete", "list": "listProfileInfo",
                "contact_pcmp": "contactPcmp", "rename": "updateMetadata"}


def add_arguments(serve) -> None:
    """The RPM options of ``smdpp serve`` (an argparse parser)."""
    group = serve.add_argument_group("Remote Profile Management (SGP.22 v3.1 §3.7, needs --svn 3.1.0)")
    group.add_argument("--rpm-manage", action="store_true",
                       help="download orders: rpmConfiguration naming this SM-DP+ (every RPM command; its "
                            "address as pollingAddress)")
    group.add_argument("--rpm-owner-oid", help="profileOwnerOid of that configuration (default: this SM-DP+'s OID)")
    group.add_argument("--rpm-eid", help="the RPM order is for this EID only")
    for name in CLI_COMMANDS:
        flag = name.replace("_", "-")
        group.add_argument(f"--rpm-{flag}", dest="rpm", action="append", metavar="ICCID=NAME" if name == "rename"
                           else "ICCID", type=lambda text, n=name: (n, text),
                           help=f"RPM order: {CLI_COMMANDS[name]}" + (" (profileName)" if name == "rename" else ""))


def order_from_args(rpm_args: list[tuple[str, str]] | None, eid: str | None) -> RpmOrder | None:
    """One RPM order with the ``--rpm-*`` commands in their command-line order, or None."""
    if not rpm_args:
        return None
    commands = []
    for name, text in rpm_args:
        if name == "rename":
            iccid, _, new_name = text.partition("=")
            commands.append(command("updateMetadata", iccid, updateMetadataRequest={"profileName": new_name}))
        else:
            commands.append(command(CLI_COMMANDS[name], text))
    return RpmOrder(commands, eid)
