"""``euicc-emu run --gsmtap HOST:PORT --pcap FILE``: a real card process, driven by the test's own
vpcd (tests/bridge/helpers.FakeVpcd), sends what crossed the link to a UDP receiver here and to a
pcap file.  Expected bytes: the GSMTAP header of libosmocore ``gsmtap.h`` typed in, followed by
what the fake vpcd sent and got back."""
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bridge.test_gsmtap import read_pcap
from tools import cli

REPO = Path(__file__).resolve().parents[2]
APDU_HEADER = bytes.fromhex("02 04 04 00 0000 00 00 00000000 00 00 00 00")  # GSMTAP_SIM_APDU, slot 0
ATR_HEADER = bytes.fromhex("02 04 04 00 0000 00 00 00000000 01 00 00 00")   # GSMTAP_SIM_ATR, slot 0
COMMANDS = [bytes.fromhex(h) for h in ("00A4000C023F00", "00A4000C022FE2", "00B000000A", "00A4000C026F99")]


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(20)
    yield sock
    sock.close()


def test_card_run_sends_gsmtap_and_writes_pcap(vpcd, receiver, tmp_path):
    """--trace, --gsmtap and --pcap together: three sinks, the same exchanges."""
    pcap, text = tmp_path / "card.pcap", tmp_path / "card.log"
    cmd = [sys.executable, "-m", "tools.cli", "run", "--state", str(tmp_path / "c.state"), "--first-profile",
           "minimal", "--vpcd-port", str(vpcd.port), "--log-level", "WARNING",
           "--gsmtap", f"127.0.0.1:{receiver.getsockname()[1]}", "--pcap", str(pcap), "--trace", str(text)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        vpcd.server.settimeout(30)
        vpcd.accept()
        vpcd.send(b"\x01")                 # power on: no answer
        atr = vpcd.exchange(b"\x04")       # GET ATR
        pairs = [(c, vpcd.exchange(c)) for c in COMMANDS]
        datagrams = [receiver.recv(65535) for _ in range(1 + len(COMMANDS))]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out.decode(errors="replace")
    assert [sw[-2:] for _c, sw in pairs] == [b"\x90\x00", b"\x90\x00", b"\x90\x00", b"\x6a\x82"]
    expected = [ATR_HEADER + atr] + [APDU_HEADER + c + r for c, r in pairs]
    assert datagrams == expected
    _header, records = read_pcap(pcap.read_bytes())
    assert [frame[42:] for _ts, frame in records] == expected
    log = text.read_text().splitlines()
    bodies = [line.split("] ", 1)[1].split("  ;")[0] for line in log]
    assert bodies == ["-- power on"] + [f"{arrow} {data.hex().upper()}" for c, r in pairs
                                        for arrow, data in ((">>", c), ("<<", r))] + ["-- link lost, power off"]
    assert log[0].endswith(f"; ATR {atr.hex().upper()}")


@pytest.mark.parametrize("value", ["127.0.0.1:0", "no-such-host.invalid", "[::1"])
def test_bad_gsmtap_target_exits_2(value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["run", "--gsmtap", value])
    assert exc.value.code == 2
    assert "--gsmtap" in capsys.readouterr().err


def test_unwritable_pcap_fails_clearly(tmp_path, capsys):
    assert cli.main(["run", "--state", str(tmp_path / "c.state"), "--pcap", str(tmp_path / "no" / "x.pcap")]) == 1
    assert "euicc-emu: cannot open the trace" in capsys.readouterr().err
