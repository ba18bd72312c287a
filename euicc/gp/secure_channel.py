"""A Security Domain's SCP03 secure channel on one logical channel (GP Card Spec v2.3 §10.2,
§10.8; GP Amd D §5.2, §7): INITIALIZE UPDATE / EXTERNAL AUTHENTICATE, then every command of the
Security Domain unwrapped (C-MAC checked before anything runs, C-DEC) and its response wrapped
(R-MAC, R-ENC) at the session's security level; key management (PUT KEY, DELETE) from the
terminal only inside an authenticated session with command decryption.  A remote APDU of an OTA
script outside any SCP03 session came through the Security Domain's own secured OTA channel
(SCP80 / SCP81, which take the place of the secure channel, GP CS §11.8.2.3): it goes to the
Security Domain's functions (e.g. SGP.02 ES5 PUT KEY of the ISD-R's SCP81 key sets).

The session lives in the applet's channel state, so SELECT of another application, a reset or
the closing of the logical channel ends it (GP CS §10.2.3).  Without a session commands pass
unchanged (an LPA's ES10 STORE DATA needs none); a command with secure messaging outside a
session is refused with '6982'.  The card challenge is pseudo-random (Amd D §6.2.2.1, "i" bit
'10'): the key set's sequence counter is incremented and persisted by each INITIALIZE UPDATE.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from euicc.apdu import SW, Command, SwError
from euicc.context import Origin
from euicc.crypto.scp03 import BLOCK, Scp03Session, Scp03Settings, SecurityLevel, SessionState
from euicc.gp import put_key
from euicc.gp.key_store import Scp03Store, isd_r, isd_r_settings

if TYPE_CHECKING:
    from euicc.context import Context

INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, INS_PUT_KEY, INS_DELETE = 0x50, 0x82, 0xD8, 0xE4
SCP03_INS = frozenset({INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, INS_PUT_KEY, INS_DELETE})
#: CardConfig.disabled name of the ISD-R's SCP03: off, these instructions answer '6D00'
SCP03_FEATURE = "scp03"
#: GP CS §7.3 / the issue's minimum: key management needs an authenticated session with C-DEC
KEY_MANAGEMENT_LEVEL = SecurityLevel.C_MAC | SecurityLevel.C_DECRYPTION
_STATE_KEY: Final = "scp03"

Handler = Callable[[Command], bytes]


class SecureChannel:
    """The SCP03 side of one Security Domain (its AID and key store) on the current channel."""

    def __init__(self, ctx: Context, sd_aid: bytes, keys: Scp03Store, settings: Scp03Settings) -> None:
        self.ctx = ctx
        self.sd_aid = sd_aid
        self.keys = keys
        self.settings = settings

    @classmethod
    def isd_r(cls, ctx: Context, sd_aid: bytes) -> SecureChannel:
        return cls(ctx, sd_aid, isd_r(ctx.store), isd_r_settings(ctx.store))

    @property
    def session(self) -> Scp03Session | None:
        return self.ctx.channel.applet_state.get(_STATE_KEY)

    @property
    def response_overhead(self) -> int:
        """Bytes that R-ENC padding and the R-MAC may add to a response body (Amd D §6.2.5,
        §6.2.7), for commands that size their answers to a short response."""
        session = self.session
        if session is None or session.state is not SessionState.AUTHENTICATED:
            return 0
        level = session.security_level
        return ((BLOCK if level & SecurityLevel.R_ENCRYPTION else 0)
                + (self.settings.s_mode if level & SecurityLevel.R_MAC else 0))

    def process(self, cmd: Command, handler: Handler) -> bytes:
        """Run ``cmd``: the SCP03 commands here, every other one through ``handler`` once unwrapped."""
        if cmd.ins == INS_INITIALIZE_UPDATE and not cmd.secure_messaging:
            return self._initialize_update(cmd)
        session = self.session
        if cmd.ins == INS_EXTERNAL_AUTHENTICATE:
            if session is None:
                raise SwError(SW.CONDITIONS_NOT_SATISFIED)
            return session.external_authenticate(cmd)
        if session is None:
            if cmd.secure_messaging:
                raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
            plain = cmd
        else:
            plain = session.unwrap(cmd)
        try:
            if (plain.ins == INS_PUT_KEY or put_key.is_delete_key(plain)) and (
                    session is not None or self.ctx.origin is Origin.TERMINAL):
                data = self._key_management(plain)
            else:
                data = handler(plain)
        except SwError as e:
            raise SwError(e.sw, session.wrap(e.data, e.sw) if session else e.data) from None
        return session.wrap(data) if session else data

    def _initialize_update(self, cmd: Command) -> bytes:
        """Amd D §7.1: a new session from the key sets as stored now; the counter is persisted."""
        if not cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        session = Scp03Session(self.keys.key_sets(), self.sd_aid, self.settings)
        self.ctx.channel.applet_state[_STATE_KEY] = session
        response = session.initialize_update(cmd)
        if session.key_set is not None:
            self.keys.save_counter(session.key_set)
        return response

    def _key_management(self, cmd: Command) -> bytes:
        """PUT KEY / DELETE key: only at a security level with C-MAC and C-DEC ('6982' below)."""
        session = self.session
        if (session is None or session.state is not SessionState.AUTHENTICATED or session.key_set is None
                or session.security_level & KEY_MANAGEMENT_LEVEL != KEY_MANAGEMENT_LEVEL):
            raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
        if not cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        if cmd.ins == INS_PUT_KEY:
            return put_key.put_key(self.keys, session.key_set.dek, cmd)
        return put_key.delete_key(self.keys, cmd)
