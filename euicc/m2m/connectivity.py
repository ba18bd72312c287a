"""The connectivity parameters of the enabled profile (SGP.02 v4.2 ES8 UpdateConnectivityParameters,
DGI '3A07', stored as received by :mod:`euicc.m2m.es8` under ``isdp/<aid>/connectivity``) and the
BIP channel request built from them (ETSI TS 102 223 §6.4.27: bearer description §8.52, network
access name §8.70), for the engines that open channels (SCP81, CAT_TP, DNS).

Without parameters (or without a BIP sub-template, ``bip_parameter_templates``) the channel asks
for the default bearer ('03') and no network access name: the terminal's own choice.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.cat.bip_port import ChannelRequest, Transport
from euicc.m2m.records import isdp_key
from euicc.m2m.runtime import M2mRuntime

if TYPE_CHECKING:
    from euicc.context import Context

DEFAULT_BEARER = b"\x03"                        # TS 102 223 §8.52: default bearer for the transport
TAG_BEARER, TAG_NETWORK_ACCESS_NAME = 0x35, 0x47   # COMPREHENSION-TLV tags, CR bit clear or set


def stored(ctx: Context) -> bytes:
    """The DGI '3A07' value of the enabled profile's ISD-P (b"" when none was stored)."""
    enabled = ctx.services.profiles.enabled()
    return ctx.store.get(isdp_key(enabled.isdp_aid, "connectivity"), b"") if enabled is not None else b""


def bearer_and_name(ctx: Context, runtime: M2mRuntime) -> tuple[bytes, bytes | None]:
    """(bearer description, network access name) from the first BIP sub-template present."""
    try:
        templates = dict(tlv.iter_tlv(stored(ctx)))
        for tag in runtime.settings.bip_parameter_templates:
            if tag in templates:
                objects = {t & 0x7F: v for t, v in tlv.iter_tlv(templates[tag])}
                return objects.get(TAG_BEARER) or DEFAULT_BEARER, objects.get(TAG_NETWORK_ACCESS_NAME)
    except tlv.TlvError:
        pass                                      # stored unchecked beyond BER-TLV: keep the defaults
    return DEFAULT_BEARER, None


def channel_request(ctx: Context, runtime: M2mRuntime, transport: Transport, address: bytes,
                    port: int) -> ChannelRequest:
    """OPEN CHANNEL parameters for `transport` to `address`:`port` with the profile's bearer."""
    bearer, name = bearer_and_name(ctx, runtime)
    return ChannelRequest(transport, address, port, runtime.settings.bip_buffer_size, bearer, name)
