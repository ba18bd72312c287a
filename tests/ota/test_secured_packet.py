"""The transport-independent secured-packet entry point (ETSI TS 102 225 §5, TS 102 226 §5) and the
TAR router's registration seam: a route provider registered by the test, packets handed over
directly as an HTTPS or CAT_TP transport would (no SMS object), Command Packets built and PoRs
checked by the host tools (tools/ota/packet.py).
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.crypto.scp80 import CounterState, KeyUsage, MinimumSecurityLevel, Scp80Settings
from euicc.ota.origin import OtaOrigin, TransportContext, current_origin
from euicc.ota.routing import PRIORITY_CARD_ISSUER, PRIORITY_PROFILE, Route, SecurityDomainScripts, TarRouter
from euicc.ota.secured_packet import RemoteManagement
from euicc.context import Context, Origin
from tools.ota import packet as host

h = bytes.fromhex
TAR = h("C00001")
KEYSET = host.OtaKeyset(0x01, host.AES, h("00112233445566778899AABBCCDDEEFF"), host.AES,
                        h("FFEEDDCCBBAA99887766554433221100"))
SPI_CC_CIPHER_POR = h("1609")        # CC, ciphered, counter higher; PoR always, with CC, not ciphered
HTTPS = TransportContext(Origin.OTA_HTTPS, response_prefix=h("027100"))


class CountedDictKeys:
    """The test's key sets: key set 1 (AES) and its counter."""

    def __init__(self) -> None:
        self.counters: dict[int, CounterState] = {}

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None:
        if kvn != KEYSET.kvn:
            return None
        return KEYSET.kic if usage == KeyUsage.KIC else KEYSET.kid

    def key_type(self, kvn: int) -> int | None:
        return None

    def counter(self, kvn: int) -> CounterState:
        return self.counters.get(kvn, CounterState(0))

    def set_counter(self, kvn: int, counter: CounterState) -> None:
        self.counters[kvn] = counter


class RecordingExecutor:
    """Answers '9000' to everything and records the commands with the origin it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[bytes], OtaOrigin | None]] = []

    def execute(self, ctx, commands: list[bytes]) -> list[bytes]:
        self.seen.append((list(commands), current_origin(ctx)))
        return [h("9000") for _ in commands]


class TarProvider:
    """A route provider of the test: one TAR."""

    def __init__(self, tar: bytes, owner: str, executor) -> None:
        self.tar, self.owner, self.executor = tar, owner, executor
        self.keys = CountedDictKeys()
        self.asked: list[bytes] = []

    def route(self, ctx, tar: bytes) -> Route | None:
        self.asked.append(tar)
        if tar != self.tar:
            return None
        return Route(h("A0000000871002"), self.keys, self.owner, self.executor,
                     MinimumSecurityLevel.spi1(0x16))


@pytest.fixture
def ctx():
    card = open_card(None)
    card.power_on()
    return Context(card.session, card.session.channels[0])


def deliver(remote: RemoteManagement, ctx: Context, packet: bytes, transport: TransportContext = HTTPS):
    with ctx.store.transaction():
        return remote.secured_packet(ctx, packet, transport)


def test_packet_delivered_without_sms(ctx):
    executor = RecordingExecutor()
    provider = TarProvider(TAR, "test-owner", executor)
    router = TarRouter()
    router.register(provider)
    remote = RemoteManagement(router, Scp80Settings())
    script = h("AA09" "2207" "00A40004023F00")
    response = deliver(remote, ctx, host.build_command_packet(KEYSET, SPI_CC_CIPHER_POR, TAR, script, counter=5))
    assert not response.separate
    por = host.decode_response_packet(KEYSET, SPI_CC_CIPHER_POR, response.data)
    assert (por.tar, por.counter, por.status, por.checksum_valid) == (TAR, 5, 0x00, True)
    assert por.data == h("AB07" "800101" "23029000")
    commands, origin = executor.seen[0]
    assert commands == [h("00A40004023F00")]
    assert origin == OtaOrigin(TAR, "test-owner", 1, h("A0000000871002"), HTTPS)
    assert origin.originator is None
    assert current_origin(ctx) is None                      # only while its script runs
    assert provider.keys.counters == {1: CounterState(5)}
    # a replay of the same counter is refused with '02' (counter low), the script does not run
    response = deliver(remote, ctx, host.build_command_packet(KEYSET, SPI_CC_CIPHER_POR, TAR, script, counter=5))
    assert host.decode_response_packet(KEYSET, SPI_CC_CIPHER_POR, response.data).status == 0x02
    assert len(executor.seen) == 1


def test_por_requested_in_a_separate_message_is_flagged_for_the_transport(ctx):
    router = TarRouter()
    router.register(TarProvider(TAR, "t", RecordingExecutor()))
    spi = h("1629")                         # SPI2 b6: PoR by SMS-SUBMIT (TS 31.115 §4.2)
    response = deliver(RemoteManagement(router, Scp80Settings()), ctx,
                       host.build_command_packet(KEYSET, spi, TAR, h("00A40004023F00"), counter=1))
    assert response.separate
    assert host.decode_response_packet(KEYSET, spi, response.data).data == h("019000")


def test_unknown_tar_answers_09_unsecured(ctx):
    provider = TarProvider(TAR, "t", RecordingExecutor())
    router = TarRouter()
    router.register(provider)
    response = deliver(RemoteManagement(router, Scp80Settings()), ctx,
                       host.build_command_packet(KEYSET, SPI_CC_CIPHER_POR, h("C00002"), b"", counter=1))
    por = host.decode_response_packet(KEYSET, SPI_CC_CIPHER_POR, response.data)
    assert (por.tar, por.status, por.checksum_valid) == (h("C00002"), 0x09, None)
    assert provider.asked == [h("C00002")]


def test_providers_are_asked_in_priority_order(ctx):
    late, early = RecordingExecutor(), RecordingExecutor()
    router = TarRouter()
    router.register(TarProvider(TAR, "late", late), PRIORITY_PROFILE)
    router.register(TarProvider(TAR, "early", early), PRIORITY_CARD_ISSUER)
    assert router.route(ctx, TAR).owner == "early"
    assert router.route(ctx, h("C00009")) is None


def test_security_domain_refuses_a_packet_without_cryptographic_checksum(ctx):
    """TS 102 225 §5.1.3: a CRC proves no key; a security domain answers '6982' to the first
    command (TS 102 226 §5.1.1).  The provider's MSL is lowered to let the packet through."""
    class LowProvider(TarProvider):
        def route(self, ctx, tar):
            # no MSL; the applet is never reached: the refusal comes first
            return Route(h("A000000151000000"), self.keys, "sd", SecurityDomainScripts(object()))

    router = TarRouter()
    router.register(LowProvider(TAR, "sd", None))
    spi = h("0101")                          # CRC (RC), no counter; PoR always, no check
    keyset = host.OtaKeyset(0x01, host.AES, KEYSET.kic, host.CRC16, KEYSET.kid)
    response = deliver(RemoteManagement(router, Scp80Settings()), ctx,
                       host.build_command_packet(keyset, spi, TAR, h("80CA00E000"), kid=0x11))
    assert host.decode_response_packet(keyset, spi, response.data).data == h("01" "6982")
