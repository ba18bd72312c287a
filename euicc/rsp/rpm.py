"""ES10b.LoadRpmPackage ('BF44'): SGP.22 v3.1 §3.7 (Remote Profile Management), §3.7.3 (RPM
execution), ``LoadRpmPackageRequest`` / ``LoadRpmPackageResult``.

The LPA loads the RPM Package it received from the SM-DP+ (ES9+.AuthenticateClient,
``AuthenticateClientOkRpm``) in the RSP session that the SM-DP+ authenticated with
``operationType`` {rpm} (:func:`euicc.rsp.es10b.authenticate_server`).  The eUICC:

1. without such a session answers the unsigned result, noSession (4);
2. verifies smdpSignature3 with the key of CERT.DPauth.SIG over smdpSigned3 || '5F37 40' ||
   euiccSignature1 (as smdpSignature2, §5.7.17) [U: the v3.1 clause text was not readable here;
   AuthenticateClientOkRpm carries no other certificate], else the signed error invalidSignature
   (2); a transactionId other than the session's: invalidTransactionId (5);
3. checks the package as a whole before executing anything; when one of these holds, the result
   is a single ``rpmProcessingTerminated`` and no command runs: more than
   :data:`MAX_COMMANDS` commands (commandPackageTooLarge 6), a command that does not decode
   (unknownOrDamagedCommand 2), a command after contactPcmp (commandAfterContactPcmp 5), more than
   :data:`MAX_REFRESH_COMMANDS` enable / disable commands (commandsWithRefreshExceeded 4);
4. runs the commands in order (:mod:`euicc.rsp.rpm_commands`); a command that fails ends the
   package unless it carries ``continueOnFailure``; a result that would take the package result
   over :data:`MAX_RESULT_SIZE` bytes is replaced by ``rpmProcessingTerminated``
   resultSizeOverflow (1) and ends the package;
5. signs the DER of ``LoadRpmPackageResultDataSigned`` (its universal tag '30'; inside
   LoadRpmPackageResultSigned the member carries the automatic tag [0] 'A0', the signature [1]
   '81' [U: signature input]) (notificationMetadata with loadRpmPackageResult, to the
   SM-DP+ address of the session), keeps it as a pending notification ('A1' in
   PendingNotification, retrieved and removed like the others, :mod:`euicc.rsp.notifications`),
   ends the RSP session and answers it.

The whole function is one ES10 command, hence one store transaction: a power cut while it runs
leaves the profiles as they were before the package or as they are after it
(interruption (3) is therefore never reported).  ``targetEsimPort`` (MEP, §2.12) is the eSIM
port of the package's enable command: it is given to EnableProfile as its own member
(euicc.rsp.rpm_commands), so a card without eSIM ports ignores it as EnableProfile does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.crypto.cert_server import EUICC_SIGNATURE1_PREFIX
from euicc.crypto.certificates import CertificateRejected, verify_signature
from euicc.rsp import der, es10b, euicc_info, notifications, rpm_commands, rsp_session
from euicc.rsp.rpm_config import Manager

if TYPE_CHECKING:
    from euicc.context import Context

# LoadRpmPackageErrorCodeSigned / NotSigned
INVALID_SIGNATURE, NO_SESSION, INVALID_TRANSACTION_ID, UNDEFINED_ERROR = 2, 4, 5, 127
# RpmCommandResult rpmProcessingTerminated
RESULT_SIZE_OVERFLOW, UNKNOWN_OR_DAMAGED_COMMAND, COMMANDS_WITH_REFRESH_EXCEEDED = 1, 2, 4
COMMAND_AFTER_CONTACT_PCMP, COMMAND_PACKAGE_TOO_LARGE = 5, 6

MAX_COMMANDS = 16
"""[U] The most RPM commands one package may carry on this card (no value in any source read)."""
MAX_REFRESH_COMMANDS = 1
"""[U] The most commands causing a REFRESH (enable, disable) in one package."""
MAX_RESULT_SIZE = 4096
"""[U] The largest package result (DER of the execution results) this card returns."""


class _Request:
    """The parts of a 'BF44' (TLV level, so that a damaged command is reported, not refused)."""

    def __init__(self, data: bytes) -> None:
        parts = der.children(data)
        if data[:2] != b"\xbf\x44" or len(parts) not in (2, 3) or parts[0][0] != 0x30 or parts[1][:2] != b"\x5f\x37":
            raise SwError(SW.INCORRECT_DATA)
        signed = der.children(parts[0])
        if len(signed) not in (2, 3) or signed[0][0] != 0x80 or signed[1][0] != 0xA1:
            raise SwError(SW.INCORRECT_DATA)
        if len(signed) == 3 and signed[2] != b"\x82\x00" or len(parts) == 3 and parts[2][0] != 0x02:
            raise SwError(SW.INCORRECT_DATA)
        self.target_port = der.integer(parts[2]) if len(parts) == 3 else None
        self.smdp_signed3 = parts[0]
        self.transaction_id = der.decode("TransactionId", b"\x04" + signed[0][1:], v3=True)
        self.signature = tlv.unwrap(parts[1], 0x5F37)
        self.package = signed[1]          # 'A1' rpmPackage, split by _check (a damaged one is reported)


def load_rpm_package(ctx: Context, data: bytes) -> bytes:
    """BF44 (module docstring)."""
    if not euicc_info.settings(ctx.config).v3:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)      # a v2-only card does not know 'BF44'
    request = _Request(data)
    session = rsp_session.current(ctx)
    if (session is None or not session.rpm or session.dp_auth is None or session.otk is not None
            or not session.smdp_oid):
        return _unsigned(request.transaction_id, NO_SESSION)
    try:
        verify_signature(session.dp_auth.public_key,
                         request.smdp_signed3 + EUICC_SIGNATURE1_PREFIX + session.euicc_signature1,
                         request.signature)
    except (CertificateRejected, ValueError):
        return _signed(ctx, session, request.transaction_id, ("loadRpmPackageErrorCodeSigned", INVALID_SIGNATURE))
    if request.transaction_id != session.transaction_id:
        return _signed(ctx, session, request.transaction_id,
                       ("loadRpmPackageErrorCodeSigned", INVALID_TRANSACTION_ID))
    results = execute(ctx, Manager(session.smdp_oid, session.ci_pkid), request.package, request.target_port)
    return _signed(ctx, session, request.transaction_id, ("rpmPackageExecutionResult", results))


def _terminated(code: int) -> dict[str, Any]:
    return {"rpmCommandResultData": ("rpmProcessingTerminated", code)}


def _check(package: bytes) -> tuple[list[dict], int | None]:
    """Decode and check the 'A1' package (step 3); (commands, None) or ([], termination code)."""
    try:
        raw_commands = [whole for _, whole in tlv.split(tlv.unwrap(package, 0xA1))]
    except tlv.TlvError:
        return [], UNKNOWN_OR_DAMAGED_COMMAND
    if len(raw_commands) > MAX_COMMANDS:
        return [], COMMAND_PACKAGE_TOO_LARGE
    commands = []
    for raw in raw_commands:
        try:
            decoded = der.decode("RpmCommand", raw, v3=True)
        except SwError:
            return [], UNKNOWN_OR_DAMAGED_COMMAND
        if decoded["rpmCommandDetails"][0] not in rpm_commands.COMMANDS:     # an unknown extension
            return [], UNKNOWN_OR_DAMAGED_COMMAND
        commands.append(decoded)
    kinds = [c["rpmCommandDetails"][0] for c in commands]
    if "contactPcmp" in kinds[:-1]:
        return [], COMMAND_AFTER_CONTACT_PCMP
    if sum(k in rpm_commands.REFRESH_COMMANDS for k in kinds) > MAX_REFRESH_COMMANDS:
        return [], COMMANDS_WITH_REFRESH_EXCEEDED
    return commands, None


def execute(ctx: Context, manager: Manager, package: bytes, target_port: int | None = None) -> list[dict[str, Any]]:
    """Steps 3 and 4 of the module docstring: the RpmCommandResult list; ``target_port`` the
    request's ``targetEsimPort``, for the enable command."""
    commands, terminated = _check(package)
    if terminated is not None:
        return [_terminated(terminated)]
    results: list[dict[str, Any]] = []
    size = 0
    for command in commands:
        kind, params = command["rpmCommandDetails"]
        if kind == "enable":
            params = {**params, rpm_commands.TARGET_ESIM_PORT: target_port}
        iccid, data = rpm_commands.COMMANDS[kind](ctx, manager, params)
        result: dict[str, Any] = {"rpmCommandResultData": data}
        if iccid is not None:
            result["iccid"] = iccid
        size += len(der.encode("RpmCommandResult", result, v3=True))
        if size > MAX_RESULT_SIZE:
            results.append(_terminated(RESULT_SIZE_OVERFLOW))
            break
        results.append(result)
        if not rpm_commands.succeeded(data) and "continueOnFailure" not in command:
            break
    return results


