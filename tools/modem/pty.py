"""The virtual modem's serial port: a pseudo-terminal (POSIX ``openpty``).

The slave side is what a program opens (``/dev/pts/N``, printed by ``euicc-emu modem``, or the
``--link`` symlink to it); it is put in raw mode so bytes pass unchanged (no echo by the line
discipline, no CR/LF mapping: the modem does its own echo, V.250 §6.2.4).  The modem keeps the
slave open itself, so programs can open and close the port as often as they like.
"""
from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable
from pathlib import Path

POLL = 0.2  # seconds between checks of the stop flag


class PtyPort:
    """One pseudo-terminal pair; `link` (optional) is a symlink made to the slave's path."""

    def __init__(self, link: Path | None = None) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.link = link
        if link is not None:
            temporary = link.with_name(f".{link.name}.{os.getpid()}")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(self.path)
            os.replace(temporary, link)  # atomic: an old link to a dead port is replaced at once

    def serve(self, feed: Callable[[bytes], bytes], stop: threading.Event) -> None:
        """Pass what programs write to `feed` and write back its answer, until `stop` is set."""
        while not stop.is_set():
            ready, _, _ = select.select([self.master], [], [], POLL)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # no slave open at the moment (EIO); cannot happen while we hold it
                continue
            out = feed(data)
            while out:
                out = out[os.write(self.master, out):]

    def close(self) -> None:
        if self.link is not None and self.link.is_symlink() and os.readlink(self.link) == self.path:
            self.link.unlink()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
