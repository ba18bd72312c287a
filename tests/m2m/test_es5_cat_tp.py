"""ES5 over CAT_TP with SCP80 (SGP.02 v4.2; ETSI TS 102 225 §5 packets over TS 102 127), end to
end in-process: the host SM-SR (tools/ota/cat_tp.py + tools/ota/packet.py, independent of the
card) -> CAT_TP over real UDP sockets through a lossy relay -> the card's endpoint, driven by a
BIP stand-in -> remote management -> ES5 on the ISD-R -> Response Packet back over the link."""
from __future__ import annotations

import time

import pytest

from euicc.cat.catp.endpoint import CatTpEndpoint, CatTpSettings
from euicc.context import Context, Origin
from euicc.ota.origin import current_origin
from euicc.ota.routing import PRIORITY_CARD_ISSUER, Route
from euicc.ota.transport_catp import CatTpAdministration
from tests.cat_tp.lossy import BipStandIn, Impairment, LossyRelay, udp_socket
from tests.m2m import host
from tests.m2m.conftest import add_profile
from tools.ota import packet as ota
from tools.ota import transport
from tools.ota.cat_tp import CatTpError, HostCatTp
from tools.smsr.cat_tp_link import CatTpOta

CARD_PORT, SMSR_PORT = 1026, 4001
ICCID_ID = bytes.fromhex("98001032547698103214")
SETTINGS = CatTpSettings(max_pdu_size=240, retransmit_timeout=0.05, max_retries=60, keepalive_interval=0,
                         close_wait_time=0.05, identification=ICCID_ID)


class Session:
    """One CAT_TP administration link, the card opening it as after a PUSH (TS 102 226 §9)."""

    def __init__(self, card, impairment: Impairment) -> None:
        self.card = card
        self.host_sock, bip_sock = udp_socket(), udp_socket()
        self.relay = LossyRelay(self.host_sock.getsockname(), bip_sock.getsockname(), impairment).start()
        remote = card.services.envelope_handlers[0xD1].remote
        self.origins: list = []
        endpoint = CatTpEndpoint(time.monotonic, CARD_PORT, SMSR_PORT, SETTINGS, initial_seq=0x1234)
        self.admin = CatTpAdministration(remote, self._in_card, endpoint)
        self.bip = BipStandIn(self.admin, self.relay.address, bip_sock).start()
        self.host = HostCatTp(self.host_sock, self.relay.address, SMSR_PORT, CARD_PORT, rto=0.05, retries=80)

    def _in_card(self, fn):
        if self.card.session is None:
            self.card.power_on()
        ctx = Context(self.card.session, self.card.session.channels[0])
        with self.card.store.transaction():
            return fn(ctx)

    def close(self) -> None:
        self.bip.stop()
        self.relay.stop()
        self.host_sock.close()
        assert self.bip.error is None, repr(self.bip.error)


@pytest.fixture
def sessions(card):
    made = []
    yield lambda impairment=Impairment(): made.append(Session(card, impairment)) or made[-1]
    for session in made:
        session.close()


def run(session: Session, smsr, apdus: list[bytes]) -> ota.ResponsePacket:
    """One ES5 script over the link with the SM-SR's key set and counter (tools/smsr/cat_tp_link.py)."""
    ota_link = CatTpOta(session.host, smsr.keyset, smsr.counter)
    por = ota_link.exchange(transport.expanded_script(apdus))
    smsr.counter = ota_link.counter
    return por


def responses(por: ota.ResponsePacket) -> list[tuple[bytes, int]]:
    return [(r[:-2], int.from_bytes(r[-2:], "big")) for r in transport.decode_expanded_response(por.data).responses]


@pytest.mark.parametrize("impairment", [Impairment(), Impairment(drop=0.15, duplicate=0.15, reorder=0.2, seed=4)],
                         ids=["clean", "lossy"])
