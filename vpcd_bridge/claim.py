"""One card per vpcd slot: an advisory lock a serving process holds on its slot's address.

vpcd accepts any program that connects to a slot's port, so two ``euicc-emu run`` processes on the
same slot would each answer half of the APDUs.  Each serving process therefore holds
``$TMPDIR/euicc-emu-vpcd-<host>-<port>.lock`` (``flock``, released by the kernel when the process
dies, even by kill -9) and writes its pid into it so the refusal can say who is serving.
"""
from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import IO

from .connection import Endpoint


class SlotInUse(Exception):
    """Another process serves this vpcd address."""


def claim_path(endpoint: Endpoint) -> Path:
    host, port = endpoint.address
    safe_host = re.sub(r"[^A-Za-z0-9.-]", "_", host)
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"euicc-emu-vpcd-{safe_host}-{port}.lock"


class SlotClaim:
    """Holds the lock of one endpoint from :meth:`acquire` until :meth:`release` (or process exit)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.path = claim_path(endpoint)
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`SlotInUse` naming the holder's pid."""
        handle = open(self.path, "a+", encoding="ascii")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            host, port = self.endpoint.address
            raise SlotInUse(f"vpcd slot {self.endpoint.slot} ({host}:{port}) is already served by "
                            f"process {holder} ({self.path})") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> SlotClaim:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
