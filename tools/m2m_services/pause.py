"""Deterministic pause points of the test services (crash tests without timing races).

A service started with ``EUICC_SERVICE_PAUSE=STEP[,STEP...]`` and ``EUICC_SERVICE_PAUSE_FILE=PATH``
stops the first time it reaches each named step (``STEP#N``: the N-th time, e.g. a step run once per
key set kind): it writes the name as given to PATH (atomically) and waits until PATH is removed, then
goes on.  A test waits for PATH to name the step, then kills the process
(``kill -9``) exactly there, or removes PATH to let it continue.  Without the variables
:func:`checkpoint` does nothing.  Step names are listed where they are reached (``STEPS``).
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

PAUSE_ENV = "EUICC_SERVICE_PAUSE"
PAUSE_FILE_ENV = "EUICC_SERVICE_PAUSE_FILE"
POLL = 0.02
"""Seconds between two looks at the pause file while paused."""
_reached: dict[str, int] = {}
"""How many times this process reached each step."""


def checkpoint(step: str) -> None:
    """Pause at ``step`` if the environment names this occurrence of it (see the module docstring)."""
    names = {n.strip() for n in os.environ.get(PAUSE_ENV, "").split(",") if n.strip()}
    target = os.environ.get(PAUSE_FILE_ENV)
    _reached[step] = count = _reached.get(step, 0) + 1
    name = f"{step}#{count}"
    if name not in names:
        name = step if count == 1 and step in names else ""
    if not name or not target:
        return
    path = Path(target)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pause")
    with os.fdopen(fd, "w") as out:
        out.write(name + "\n")
    os.replace(tmp, path)
    while path.exists():
        time.sleep(POLL)