def test_es5_audit_and_enable_profile_over_cat_tp(sessions, smsr, card, first_isdp, impairment):
    second = add_profile(card, 0x20, "8988100000000000011")
    session = sessions(impairment)
    assert session.host.accept() == ICCID_ID                      # the card's SYN names it (§6.3)
    # eUICCCapabilityAudit (SGP.02 §4.1.1.5): GET STATUS of the first ISD-P and the resources, one script
    por = run(session, smsr, [bytes.fromhex("80F2400212") + host.ber(0x4F, first_isdp) + b"\x00",
                              bytes.fromhex("80CAFF2100")])
    assert (por.tar, por.status, por.checksum_valid) == (host.ISDR_TAR, 0x00, True)
    (status, sw1), (resources, sw2) = responses(por)
    entry = dict(host.parse_tlvs(host.parse_tlvs(status)[0][1]))
    assert (sw1, sw2) == (0x9000, 0x9000) and entry[0x4F] == first_isdp and entry[0x9F70] == b"\x3f"
    assert [t for t, _ in host.parse_tlvs(host.parse_tlvs(resources)[0][1])] == [0x81, 0x82, 0x83]
    # EnableProfile (SGP.02 §4.1.1.2: STORE DATA DGI 3A03)
    por = run(session, smsr, [host.store_data(host.dgi(0x3A03, host.ber(0x4F, second)))])
    assert (por.status, por.checksum_valid, responses(por)) == (0x00, True, [(b"", 0x9000)])
    assert card.services.profiles.get(second).state == 1 and card.services.profiles.get(first_isdp).state == 0


def test_the_script_runs_with_the_cat_tp_origin(sessions, smsr, card):
    """The remote APDUs carry Origin.OTA_CAT_TP (TransportContext of the packet), as SMS ones
    carry OTA_SMS: a route provider registered before SGP.02's sees it."""
    seen = []
    remote = card.services.envelope_handlers[0xD1].remote
    keys = remote.router.route(Context(card.session, card.session.channels[0]), host.ISDR_TAR).keys

    class Recorder:
        def execute(self, ctx, commands):
            seen.append((ctx.origin, current_origin(ctx).transport.origin, current_origin(ctx).transport.originator))
            return [b"\x90\x00"]

    class Provider:
        def route(self, ctx, tar):
            return Route(b"\xA0\x00", keys, "test", Recorder()) if tar == host.ISDR_TAR else None

    remote.router.register(Provider(), PRIORITY_CARD_ISSUER - 1)
    session = sessions()
    session.host.accept()
    assert responses(run(session, smsr, [bytes.fromhex("80CA006600")])) == [(b"", 0x9000)]
    assert seen == [(Origin.TERMINAL, Origin.OTA_CAT_TP, None)]
    assert session.admin.refused == 0


def test_replayed_packet_is_refused_with_counter_low(sessions, smsr):
    session = sessions()
    session.host.accept()
    link = CatTpOta(session.host, smsr.keyset, counter=9)
    script = transport.expanded_script([bytes.fromhex("80CAFF2100")])
    assert [link.exchange(script, counter=9).status for _ in range(2)] == [0x00, 0x02]   # TS 102 225 §5.2
    assert link.run([bytes.fromhex("80CAFF2100")]).responses[0][-2:] == b"\x90\x00"


def test_wrong_key_gets_unsecured_por_and_garbage_sdu_is_dropped(sessions, smsr):
    session = sessions()
    session.host.accept()
    session.host.send_sdu(b"\x07not a command packet")
    wrong = ota.OtaKeyset(0x01, ota.AES, bytes(16), ota.AES, bytes(16))
    command = ota.build_command_packet(wrong, host.SPI_CC_CIPHER_POR, host.ISDR_TAR,
                                       transport.expanded_script([bytes.fromhex("80CAFF2100")]), counter=50)
    session.host.send_sdu(ota.to_identified_command(command))
    por = ota.decode_response_packet(smsr.keyset, host.SPI_CC_CIPHER_POR,
                                     ota.from_identified_response(session.host.recv_sdu()), prefix=b"")
    assert (por.status, por.checksum_valid) == (0x01, None)      # RC/CC/DS failed, sent unsecured
    assert session.admin.refused == 1


def test_por_longer_than_the_smsr_max_sdu_resets_the_link(card, smsr):
    session = Session(card, Impairment())
    session.host.max_sdu = 20                                # announced in the SM-SR's SYN-ACK
    try:
        session.host.accept()
        with pytest.raises(CatTpError):                      # the RST may overtake the ACK
            session.host.send_sdu(ota.to_identified_command(smsr.packet(
                transport.expanded_script([bytes.fromhex("80CAFF2100")]))))
            session.host.recv_sdu()
        assert session.host.reset_reason == 1                # connection parameters illegal
    finally:
        session.close()
