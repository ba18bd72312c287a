"""The RSP session of the eUICC: SGP.22 v2.5 §3.1.2 / §3.1.3 (Common Mutual Authentication and
Download), the volatile state ES10b functions share.

Its lifetime is the RSP session: it is a power-cycle record (``ctx.volatile``, euicc.volatile:
dies with a reset, never persisted) that moves through: challenge issued (GetEUICCChallenge) -> server authenticated (AuthenticateServer) ->
download prepared (PrepareDownload) -> BPP loading (LoadBoundProfilePackage).  Any new
GetEUICCChallenge, CancelSession or the end of a BPP ends the previous session.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from euicc.crypto.certificates import VerifiedCertificate
from euicc.crypto.ecka import EckaKeyPair
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.context import Context


@dataclass
class RspSession(VolatileState):
    """State of one RSP session (see the module docstring)."""

    LIFETIME = Lifetime.POWER_CYCLE

    euicc_challenge: bytes
    transaction_id: bytes | None = None
    server_address: str = ""
    ci_pkid: bytes = b""
    dp_auth: VerifiedCertificate | None = None
    euicc_signature1: bytes = b""
    dp_pb: VerifiedCertificate | None = None
    otk: EckaKeyPair | None = None        # otSK/otPK.EUICC.ECKA (PrepareDownload)
    bpp: Any = None                        # euicc.rsp.bpp.BppLoader while a BPP is loading
    v3: bool = False                       # held in SGP.22 v3.1 (decided by AuthenticateServer)
    device_info: dict | None = None        # ctxParams1 DeviceInfo (AuthenticateServer)
    server_chain: tuple[bytes, ...] = ()   # v3 otherCertsInChain of CERT.XXauth (euicc.rsp.trust)
    rpm: bool = False                      # v3 operationType rpm: a LoadRpmPackage may follow (euicc.rsp.rpm)

    @property
    def smdp_oid(self) -> str:
        """SM-DP+ OID of CERT.DPauth.ECDSA (subjectAltName registeredID), '' if none."""
        oid = self.dp_auth.rsp_oid if self.dp_auth is not None else None
        return oid.dotted_string if oid is not None else ""


def current(ctx: Context) -> RspSession | None:
    return ctx.volatile.get(RspSession)


def start(ctx: Context, challenge: bytes) -> RspSession:
    return ctx.volatile.put(RspSession(challenge))


def end(ctx: Context) -> None:
    ctx.volatile.pop(RspSession)
