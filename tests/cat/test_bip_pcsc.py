"""BIP end to end through pcscd + vpcd + pyscard: the card (its own process) opens a channel for an
echo engine; the terminal simulator on the PC/SC side carries it over real loopback sockets to a
TCP or UDP echo server (TS 102 223 §6.4.27-§6.4.31, §7.5.10), or finds no BIP in a terminal that
does not declare it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cat.bip_host import EchoServer, trigger_apdu
from tests.e2e.pcsc_host import REPO, CardProcess, reader_name
from tools.terminal import cat
from tools.terminal.link import PcscLink
from tools.terminal.terminal import Terminal

pytestmark = pytest.mark.pcsc


class BipCardProcess(CardProcess):
    """tests/cat/bip_card_process.py instead of ``euicc-emu run``."""

    def __init__(self, state, slot: int, log, transport: str, port: int, greeting: bytes) -> None:
        self.state, self.slot, self.log = state, slot, log
        cmd = [sys.executable, "-m", "tests.cat.bip_card_process", str(state), str(slot), transport, str(port),
               greeting.hex()]
        self._log_file = open(log, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self._log_file, stderr=subprocess.STDOUT)


@pytest.fixture
def bip_card(pcscd, tmp_path):
    procs = []

    def start(transport: str, port: int, greeting: bytes) -> BipCardProcess:
        proc = BipCardProcess(tmp_path / "bip.state", pcscd, tmp_path / "bip.log", transport, port, greeting)
        procs.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in procs:
        proc.stop()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_echo_over_pcsc(bip_card, pcscd, transport):
    server = EchoServer(transport)
    greeting = b"BIP through PC/SC " + transport.encode()
    bip_card(transport, server.port, greeting)
    link = PcscLink(reader_name(pcscd))
    try:
        terminal = Terminal(link)
        terminal.start()
        assert terminal.event_list == {cat.EVENT_DATA_AVAILABLE, cat.EVENT_CHANNEL_STATUS}
        terminal.send(trigger_apdu())
        terminal.serve(10.0, until=lambda: cat.CLOSE_CHANNEL in [c.type for c in terminal.record.proactive])
    finally:
        link.close()
        server.close()
    kinds = [c.type for c in terminal.record.proactive]
    assert kinds == [cat.SET_UP_EVENT_LIST, cat.OPEN_CHANNEL, cat.SEND_DATA, cat.RECEIVE_DATA, cat.CLOSE_CHANNEL]
    assert terminal.record.proactive[2].objects[cat.T_CHANNEL_DATA] == greeting
    assert terminal.record.events_sent == [cat.EVENT_DATA_AVAILABLE]
    if transport == "udp":
        assert server.datagrams == [greeting]


def test_no_bip_terminal_over_pcsc(bip_card, pcscd):
    server = EchoServer("tcp")
    bip_card("tcp", server.port, b"unsent")
    link = PcscLink(reader_name(pcscd))
    try:
        terminal = Terminal(link, profile=cat.profile_bytes(cat.MODEM_PROFILE, cat.NO_BIP))
        terminal.start()
        _, sw = terminal.send(trigger_apdu())
    finally:
        link.close()
        server.close()
    assert sw == 0x9000 and terminal.event_list == set() and terminal.record.proactive == []
