"""ARA-M, the Access Rule Application Master: GlobalPlatform Secure Element Access Control
(GPD_SPE_013) v1.1.

Android reads its carrier-privilege rules here (source.android.com/docs/core/connect/uicc): a
logical channel, SELECT A00000015141434C00, GET DATA [All] '80CAFF40' and, while the
Response-ALL-REF-AR-DO announces more than one response carried, GET DATA [Next] '80CAFF60'.  The
rules themselves and their coding are in euicc.gp.access_control.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Final

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.applet import Applet
from euicc.channels import MAX_SHORT, SelectionState
from euicc.gp import access_control as ac
from euicc.gp import store_data
from euicc.gp.registry import KIND_APP, LCS_SELECTABLE

if TYPE_CHECKING:
    from euicc.context import Context

# GET DATA P1-P2 (SEAC v1.1 §4.1.1 Table 4-1)
GET_ALL, GET_SPECIFIC, GET_NEXT = 0xFF40, 0xFF50, 0xFF60
GET_REFRESH_TAG, GET_CONFIG = 0xDF20, 0xDF21
#: GET DATA [Next] after the rules changed since GET DATA [All]: the rules must be read again
#: ('6984', as pySim's table of SEAC v1.1 §4.1.2.2 status words reads; the spec text was not at hand).
SW_RULES_UPDATED = SW.REFERENCE_DATA_INVALIDATED
#: GET DATA [Next] with nothing left to send (no GET DATA [All] before it on this channel).
SW_NOTHING_NEXT = SW.CONDITIONS_NOT_SATISFIED
_NEXT_KEY: Final = "aram-next"   # channel state: (data not yet sent, refresh tag it was read under)


class AraM(Applet):
    """ARA-M: A00000015141434C00 (SEAC v1.1; Android's UICC carrier privileges page)."""

    APPLET_ID = "ara_m"
    AID = bytes.fromhex("A00000015141434C00")
    KIND = KIND_APP
    LIFECYCLE = LCS_SELECTABLE
    INSTALL_BY_DEFAULT = True
    INS = frozenset({0xCA, 0xE2})

    def process(self, ctx: Context, cmd: Command) -> bytes:
        if not cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        rules = ac.AccessRules(ctx.store)
        if cmd.ins == 0xE2:
            return self.store_data(ctx, cmd, rules)
        return self.get_data(ctx, cmd, rules)

    def store_data(self, ctx: Context, cmd: Command, rules: ac.AccessRules) -> bytes:
        """STORE DATA (SEAC v1.1 §5.1.1, GP Card Spec §11.11): P1 b8 last block, b5-b4 '00' or
        '10' (BER-TLV), unencrypted; P2 the block number."""
        if cmd.p1 & 0x7F not in (0x00, 0x10):
            raise SwError(SW.INCORRECT_P1P2)
        data = store_data.collect(cmd, ctx.channel.applet_state, ac.MAX_RULES_SIZE)
        if data is not None:
            ac.store_data(rules, data)
        return b""

    def get_data(self, ctx: Context, cmd: Command, rules: ac.AccessRules) -> bytes:
        """GET DATA (SEAC v1.1 §4.1.1): [All], [Specific], [Next], [Refresh tag], [Config]."""
        tag, state = cmd.p1p2, ctx.channel.applet_state
        if tag == GET_SPECIFIC:
            return rules.response_specific(_single(cmd.data, ac.TAG_REF_DO))
        if tag == GET_CONFIG:
            return _config(cmd.data)
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        if tag == GET_ALL:
            return _send(state, rules.response_all(), rules.refresh_tag())
        if tag == GET_NEXT:
            return _next_block(ctx, cmd, rules)
        if tag == GET_REFRESH_TAG:
            return tlv.tlv(ac.TAG_RESPONSE_REFRESH, rules.refresh_tag())
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)


def _config(data: bytes) -> bytes:
    """GET DATA [Config]: the device's Device-Config-DO 'E4' {Device-Interface-Version-DO 'E6'}
    in, Response-ARAM-Config-DO 'DF21' {ARAM-Config-DO 'E5' {'E6' this ARA-M's version}} out."""
    version = ac.data_objects(_single(data, ac.TAG_DEVICE_CONFIG), frozenset({ac.TAG_INTERFACE_VERSION}))
    if len(version.get(ac.TAG_INTERFACE_VERSION, b"")) != 3:
        raise SwError(SW.INCORRECT_DATA)
    return tlv.tlv(ac.TAG_RESPONSE_CONFIG, tlv.tlv(ac.TAG_ARAM_CONFIG, tlv.tlv(
        ac.TAG_INTERFACE_VERSION, ac.ARAM_INTERFACE_VERSION)))


def _next_block(ctx: Context, cmd: Command, rules: ac.AccessRules) -> bytes:
    """GET DATA [Next]: the next part of the rules read by GET DATA [All], unless they changed
    since.  (A block that T=0 withholds with '6Cxx' reaches the re-issued command through the
    channel's kept answer, euicc.channels: this runs once.)"""
    state = ctx.channel.applet_state
    pending = state.get(_NEXT_KEY)
    if pending is None:
        raise SwError(SW_NOTHING_NEXT)
    rest, refresh_tag = pending
    if refresh_tag != rules.refresh_tag():
        del state[_NEXT_KEY]
        raise SwError(SW_RULES_UPDATED)
    return _send(state, rest, refresh_tag)


def _send(state: SelectionState, data: bytes, refresh_tag: bytes) -> bytes:
    """At most one short response's worth of `data`; the rest waits for GET DATA [Next]."""
    state.pop(_NEXT_KEY, None)
    if len(data) > MAX_SHORT:
        state[_NEXT_KEY] = (data[MAX_SHORT:], refresh_tag)
    return data[:MAX_SHORT]


def _single(data: bytes, tag: int) -> bytes:
    """The value of the command data, which must be exactly one `tag` object ('6A80' otherwise)."""
    try:
        return tlv.unwrap(data, tag)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
