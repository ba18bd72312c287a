"""ISD-R, the eUICC's root security domain: GSMA SGP.22 v2.5 §2.2.1 / SGP.02 v4.2 §2.2.1.

This module holds the GlobalPlatform side common to both: the FCI (GP Card Spec v2.3.1 §11.9.3.1,
with the 'E0' ISDRProprietaryApplicationTemplate of the SGP.22 ASN.1 module), GET DATA (GP §11.3)
and GET STATUS (GP §11.4), all of them also inside an SCP03 secure channel with PUT KEY / DELETE
of its key sets (GP Amd D, euicc.gp.secure_channel).  What the card's extensions add to it
(SGP.22 ES10 over STORE DATA, SGP.02 ES5; the port is euicc.context.IsdRFunctions) comes from the
card's services: the first extension that claims a command processes it; a STORE DATA, INSTALL
or DELETE no extension claims is refused with '6A81' (function not supported), and the 'E0'
template holds what the extensions put in it (absent when empty).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.aids import ISD_R_AID
from euicc.apdu import SW, Command, SwError
from euicc.applet import Applet
from euicc.gp import card_data, key_store
from euicc.gp import keys as gp_keys
from euicc.gp.get_status import MAX_RESPONSE, get_status
from euicc.gp.secure_channel import SCP03_FEATURE, SCP03_INS, SecureChannel
from euicc.gp.registry import (KIND_ISD, LCS_CARD_SECURED, RegistryEntry, PRIV_AUTHORIZED_MANAGEMENT,
                               PRIV_CARD_RESET, PRIV_GLOBAL_REGISTRY, PRIV_SECURITY_DOMAIN,
                               PRIV_TRUSTED_PATH)

if TYPE_CHECKING:
    from euicc.context import Context



class IsdR(Applet):
    """ISD-R: A0000005591010FFFFFFFF8900000100 (SGP.02 Annex H)."""

    APPLET_ID = "isd_r"
    AID = ISD_R_AID
    KIND = KIND_ISD
    LIFECYCLE = LCS_CARD_SECURED
    PRIVILEGES = (PRIV_SECURITY_DOMAIN | PRIV_CARD_RESET | PRIV_TRUSTED_PATH
                  | PRIV_AUTHORIZED_MANAGEMENT | PRIV_GLOBAL_REGISTRY)
    INSTALL_BY_DEFAULT = True
    INS = frozenset({0xCA, 0xF2, 0xE2, 0xE4, 0xE6, 0xEC}) | SCP03_INS   # E4 DELETE, E6 INSTALL, EC PUSH (TS 102 226 §9): ES5
    HANDLES_SECURE_MESSAGING = True

    def select(self, ctx: Context, cmd: Command) -> bytes:
        """FCI: '84' AID (the one the card presents), 'A5' GP proprietary data, 'E0' ISD-R template
        (the extensions' parts, SGP.22: the SVN '82'; absent when empty)."""
        scp_i = key_store.isd_r_settings(ctx.store).i_parameter
        prop = card_data.card_recognition_data(scp_i=scp_i) + tlv.tlv(0x9F65, b"\xff")
        template = b"".join(f.template(ctx) for f in ctx.services.isd_r_functions)
        return tlv.tlv(0x6F, tlv.tlv(0x84, ctx.config.isd_r_aid) + tlv.tlv(0xA5, prop)
                       + (tlv.tlv(0xE0, template) if template else b""))

    def process(self, ctx: Context, cmd: Command) -> bytes:
        """Every command through the SCP03 secure channel of this logical channel (if one is open).

        The card's settings first: without SCP03 its instructions are unknown ('6D00', ISO 7816-4
        §5.6); a STORE DATA block longer than the card's buffer is a wrong length ('6700')."""
        config = ctx.config
        if cmd.ins in SCP03_INS and SCP03_FEATURE in config.disabled:
            raise SwError(SW.INS_NOT_SUPPORTED)
        limit = config.max_store_data_block
        if cmd.ins == 0xE2 and limit is not None and len(cmd.data) > limit:
            raise SwError(SW.WRONG_LENGTH)
        channel = SecureChannel.isd_r(ctx, self.aid)
        return channel.process(cmd, lambda plain: self._process(ctx, plain, channel.response_overhead))

    def _process(self, ctx: Context, cmd: Command, overhead: int) -> bytes:
        functions = ctx.services.isd_r_functions
        claimant = next((f for f in functions if f.claims(ctx, cmd)), None)
        if claimant is not None:
            return claimant.process(ctx, cmd, self.aid)
        if cmd.ins == 0xCA:
            return self.get_data(ctx, cmd)
        if cmd.ins != 0xF2:
            raise SwError(SW.FUNCTION_NOT_SUPPORTED)
        data, sw = get_status_command(ctx, cmd, MAX_RESPONSE - overhead)
        for f in functions:
            data = f.get_status(ctx, data)
        if sw != SW.OK:
            raise SwError(sw, data)
        return data

    def get_data(self, ctx: Context, cmd: Command) -> bytes:
        """GET DATA (GP §11.3): '66' card data, '5A' EID, '42' IIN, '45' CIN, 'E0' key info."""
        if cmd.data:
            raise SwError(SW.WRONG_LENGTH)
        tag = cmd.p1p2
        if tag == 0x0066:
            return card_data.card_data(scp_i=key_store.isd_r_settings(ctx.store).i_parameter)
        if tag == 0x005A:
            return tlv.tlv(0x5A, ctx.services.eid)
        if tag == 0x0042:
            return tlv.tlv(0x42, ctx.store.get(gp_keys.IIN, b""))
        if tag == 0x0045:
            return tlv.tlv(0x45, ctx.store.get(gp_keys.CIN, ctx.services.eid))
        if tag == 0x00E0:
            return tlv.tlv(0xE0, key_store.isd_r(ctx.store).key_information())
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)


def get_status_command(ctx: Context, cmd: Command, max_response: int = MAX_RESPONSE) -> tuple[bytes, int]:
    if not cmd.proprietary:
        raise SwError(SW.CLA_NOT_SUPPORTED)
    entries = presented(ctx.registry.entries(), ctx.config.isd_r_aid)
    return get_status(cmd, entries, ctx.channel.applet_state, max_response)


def presented(entries: list[RegistryEntry], isd_r_aid: bytes) -> list[RegistryEntry]:
    """The registry as the card shows it: the ISD-R (and as the associated security domain of the
    ISD-Ps) at the AID the card presents (``CardConfig.isd_r_aid``)."""
    if isd_r_aid == ISD_R_AID:
        return entries
    return [replace(e, aid=isd_r_aid if e.aid == ISD_R_AID else e.aid,
                    sd=isd_r_aid if e.sd == ISD_R_AID else e.sd) for e in entries]
