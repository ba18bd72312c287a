"""The SGP.02 HTTPS chain as a user runs it with the command line, against `euicc-emu run` through
pcscd + vpcd (tests/m2m_host/test_https_chain_pcsc.py, tests/robustness/test_kill_during_https.py).

The card: ``euicc-emu run --m2m-notification-transport https``; a second profile downloaded with
``smdp-m2m download`` (TS.48 over SMS), the SCP81 key set made with ``smsr put-psk``.  Then
``smsr --transport https enable AID`` and ``smsr --transport https notifications``, one
``--https-port`` for both runs (the card keeps the SM-SR's HTTPS address of the last trigger and
delivers its notifications there).

:class:`WireLink` is the PC/SC link of those runs seen from the modem's side of the wire: it
records every exchange (FETCHed proactive commands decoded with the terminal simulator's own
codec, tools/terminal/cat.py) and can kill -9 the card process before a chosen command, which
is a deterministic cut: the card process handles one command at a time and is idle between two.
"""
from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import tools.smsr.cli as smsr_cli
from tests.e2e.pcsc_host import CardProcess, reader_name
from tests.m2m_host.m2m_world import TS48, audit_states
from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tools.smsr_https.transport import HttpsTransport
from tools.terminal import cat
from tools.terminal.link import CardLink, LinkError

CARD_OPTIONS = ["--m2m-notification-transport", "https"]
TLS_APPLICATION_DATA = bytes.fromhex("170303")    # RFC 5246 §6.2.1: record type 23, TLS 1.2


@dataclass
class WireExchange:
    apdu: bytes
    data: bytes
    sw: int

    @property
    def proactive(self) -> cat.ProactiveCommand | None:
        """The proactive command a FETCH (TS 102 221 §10.1.2, INS '12') brought."""
        if self.apdu[1] == cat.FETCH and self.sw == 0x9000:
            return cat.parse_proactive_command(self.data)
        return None


class CutDone(LinkError):
    """The card process was killed at the cut point."""


@dataclass
class WireLink(CardLink):
    """A recording :class:`CardLink` around the CLI's PC/SC link (see the module docstring)."""

    inner: CardLink
    exchanges: list[WireExchange] = field(default_factory=list)
    cut: Callable[[WireLink, bytes], bool] | None = None
    card: CardProcess | None = None
    cut_done: bool = False

    def transmit(self, apdu: bytes) -> bytes:
        if self.cut is not None and not self.cut_done and self.cut(self, apdu):
            self.kill()
        return self.inner.transmit(apdu)

    def kill(self) -> None:
        """kill -9 of the card process; the command at hand then finds the card gone (vpcd notices the
        dead link only on a command, as a modem's next command would)."""
        assert self.card is not None
        self.card.proc.send_signal(signal.SIGKILL)
        self.card.proc.wait(10)
        self.cut_done = True

    def exchange(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = super().exchange(apdu)
        self.exchanges.append(WireExchange(apdu, data, sw))
        return data, sw

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        self.inner.close()

    def alive(self) -> bool:
        return self.inner.alive()

    def proactive(self) -> list[cat.ProactiveCommand]:
        return [p for e in self.exchanges if (p := e.proactive) is not None]

    def sent_tls_application_data(self) -> int:
        """How many SEND DATA (TS 102 223 §6.4.28) carried TLS application data (an HTTP message)."""
        return sum(1 for p in self.proactive() if p.type == cat.SEND_DATA
                   and p.objects.get(cat.T_CHANNEL_DATA, b"")[:3] == TLS_APPLICATION_DATA)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HttpsChain:
    """The command lines of one card (see the module docstring); ``links``: the WireLink of each
    run, ``servers``: the HTTPS transport of each ``--transport https`` run (the SM-SR's record)."""

    capsys: object
    tmp: Path
    slot: int
    port: int = field(default_factory=free_port)
    links: list[WireLink] = field(default_factory=list)
    servers: list[HttpsTransport] = field(default_factory=list)
    cut: Callable[[WireLink, bytes], bool] | None = None
    card: CardProcess | None = None

    def __post_init__(self) -> None:
        self.eis = str(self.tmp / "pki" / "eis.json")

    def install(self, monkeypatch) -> HttpsChain:
        """Route the CLI's reader and HTTPS server through this chain's recorders."""
        opened, started = smsr_cli.open_link, HttpsTransport.start

        def open_link(reader: str) -> CardLink:
            link = WireLink(opened(reader), cut=self.cut, card=self.card)
            self.links.append(link)
            return link

        def start(smsr, *args, **kwargs) -> HttpsTransport:
            transport = started(smsr, *args, **kwargs)
            self.servers.append(transport)
            return transport
        monkeypatch.setattr(smsr_cli, "open_link", open_link)
        monkeypatch.setattr(HttpsTransport, "start", start)
        return self

    def run(self, *argv: str) -> tuple[int, str, str]:
        """``euicc-emu ARGV`` in this process: exit status, stdout, stderr."""
        from tools.cli import main
        self.capsys.readouterr()
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    def ok(self, *argv: str) -> str:
        status, out, err = self.run(*argv)
        assert status == 0, f"euicc-emu {' '.join(argv)}: {out}{err}"
        return out

    @property
    def smsr(self) -> list[str]:
        return ["smsr", "--eis", self.eis, "--reader", reader_name(self.slot)]

    @property
    def https(self) -> list[str]:
        return [*self.smsr, "--transport", "https", "--psk", PSK, "--https-port", str(self.port)]

    def audit(self, *transport: str) -> dict[str, str]:
        return audit_states(self.ok(*(transport or self.smsr), "audit"))

    def prepare(self) -> tuple[str, str]:
        """Test PKI and EIS file, a second profile (CreateISDP, ES8 download of TS.48 over SMS),
        the SCP81 key set (PUT KEY by SMS); (original enabled ISD-P, the new one)."""
        pki = self.tmp / "pki"
        self.ok("smsr", "pki", "--out", str(pki))
        original = next(aid for aid, state in self.audit().items() if state == "ENABLED")
        out = self.ok("smdp-m2m", "--eis", self.eis, "--reader", reader_name(self.slot), "download",
                      "--key", str(pki / "SK_DP.pem"), "--cert", str(pki / "CERT_DP.hex"),
                      "--eum-key", str(pki / "PK_EUM.pem"), str(TS48))
        assert out.startswith("ISD-P "), out
        isdp = out.split()[1].rstrip(":")
        out = self.ok(*self.smsr, "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK, "--dek", DEFAULT_DEK)
        assert "SCP81 key set 40" in out
        assert self.audit() == {original: "ENABLED", isdp: "DISABLED"}
        return original, isdp
