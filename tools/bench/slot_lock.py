"""An advisory lock per vpcd slot, shared by the end-to-end tests and the PC/SC benchmark.

Two programs putting cards on the same vpcd slot at once would talk to each other's cards, so
each holds ``$TMPDIR/euicc-emu-e2e-slot<N>.lock`` (``flock``) while it uses slot N.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator


class SlotBusy(Exception):
    """The slot stayed locked by another program for the whole wait."""


def lock_path(slot: int) -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"euicc-emu-e2e-slot{slot}.lock"


@contextlib.contextmanager
def hold_slot(slot: int, wait: float = 600.0) -> Iterator[None]:
    """Hold the lock of `slot`, waiting up to `wait` seconds for another holder to finish."""
    path = lock_path(slot)
    with open(path, "w") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SlotBusy(f"vpcd slot {slot} is held by another program ({path}) for {wait:.0f} s") from None
                time.sleep(0.2)
        yield
