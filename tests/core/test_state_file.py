"""State files that are not usable cards, through the real command line (``python -m tools.cli``).

A card is made only where no file exists; every other bad file is refused by ``euicc-emu info``
and ``euicc-emu run`` with exit status 1 and ONE line ``euicc-emu: <path>: <reason>`` on stderr,
no traceback, and the file's bytes unchanged (never re-provisioned over).  Each corruption is made
here with plain SQL/JSON on the file (the store's documented layout: tables ``meta`` and ``kv``,
JSON values with ``{"$b": hex}`` bytes and ``{"$t": name}`` records), not with the card's code.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from euicc.composition import open_card

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 60.0     # a refused file makes `run` exit at once; a card that starts would hang


@pytest.fixture(scope="module")
def base_state(tmp_path_factory) -> Path:
    """One new card (the small hand-built profile), made by the card's first run."""
    path = tmp_path_factory.mktemp("base") / "card.state"
    open_card(path, first_profile="minimal").close()
    return path


# -- corruptions: each edits a copy of a good state file ---------------------------------------
def _sql(*statements: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            for statement in statements:
                db.execute(statement)
        db.close()
    return edit


def _record(key_like: str, change: Callable[[object], object]) -> Callable[[Path], None]:
    """Rewrite the JSON of the first record whose key is LIKE `key_like`."""
    def edit(path: Path) -> None:
        db = sqlite3.connect(path)
        with db:
            key, text = db.execute("SELECT k, v FROM kv WHERE k LIKE ? ORDER BY k LIMIT 1",
                                   (key_like,)).fetchone()
            db.execute("UPDATE kv SET v=? WHERE k=?", (json.dumps(change(json.loads(text))), key))
        db.close()
    return edit


def _set(field: str, value: object) -> Callable[[dict], dict]:
    return lambda record: {**record, field: value}


def _without(field: str) -> Callable[[dict], dict]:
    return lambda record: {k: v for k, v in record.items() if k != field}


def _truncate(path: Path) -> None:
    path.write_bytes(b"")


def _text(path: Path) -> None:
    path.write_bytes(b"not a database, only text\n" * 100)


def _lock_is_a_directory(path: Path) -> None:
    """The lock file cannot be opened (stands for a read-only directory: tests run as root,
    where permissions do not stop writes)."""
    Path(f"{path}.lock").mkdir()


def _bad_eid_check_digits(path: Path) -> None:
    # SGP.29 §2.2: the last two digits make the 32-digit number = 1 mod 97; '...00' never does
    # for this prefix (89049032 ... 00 mod 97 != 1 is checked below).
    digits = "89049032" + "0" * 22 + "00"
    assert int(digits) % 97 != 1
    _record("card/eid", lambda _: {"$b": digits})(path)


def _isdp_unregistered(path: Path) -> None:
    """Remove the enabled profile's ISD-P from the GP registry (entry and order list)."""
    db = sqlite3.connect(path)
    with db:
        aid = db.execute("SELECT k FROM kv WHERE k LIKE 'profile/%'").fetchone()[0][len("profile/"):]
        db.execute("DELETE FROM kv WHERE k=?", (f"gp/{aid}",))
        order = json.loads(db.execute("SELECT v FROM kv WHERE k='gp-order'").fetchone()[0])
        kept = [a for a in order if a["$b"].upper() != aid]
        assert len(kept) == len(order) - 1
        db.execute("UPDATE kv SET v=? WHERE k='gp-order'", (json.dumps(kept),))
    db.close()


PROBES: dict[str, Callable[[Path], None]] = {
    "EID row missing, profile present": _sql("DELETE FROM kv WHERE k='card/eid'"),
    "no records at all": _sql("DELETE FROM kv"),
    "zero-length file": _truncate,
    "text file": _text,
    "schema not a number": _sql("UPDATE meta SET v='one' WHERE k='schema'"),
    "schema of a newer version": _sql("UPDATE meta SET v='99' WHERE k='schema'"),
    "card version of a newer version": _sql("UPDATE kv SET v='99' WHERE k='card/version'"),
    "EID stored as a string": _record("card/eid", lambda _: "89049032000000000000000000000000"),
    "EID with wrong check digits": _bad_eid_check_digits,
    "bytes not hex": _record("card/eid", lambda _: {"$b": "zz"}),
    "record not JSON": _sql("UPDATE kv SET v='{not json' WHERE k='card/active-fs'"),
    "file record lost its type tag": _record("fs/euicc/n/3F00", _without("$t")),
    "file record of an unknown type": _record("fs/euicc/n/3F00", _set("$t", "FileDescriptorV9")),
    "file record with an unknown field": _record("fs/euicc/n/3F00", _set("colour", "red")),
    "PIN counter stored as text": _record("fs/isdp-%/pin/81", _set("retries", "3")),
    "PIN counter stored as a boolean": _record("fs/isdp-%/pin/81", _set("retries", True)),
    "registry entry of the wrong type": _record("gp/%", lambda r: {**r, "$t": "PinState"}),
    "key of no known kind": _sql("INSERT INTO kv VALUES('mystery/key', '1')"),
    "registry order without its entry": _sql("DELETE FROM kv WHERE k = "
                                             "(SELECT k FROM kv WHERE k LIKE 'gp/%' LIMIT 1)"),
    "profile of an ISD-P not in the registry": _isdp_unregistered,
    "active file system not the enabled profile's": _sql(
        "UPDATE kv SET v='\"euicc\"' WHERE k='card/active-fs'"),
    "active file system without an MF": _sql(
        "DELETE FROM kv WHERE k = 'fs/' || json_extract((SELECT v FROM kv WHERE k='card/active-fs'), '$')"
        " || '/n/3F00'"),
    "eUICC credentials unusable": _record("ecasd/identity", lambda r: {**r, "credentials": [
        {**c, "sk_euicc": {"$b": "00" * 32}} for c in r["credentials"]]}),
    "lock file cannot be opened": _lock_is_a_directory,
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}  # vpcd slot claims here
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)


