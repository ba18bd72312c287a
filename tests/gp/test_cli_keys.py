"""``euicc-emu keys`` as a subprocess: list, set, import a per-card CSV, delete, mode; the card
then opens SCP03 with the new keys (checked by tools/scp/scp03_host.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from tests.gp.helpers import DEFAULT_KEYS, SELECT_ISD_R, Terminal
from tools.scp.scp03_host import HostKeySet, Scp03Host

REPO = Path(__file__).resolve().parents[2]
KEYS_32 = HostKeySet(0x32, bytes.fromhex("000102030405060708090a0b0c0d0e0f"),
                     bytes.fromhex("101112131415161718191a1b1c1d1e1f"),
                     bytes.fromhex("202122232425262728292a2b2c2d2e2f"))


def emu(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tools.cli", *argv], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


@pytest.fixture
def state(tmp_path) -> Path:
    path = tmp_path / "card.state"
    open_card(path).close()
    return path


def eid_of(state: Path) -> str:
    card = open_card(state)
    try:
        return card.services.eid.hex().upper()
    finally:
        card.close()


def authenticates(state: Path, keys: HostKeySet, s_mode: int = 8) -> bool:
    card = open_card(state, CardConfig(t0=False))
    try:
        term = Terminal(card.transmit)
        term.send(SELECT_ISD_R)
        host = Scp03Host(keys, 0x33, s_mode=s_mode)
        r = term.send(host.initialize_update())
        if r.sw != 0x9000:
            return False
        try:
            host.process_initialize_update(r.data)
        except Exception:
            return False
        return term.send(host.external_authenticate()).sw == 0x9000
    finally:
        card.close()


def test_list_shows_the_documented_default(state):
    done = emu("keys", "list", "--state", str(state), "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert (listing["i"], listing["mode"]) == ("70", "S8")
    assert listing["key_sets"] == [{"kvn": "30", "enc": "404142434445464748494A4B4C4D4E4F",
                                    "mac": "404142434445464748494A4B4C4D4E4F",
                                    "dek": "404142434445464748494A4B4C4D4E4F",
                                    "kcv": ["504A77", "504A77", "504A77"], "sequence_counter": 0}]
    info = emu("info", "--state", str(state))
    assert "ISD-R SCP03 (i=70, S8):" in info.stdout and "KVN 30  ENC 404142434445464748494A4B4C4D4E4F" in info.stdout
    assert authenticates(state, DEFAULT_KEYS)


def test_import_csv_row_of_this_card_then_delete_the_default(state, tmp_path):
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("eid,kvn,enc,mac,dek\n"
                        "89049032123451234512345678901235,33,"
                        + "AA" * 16 + "," + "BB" * 16 + "," + "CC" * 16 + "\n"
                        + f"{eid_of(state)},32,{KEYS_32.enc.hex()},{KEYS_32.mac.hex()},{KEYS_32.dek.hex()}\n")
    done = emu("keys", "import", "--state", str(state), "--csv", str(csv_file))
    assert done.returncode == 0, done.stderr
    assert "KVN 32" in done.stdout and "KVN 33" not in done.stdout
    assert emu("keys", "delete", "--state", str(state), "--kvn", "30").returncode == 0
    assert authenticates(state, KEYS_32) and not authenticates(state, DEFAULT_KEYS)
    refused = emu("keys", "delete", "--state", str(state), "--kvn", "32")
    assert refused.returncode == 1 and "last complete key set" in refused.stderr


def test_import_without_a_row_for_the_card(state, tmp_path):
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("89049032123451234512345678901235,30," + ",".join(["00" * 16] * 3) + "\n")
    done = emu("keys", "import", "--state", str(state), "--csv", str(csv_file))
    assert done.returncode == 1 and "no row for EID" in done.stderr
    assert authenticates(state, DEFAULT_KEYS)


def test_set_replaces_keys_and_mode_s16(state):
    new = HostKeySet(0x30, bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96)))
    done = emu("keys", "set", "--state", str(state), "--kvn", "30", "--enc", new.enc.hex(), "--mac", new.mac.hex(),
               "--dek", new.dek.hex())
    assert done.returncode == 0, done.stderr
    assert authenticates(state, new) and not authenticates(state, DEFAULT_KEYS)
    assert emu("keys", "mode", "s16", "--state", str(state)).returncode == 0
    assert authenticates(state, new, s_mode=16) and not authenticates(state, new, s_mode=8)


@pytest.mark.parametrize("argv", (["keys", "set", "--kvn", "40", "--key", "00" * 16],
                                  ["keys", "set", "--enc", "00" * 16, "--mac", "00" * 24, "--dek", "00" * 16],
                                  ["keys", "set", "--key", "zz"]))
def test_refused_arguments_change_nothing(state, argv):
    done = emu(*argv, "--state", str(state))
    assert done.returncode in (1, 2) and done.stderr
    assert authenticates(state, DEFAULT_KEYS)
