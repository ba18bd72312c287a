"""SGP.02 over the transport-independent remote management (ETSI TS 102 225 §5, TS 102 226 §5):
the ISD-R route registered by euicc/m2m/ota_routes.py answers a packet handed over directly, as an
HTTPS or CAT_TP transport will, without any SMS; a test's route provider registers beside SGP.02's.
Packets are built and PoRs decoded by the host tools (tools/ota, tests/m2m/host.py).
"""
from __future__ import annotations

from euicc.ota.origin import TransportContext, current_origin
from euicc.ota.routing import PRIORITY_CARD_ISSUER, Route
from euicc.context import Context, Origin
from tests.m2m import host
from tools.ota import transport

# the public CreateISDP vector of tests/m2m/test_es5.py (SGP.02 §4.1.1.1)
CREATE_ISDP = bytes.fromhex("80E60C003F10A0000005591010FFFFFFFF8900000D0010A0000005591010FFFFFFFF8900000E00"
                            "10A0000005591010FFFFFFFF8900001300" "0380C000" "06C904810203" "7000")
HTTPS = TransportContext(Origin.OTA_HTTPS)


def _context(card) -> Context:
    if card.session is None:
        card.power_on()
    return Context(card.session, card.session.channels[0])


def _remote(card):
    return card.services.envelope_handlers[0xD1].remote


def test_isdr_packet_without_sms(card, smsr):
    packet = smsr.packet(transport.expanded_script([CREATE_ISDP]))
    ctx = _context(card)
    with card.store.transaction():
        response = _remote(card).secured_packet(ctx, packet, HTTPS)
    assert not response.separate
    por = smsr.por(response.data)
    assert (por.tar, por.status, por.checksum_valid) == (host.ISDR_TAR, 0x00, True)
    assert transport.decode_expanded_response(por.data).responses == [b"\x00\x90\x00"]
    entry = card.services.registry.get(host.isdp_aid(0x13))
    assert entry is not None and entry.lifecycle == 0x07
    # the counter went up as over SMS: the same packet again is a replay ('02' counter low)
    with card.store.transaction():
        assert smsr.por(_remote(card).secured_packet(ctx, packet, HTTPS).data).status == 0x02


def test_route_provider_registered_beside_sgp02(card, smsr):
    """A provider registered before SGP.02's own wins the ISD-R TAR; the origin it sees names the
    transport the packet came in."""
    seen = []

    class Recorder:
        def execute(self, ctx, commands):
            seen.append((commands, current_origin(ctx)))
            return [b"\x90\x00"]

    keys_of_isdr = _remote(card).router.route(_context(card), host.ISDR_TAR).keys

    class Provider:
        def route(self, ctx, tar):
            return Route(b"\xA0\x00", keys_of_isdr, "test", Recorder()) if tar == host.ISDR_TAR else None

    _remote(card).router.register(Provider(), PRIORITY_CARD_ISSUER - 1)
    with card.store.transaction():
        response = _remote(card).secured_packet(_context(card), smsr.packet(bytes.fromhex("80CA006600")), HTTPS)
    assert smsr.por(response.data).data == bytes.fromhex("019000")
    commands, origin = seen[0]
    assert commands == [bytes.fromhex("80CA006600")]
    assert (origin.owner, origin.kvn, origin.target, origin.transport) == ("test", 1, b"\xA0\x00", HTTPS)