COMMANDS = {
    "info": lambda state: ["info", "--state", str(state)],
    # vpcd port 1 (nothing listens there): a card that wrongly started would only retry, and time out
    "run": lambda state: ["run", "--state", str(state), "--vpcd-port", "1", "--slot", "0"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("probe", PROBES)
def test_bad_state_file_is_refused(base_state, tmp_path, probe, command):
    state = tmp_path / "card.state"
    shutil.copy(base_state, state)
    PROBES[probe](state)
    before = _digest(state)
    result = _cli(COMMANDS[command](state), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"euicc-emu: {state}: "), result.stderr
    assert _digest(state) == before                           # not provisioned over, not touched
    assert not Path(f"{state}-journal").exists()


OTHER_COMMANDS = {
    "identity import": lambda state: ["identity", "import", str(state.parent), "--state", str(state)],
    "lpa --card-state": lambda state: ["lpa", "--card-state", str(state), "chip", "info"],
}


@pytest.mark.parametrize("command", OTHER_COMMANDS)
@pytest.mark.parametrize("probe", ["EID row missing, profile present", "EID stored as a string",
                                   "lock file cannot be opened"])
def test_other_commands_refuse_a_bad_state_file(base_state, tmp_path, probe, command):
    state = tmp_path / "card.state"
    shutil.copy(base_state, state)
    PROBES[probe](state)
    before = _digest(state)
    result = _cli(OTHER_COMMANDS[command](state), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"euicc-emu: {state}: "), result.stderr
    assert _digest(state) == before


READ_ONLY_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'


def _on_read_only_fs(directory: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a private mount namespace where `directory` is a read-only file system."""
    probe = subprocess.run(["unshare", "-m", "sh", "-c", READ_ONLY_MOUNT, "sh", str(directory), "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"a read-only mount needs unshare -m and mount (root): {probe.stderr.strip()}")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(directory.parent)}
    return subprocess.run(["unshare", "-m", "sh", "-c", READ_ONLY_MOUNT, "sh", str(directory),
                           sys.executable, "-m", "tools.cli", *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)


@pytest.mark.parametrize("command", COMMANDS)
def test_good_file_on_a_read_only_file_system_is_refused(base_state, tmp_path, command):
    state = tmp_path / "ro" / "card.state"
    state.parent.mkdir()
    shutil.copy(base_state, state)
    before = _digest(state)
    result = _on_read_only_fs(state.parent, COMMANDS[command](state))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"euicc-emu: {state}: cannot open: Read-only file system "
                                          f"({state}.lock)"]
    assert _digest(state) == before


def test_info_on_a_good_file_changes_nothing(base_state, tmp_path):
    state = tmp_path / "card.state"
    shutil.copy(base_state, state)
    before = _digest(state)
    result = _cli(COMMANDS["info"](state), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    eid = sqlite3.connect(state).execute("SELECT v FROM kv WHERE k='card/eid'").fetchone()[0]
    assert f"EID:      {json.loads(eid)['$b'].upper()}" in result.stdout
    assert _digest(state) == before


def test_info_makes_no_card(tmp_path):
    state = tmp_path / "sub" / "card.state"
    result = _cli(COMMANDS["info"](state), tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"euicc-emu: {state}: no card state here "
                                          "(`euicc-emu run` creates one)"]
    assert not state.parent.exists()
