"""The RSP session of the eUICC: SGP.22 v2.5 §3.1.2 / §3.1.3 (Common Mutual Authentication and
Download), the volatile state ES10b functions share.

It lives in ``ctx.session.volatile`` (card-wide, dies with a reset, never persisted) and moves
through: challenge issued (GetEUICCChallenge) -> server authenticated (AuthenticateServer) ->
download prepared (PrepareDownload) -> BPP loading (LoadBoundProfilePackage).  Any new
GetEUICCChallenge, CancelSession or the end of a BPP ends the previous session.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from euicc.crypto.certificates import VerifiedCertificate
from euicc.crypto.ecka import EckaKeyPair

if TYPE_CHECKING:
    from euicc.session import Context

VOLATILE_KEY = "rsp"


@dataclass
class RspSession:
    """State of one RSP session (see the module docstring)."""

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

    @property
    def smdp_oid(self) -> str:
        """SM-DP+ OID of CERT.DPauth.ECDSA (subjectAltName registeredID), '' if none."""
        oid = self.dp_auth.rsp_oid if self.dp_auth is not None else None
        return oid.dotted_string if oid is not None else ""


def current(ctx: Context) -> RspSession | None:
    return ctx.session.volatile.get(VOLATILE_KEY)


def start(ctx: Context, challenge: bytes) -> RspSession:
    session = RspSession(challenge)
    ctx.session.volatile[VOLATILE_KEY] = session
    return session


def end(ctx: Context) -> None:
    ctx.session.volatile.pop(VOLATILE_KEY, None)