def _unsigned(transaction_id: bytes, code: int) -> bytes:
    return der.encode("LoadRpmPackageResult", ("loadRpmPackageResultNotSigned", {
        "transactionId": transaction_id, "loadRpmPackageErrorCodeNotSigned": code}), v3=True)


def _signed(ctx: Context, session: rsp_session.RspSession, transaction_id: bytes, final: tuple) -> bytes:
    """Sign the result with SK.EUICC.SIG of the session's CI, keep it as a notification, end the
    session (step 5)."""
    credential = es10b.card_identity(ctx).credential(session.ci_pkid)
    seq = notifications.next_seq(ctx.store)
    data = {"transactionId": transaction_id,
            "notificationMetadata": notifications.metadata(seq, notifications.LOAD_RPM_PACKAGE_RESULT,
                                                           session.server_address, None),
            "smdpOid": session.smdp_oid, "finalResult": final}
    signed = {"loadRpmPackageResultDataSigned": data,
              "euiccSignRPR": credential.sign(der.encode("LoadRpmPackageResultDataSigned", data, v3=True))}
    notifications.add(ctx.store, seq, der.encode("PendingNotification", ("loadRpmPackageResultSigned", signed), v3=True))
    rsp_session.end(ctx)
    return der.encode("LoadRpmPackageResult", ("loadRpmPackageResultSigned", signed), v3=True)


FUNCTIONS = {0xBF44: load_rpm_package}
