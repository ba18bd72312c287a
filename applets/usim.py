"""The USIM application: 3GPP TS 31.102 §7.1 AUTHENTICATE (3G/EPS and GSM security contexts) and
§7.5 GET IDENTITY (SUCI computed by the USIM, TS 33.501 Annex C; see euicc.profiles.suci_source).

Selected as an ADF (by AID, from EF.DIR); the file commands of its ADF are the file system's, this
class adds the commands that need the subscriber's keys.  Keys and the SQN array are the ADF's
:class:`~euicc.auth.subscription.AkaSubscription`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.applet import Applet
from euicc.auth import subscription
from euicc.auth.aka import AkaAlgorithm, AkaSuccess, MacFailure, SyncFailure, authenticate, gsm_context
from euicc.auth.errors import AuthParameterError
from euicc.auth.suci import SuciError
from euicc.fs import keys as fs_keys
from euicc.profiles import suci_source

if TYPE_CHECKING:
    from euicc.context import Context
    from euicc.gp.registry import RegistryEntry

AUTH_MAC_FAILURE = 0x9862          # TS 31.102 §7.3: authentication error, incorrect MAC
CONTEXT_NOT_SUPPORTED = 0x9864     # authentication error, security context not supported
PIN_APPL_1 = 0x01


def length_values(data: bytes, count: int) -> list[bytes]:
    """Split `count` length-prefixed values (TS 31.102 §7.1.2 command data coding); '6700'."""
    try:
        return tlv.split_lv(data, count)
    except tlv.TlvError:
        raise SwError(SW.WRONG_LENGTH) from None


def lv(value: bytes) -> bytes:
    return bytes((len(value),)) + value


class Usim(Applet):
    """The USIM ADF application (AID prefix A0000000871002, ETSI TS 101 220 Annex E)."""

    APPLET_ID = "usim"
    AID = b""
    ADF_PREFIX: ClassVar[bytes] = bytes.fromhex("A0000000871002")
    INS = frozenset({0x88, 0x78})
    CONTEXTS: ClassVar[frozenset[int]] = frozenset({0x80, 0x81})

    def __init__(self, entry: RegistryEntry) -> None:
        super().__init__(entry)
        self._algorithm: tuple[tuple, AkaAlgorithm] | None = None

    def algorithm_set(self, sub: subscription.AkaSubscription) -> AkaAlgorithm:
        """The subscription's f1..f5* (TS 33.102 §6.3.2), built once per key set while this
        instance lives (one card session): no key schedule at every AUTHENTICATE."""
        params = sub.algorithm_params()
        if self._algorithm is None or self._algorithm[0] != params:
            self._algorithm = (params, sub.algorithm_set())
        return self._algorithm[1]

    def process(self, ctx: Context, cmd: Command) -> bytes:
        if cmd.ins == 0x78:
            return self.get_identity(ctx, cmd)
        return self.authenticate(ctx, cmd)

    def get_identity(self, ctx: Context, cmd: Command) -> bytes:
        """GET IDENTITY (TS 31.102 §7.5) in the SUCI context: 'A1' SUCI TLV data object.

        [U] P2 '01' = SUCI context; CLA '0X' and '8X' are both accepted (the class was not
        verified).  Refused with '6985' unless EF.UST has services n°124 and n°125 (SUCI
        calculation by the USIM).
        """
        if cmd.p1 != 0x00 or cmd.p2 != suci_source.SUCI_CONTEXT:
            raise SwError(SW.INCORRECT_P1P2)
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        if not ctx.pins.is_satisfied(PIN_APPL_1):
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        adf = ctx.channel.cursor.adf
        if adf is None:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        try:
            suci = suci_source.compute(ctx.fs, adf)
        except (suci_source.SuciUnavailable, SuciError):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED) from None
        return tlv.tlv(0xA1, suci)

    def subscription(self, ctx: Context) -> subscription.AkaSubscription:
        sub = ctx.store.get(fs_keys.aka(ctx.fs.fsid, self.aid))
        if sub is None:
            raise SwError(CONTEXT_NOT_SUPPORTED)
        return sub

    def authenticate(self, ctx: Context, cmd: Command) -> bytes:
        """AUTHENTICATE (TS 31.102 §7.1.2): P2 '81' 3G/EPS context, '80' GSM context."""
        if cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        if cmd.p1 != 0x00 or cmd.p2 not in self.CONTEXTS:
            raise SwError(SW.INCORRECT_P1P2)
        if not ctx.pins.is_satisfied(PIN_APPL_1):
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        sub = self.subscription(ctx)
        try:
            algorithm = self.algorithm_set(sub)
            if cmd.p2 == 0x80:
                (rand,) = length_values(cmd.data, 1)
                result = gsm_context(algorithm, rand)
                return lv(result.sres) + lv(result.kc)
            rand, autn = length_values(cmd.data, 2)
            outcome = authenticate(algorithm, rand, autn, sub.sqn_state(), sub.policy())
        except AuthParameterError:
            raise SwError(SW.WRONG_LENGTH) from None
        if isinstance(outcome, MacFailure):
            raise SwError(AUTH_MAC_FAILURE)
        if isinstance(outcome, SyncFailure):
            return tlv.tlv(0xDC, outcome.auts)
        assert isinstance(outcome, AkaSuccess)
        ctx.store.put(fs_keys.aka(ctx.fs.fsid, self.aid),
                      replace(sub, seq_ms=outcome.state.seq_ms))
        return self.success_response(outcome)

    def success_response(self, outcome: AkaSuccess) -> bytes:
        """'DB' RES, CK, IK and, with 128-bit keys, Kc (TS 31.102 §7.1.2.1)."""
        body = lv(outcome.res) + lv(outcome.ck) + lv(outcome.ik)
        if outcome.kc is not None:
            body += lv(outcome.kc)
        return b"\xdb" + body
