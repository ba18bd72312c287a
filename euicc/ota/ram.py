"""Remote Application Management of a profile's security domain (ETSI TS 102 226 §8, GP Card
Specification v2.3 §11): what the MNO-SD of the enabled profile answers to RAM commands.

The profile's security domains, applications and keys are records of the profile
(:mod:`euicc.profiles.pe_keys`); this card cannot run Java Card code, so content management that
would change them (INSTALL, DELETE, LOAD, PUT KEY, SET STATUS, STORE DATA) is answered '6A81'
(function not supported, ISO/IEC 7816-4 §5.6) and changes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.apdu import SW, Command, SwError
from euicc.applet import Applet
from euicc.fs import keys as fs_keys
from euicc.gp.registry import RegistryEntry
from euicc.tlv import TlvError, iter_tlv, tlv

if TYPE_CHECKING:
    from euicc.context import Context

INS_GET_STATUS, INS_GET_DATA = 0xF2, 0xCA
UNSUPPORTED = frozenset({0xE6, 0xE4, 0xE8, 0xD8, 0xF0, 0xE2})   # INSTALL DELETE LOAD PUT KEY SET STATUS STORE DATA
P1_ISD, P1_APPLICATIONS = 0x80, 0x40          # GP §11.4.2.1 (the ISD here: this security domain)
P2_TLV = 0x02                                 # GP §11.4.2.2: response in TLV format ('E3' entries)
TAG_KEY_INFORMATION = 0x00E0                  # GP §11.3.3.1 key information template
LCS_SELECTABLE = 0x07


class ProfileSecurityDomain(Applet):
    """A profile's security domain reached by RAM (TS 102 226 §8.1)."""

    INS = frozenset({INS_GET_STATUS, INS_GET_DATA}) | UNSUPPORTED

    def __init__(self, entry: RegistryEntry, fsid: str) -> None:
        super().__init__(entry)
        self.fsid = fsid

    def process(self, ctx: Context, cmd: Command) -> bytes:
        if cmd.ins in UNSUPPORTED:
            raise SwError(SW.FUNCTION_NOT_SUPPORTED)
        if not cmd.proprietary:
            raise SwError(SW.CLA_NOT_SUPPORTED)
        if cmd.ins == INS_GET_STATUS:
            return self.get_status(ctx, cmd)
        return self.get_data(ctx, cmd)

    def get_status(self, ctx: Context, cmd: Command) -> bytes:
        """GET STATUS (GP §11.4) of this SD (P1 '80') or of the profile's SDs and applications
        (P1 '40'), TLV format only; search criterion '4F' with an AID prefix (empty: all)."""
        if cmd.p1 not in (P1_ISD, P1_APPLICATIONS) or cmd.p2 != P2_TLV:
            raise SwError(SW.INCORRECT_P1P2)
        try:
            criteria = dict(iter_tlv(cmd.data))
        except TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        if 0x4F not in criteria:
            raise SwError(SW.INCORRECT_DATA)
        prefix = bytes(criteria[0x4F])
        found = [self.entry] if cmd.p1 == P1_ISD else self._entries(ctx)
        out = b"".join(_status(e.aid, e.lifecycle, e.privileges) for e in found if e.aid.startswith(prefix))
        out += b"" if cmd.p1 == P1_ISD else b"".join(
            _status(aid, LCS_SELECTABLE, 0) for aid in self._applications(ctx) if aid.startswith(prefix))
        if not out:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        return out

    def get_data(self, ctx: Context, cmd: Command) -> bytes:
        """GET DATA (GP §11.3): the key information template ('00E0') of this SD's key sets."""
        if (cmd.p1 << 8 | cmd.p2) != TAG_KEY_INFORMATION:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        prefix = fs_keys.sd_keys(self.fsid, self.aid)
        items = b""
        for key in ctx.store.keys(prefix):
            record = ctx.store.get(key)
            kvn, key_id = int(key[-4:-2], 16), int(key[-2:], 16)
            components = b"".join(bytes(c["type"])[:1] + bytes([len(c["data"])]) for c in record["components"])
            items += tlv(0xC0, bytes([key_id, kvn]) + components)
        return tlv(0xE0, items)

    def _entries(self, ctx: Context) -> list[RegistryEntry]:
        return [ctx.store.get(k) for k in ctx.store.keys(fs_keys.registry(self.fsid))]

    def _applications(self, ctx: Context) -> list[bytes]:
        records = [ctx.store.get(k) for k in ctx.store.keys(fs_keys.application(self.fsid))]
        return [bytes(aid) for r in records if r for aid in r["instances"]]


def _status(aid: bytes, lifecycle: int, privileges: int) -> bytes:
    """One GET STATUS entry, GP §11.4.3.1 table 11-36: 'E3' {4F AID, 9F70 LCS, C5 privileges}."""
    return tlv(0xE3, tlv(0x4F, aid) + tlv(0x9F70, bytes([lifecycle])) + tlv(0xC5, privileges.to_bytes(3, "big")))
