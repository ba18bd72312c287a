"""A write that fails at run time (disk full, file made read-only, I/O error): the command answers
'6581' memory problem (ETSI TS 102 221 §10.2.1.3), the old state is kept on disk and in memory,
and the error SQLite reported is what gets logged.  A PIN whose decremented retry counter cannot
be stored is not compared (TS 102 221 §11.1.9: the counter goes down before the comparison).
"""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from euicc.composition import open_card
from euicc.nvm import NvmWriteError, Store
from euicc.nvm_codec import Codec
from tests.core.helpers import PIN2, Terminal, pin, store_snapshot

REPO = Path(__file__).resolve().parents[2]


def _failing_io(_: int) -> None:
    raise sqlite3.OperationalError("disk I/O error")


def _disk(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    rows = dict(db.execute("SELECT k, v FROM kv"))
    db.close()
    return rows


def test_failed_commit_keeps_old_state_and_reports_the_cause(tmp_path, caplog):
    path = tmp_path / "s.db"
    s = Store(path, Codec())
    s.put("a", 1)
    s.fault_hook = _failing_io
    with caplog.at_level(logging.ERROR), pytest.raises(NvmWriteError) as failure:
        with s.transaction():
            s.put("a", 2)
            s.put("b", b"\x01")
    assert str(failure.value.__cause__) == "disk I/O error"
    assert (s.get("a"), "b" in s) == (1, False)            # memory = disk = before
    assert _disk(path) == {"a": "1"}
    assert "disk I/O error" in caplog.text and "no transaction is active" not in caplog.text
    s.fault_hook = None
    s.put("b", 3)                                          # the store is usable again
    assert _disk(path) == {"a": "1", "b": "3"}
    s.close()


def test_failed_write_through_keeps_the_old_value(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path, Codec())
    s.put("counter", 3)
    s.fault_hook = _failing_io
    with pytest.raises(NvmWriteError):
        with s.transaction():
            s.put("other", 1)
            s.write_through("counter", 2)
    assert (s.get("counter"), "other" in s) == (3, False)
    assert _disk(path) == {"counter": "3"}
    s.close()


@pytest.mark.parametrize("candidate", ["9999", "1234"])   # PIN2 of the default card is 9999
def test_pin_not_compared_when_its_counter_cannot_be_written(candidate):
    card = open_card(None, first_profile="minimal")
    try:
        term = Terminal(card)
        before = store_snapshot(card.store)
        card.store.fault_hook = _failing_io
        assert term.raw("00 20 00 81 08" + pin(candidate).hex()).sw_hex == "6581"
        card.store.fault_hook = None
        assert store_snapshot(card.store) == before
        assert term.raw("00 20 00 81").sw_hex == "63C3"    # not verified, 3 tries left
        assert term.verify(PIN2, "9999") == 0x9000
    finally:
        card.close()


CHILD = r"""
import resource, sys
from pathlib import Path
from euicc.composition import open_card
card = open_card(Path(sys.argv[1]))
t = lambda hexa: card.transmit(bytes.fromhex(hexa)).hex().upper()
assert t("00A4000C022F05") == "9000"
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))   # no file may grow: the journal cannot be written
print(t("00D600000A30313233343536373839"), t("00B000000A"), flush=True)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
card.close()
"""


def test_update_binary_on_a_full_disk_answers_6581(tmp_path):
    """A real SQLite failure (no file may grow, as on a full disk), in a child process."""
    path = tmp_path / "card.state"
    open_card(path, first_profile="minimal").close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    child = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=REPO, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert child.returncode == 0, child.stderr
    # EF 2F05 (preferred languages) of the default card holds 'en' then 'FF' padding
    assert child.stdout.split() == ["6581", "656E" + "FF" * 8 + "9000"]
    assert "state not written" in child.stderr and "no transaction is active" not in child.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    card = open_card(path)
    try:
        term = Terminal(card)
        term.ok("00 A4 00 0C 02 2F05")
        assert term.ok("00 B0 00 00 0A") == b"en" + b"\xff" * 8
    finally:
        card.close()
