"""BIP channels take the bearer description and network access name from the connectivity
parameters ES8 UpdateConnectivityParameters stored (SGP.02 DGI '3A07'; TS 102 223 §8.52, §8.70)."""
from __future__ import annotations

from euicc.cat.bip import open_channel_body
from euicc.cat.bip_port import ChannelRequest
from euicc.context import Context
from euicc.m2m.connectivity import channel_request
from euicc.m2m.records import isdp_key
from euicc.m2m.runtime import M2mRuntime

# 'A0' {'06' SMS-C} (the public vector of SPEC_NOTES §2.3), 'A1' {'35' GPRS bearer (§8.52: type
# '02', precedence, delay, reliability, peak, mean, PDP type '02' IP), '47' "m2m.apn"}
SMS = bytes.fromhex("A00906079133869942 11F1".replace(" ", ""))
BEARER = bytes.fromhex("02030402091F02")
APN = b"\x03m2m\x03apn"
BIP = bytes([0xA1, 2 + len(BEARER) + 2 + len(APN), 0x35, len(BEARER)]) + BEARER + bytes([0x47, len(APN)]) + APN


def ctx_of(card) -> Context:
    return Context(card.session, card.session.channels[0])


def test_request_uses_the_stored_parameters(card, first_isdp):
    card.store.put(isdp_key(first_isdp, "connectivity"), SMS + BIP)
    request = channel_request(ctx_of(card), M2mRuntime(), "tcp", bytes([10, 0, 0, 1]), 443)
    assert request == ChannelRequest("tcp", bytes([10, 0, 0, 1]), 443, 1400, BEARER, APN)
    body = open_channel_body(request).hex().upper()
    assert body.startswith("B507" + BEARER.hex().upper() + "B9020578C708" + APN.hex().upper())


def test_without_parameters_the_default_bearer(card, first_isdp):
    card.store.put(isdp_key(first_isdp, "connectivity"), SMS)
    request = channel_request(ctx_of(card), M2mRuntime(), "udp", bytes([10, 0, 0, 1]), 53)
    assert (request.bearer, request.network_access_name) == (b"\x03", None)
