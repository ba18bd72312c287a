"""The control endpoint (line-delimited JSON on a Unix socket) and `euicc-emu fault` against it."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.instrument.helpers import SELECT_ISD_R
from vpcd_bridge.control import ControlError, Controller, ControlServer, request
from vpcd_bridge.instrument import InstrumentedCard

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_dir():
    """A directory with a short path: a Unix socket path has at most 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="ctl", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def card():
    real = open_card(None, first_profile="minimal")
    yield InstrumentedCard(real)
    real.close()


@pytest.fixture
def server(short_dir, card):
    srv = ControlServer(short_dir / "card.control", Controller({0: card}))
    srv.start()
    yield srv
    srv.stop()


def test_add_list_remove_clear(card):
    ctl = Controller({0: card})
    reply = ctl.handle_line(b'{"op": "add", "rule": {"match": {"ins": "A4"}, "action": "sw", "sw": "6A82"}}')
    assert reply["ok"] and reply["rule"]["id"] == 1
    assert card.transmit(SELECT_ISD_R) == bytes.fromhex("6A82")
    listing = ctl.handle_line(b'{"op": "list"}')
    assert listing["ok"] and listing["rules"][0]["fired"] == 1 and listing["fuzz"] is None
    assert ctl.handle_line(b'{"op": "remove", "id": 1}') == {"ok": True}
    assert ctl.handle_line(b'{"op": "remove", "id": 1}') == {"ok": False, "error": "no rule 1"}
    ctl.handle_line(b'{"op": "add", "rule": {"action": "delay", "ms": 1}}')
    assert ctl.handle_line(b'{"op": "clear"}') == {"ok": True, "removed": 1}


@pytest.mark.parametrize("line, error", [
    (b"{nope", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"op": "explode"}', "expected add, list"),
    (b'{"op": "add"}', "missing 'rule'"),
    (b'{"op": "add", "rule": {"action": "sw", "sw": "XYZW"}}', "not hex"),
    (b'{"op": "list", "slot": 3}', "no card on slot 3"),
    (b'{"op": "remove", "id": "one"}', "non-negative integer"),
    (b'{"op": "eject"}', "no vpcd link"),
    (b"\xff\xfe", "not JSON"),
])
def test_bad_requests_get_an_error_reply(card, line, error):
    reply = Controller({0: card}).handle_line(line)
    assert reply["ok"] is False and error in reply["error"]


def test_socket_round_trip_survives_bad_input(server, card):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(server.path))
        stream = sock.makefile("rwb")
        for line in (b"garbage\n", b'{"op": "list"}\n'):
            stream.write(line)
            stream.flush()
        assert json.loads(stream.readline())["ok"] is False
        assert json.loads(stream.readline())["ok"] is True
    assert request(server.path, {"op": "add", "rule": {"action": "sw", "sw": "6F00"}})["ok"]
    assert card.transmit(SELECT_ISD_R) == bytes.fromhex("6F00")
    assert oct(server.path.stat().st_mode & 0o777) == "0o600"


def test_stale_socket_is_replaced_and_a_live_one_refused(short_dir, card, server):
    with pytest.raises(ControlError, match="running card"):
        ControlServer(server.path, Controller({0: card})).start()
    stale = short_dir / "stale.control"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale))
    dead.close()
    replacement = ControlServer(stale, Controller({0: card}))
    replacement.start()
    assert request(stale, {"op": "list"})["ok"]
    replacement.stop()
    regular = short_dir / "file"
    regular.write_text("precious")
    with pytest.raises(ControlError, match="not a socket"):
        ControlServer(regular, Controller({0: card})).start()
    assert regular.read_text() == "precious"


def _fault(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tools.cli", "fault", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_fault_command_line(server, card):
    control = str(server.path)
    added = _fault("--control", control, "add", "--aid", "A0000005591010FFFFFFFF8900000100", "--sw", "6A82",
                   "--count", "always")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["rule"]["match"] == {"aid": "A0000005591010FFFFFFFF8900000100"}
    assert card.transmit(SELECT_ISD_R) == bytes.fromhex("6A82")
    assert card.transmit(SELECT_ISD_R) == bytes.fromhex("6A82")
    listed = _fault("--control", control, "list")
    assert listed.returncode == 0 and '"fired": 2' in listed.stdout and "fuzz: null" in listed.stdout
    refused = _fault("--control", control, "add", "--es10", "BF38", "--es10-error", "noSuchError")
    assert refused.returncode == 1 and "has no error code" in refused.stderr
    assert _fault("--control", control, "clear").returncode == 0
    assert card.transmit(SELECT_ISD_R)[0] == 0x61
    nobody = _fault("--control", str(server.path) + ".absent", "list")
    assert nobody.returncode == 1 and "no card listens" in nobody.stderr and "Traceback" not in nobody.stderr


@pytest.mark.parametrize("content, error", [
    ("[{\"action\": \"sw\"}]", "'sw' is required"),
    ("{\"action\": \"sw\"}", "a JSON list of rules"),
    ("[", "--faults"),
])
def test_run_refuses_a_bad_faults_file_before_starting(tmp_path, content, error):
    rules = tmp_path / "rules.json"
    rules.write_text(content)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tools.cli", "run", "--state", str(tmp_path / "s"),
                           "--slot", "7", "--faults", str(rules)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and error in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()


def test_fuzz_on_and_off(card):
    ctl = Controller({0: card})
    assert ctl.handle_line(b'{"op": "fuzz", "seed": 5, "rate": 1.0}')["fuzz"] == {"seed": 5, "rate": 1.0, "applied": 0}
    plain = open_card(None, first_profile="minimal")
    try:
        fuzzed = [card.transmit(SELECT_ISD_R) for _ in range(4)]
        assert ctl.handle_line(b'{"op": "list"}')["fuzz"]["applied"] == 4
        assert ctl.handle_line(b'{"op": "fuzz", "off": true}') == {"ok": True, "fuzz": None}
        assert card.transmit(SELECT_ISD_R) == plain.transmit(SELECT_ISD_R)
        assert fuzzed != [plain.transmit(SELECT_ISD_R)] * 4
    finally:
        plain.close()
    assert "rate" in ctl.handle_line(b'{"op": "fuzz", "seed": 5, "rate": 2}')["error"]
    assert "seed" in ctl.handle_line(b'{"op": "fuzz", "seed": -1, "rate": 0.5}')["error"]
