"""End-to-end: a running card whose state file can no longer be written answers UPDATE BINARY with
'6581' memory problem (ETSI TS 102 221 §10.2.1.3) and still reads back the old content; once the
file is writable again, updates work and persist.

"Cannot be written" is made real from outside the card process: its file size limit is set to 0
(``prlimit``), so SQLite cannot write its rollback journal, as on a full disk (a chmod would not
stop a card running as root).
"""
from __future__ import annotations

import resource

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

SELECT_EF_PL = bytes.fromhex("00A4000C022F05")     # EF.PL under the MF (TS 102 221 §13.5)
READ_10 = bytes.fromhex("00B000000A")
ORIGINAL = b"en" + b"\xff" * 8                     # EF.PL of the minimal profile (euicc.fs.default_fs)
NEW = b"de" + b"\xff" * 8


def test_unwritable_state_answers_6581_and_keeps_the_old_content(start_card, tmp_path):
    card = start_card(tmp_path / "card.state")
    pid = card.proc.pid
    limits = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    link = T0Link(SLOT)
    try:
        assert link.send(SELECT_EF_PL)[1] == 0x9000
        assert link.send(READ_10) == (ORIGINAL, 0x9000)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, limits[1]))
        assert link.send(bytes.fromhex("00D600000A") + NEW)[1] == 0x6581
        assert link.send(READ_10) == (ORIGINAL, 0x9000)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, limits)
        assert link.send(bytes.fromhex("00D600000A") + NEW)[1] == 0x9000
    finally:
        link.close()
    assert card.stop() == 0      # (its log could not grow either: the logging is checked in tests/core)
    card = start_card(tmp_path / "card.state")       # the same file: the last update persisted
    link = T0Link(SLOT)
    try:
        assert link.send(SELECT_EF_PL)[1] == 0x9000
        assert link.send(READ_10) == (NEW, 0x9000)
    finally:
        link.close()
