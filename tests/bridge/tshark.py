"""Decode a pcap file with Debian's ``tshark`` (installed by tools/setup.sh): the independent reader
of the traces the card writes.  Field names from ``tshark -G fields`` (Wireshark 4.0)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tshark() -> str:
    """The tshark binary; a test without it fails in CI (setup.sh installs it) and is skipped,
    with the reason printed, elsewhere."""
    path = shutil.which("tshark")
    if path is None:
        message = "tshark is not installed (sudo bash tools/setup.sh test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def fields(pcap: Path, names: list[str]) -> list[dict[str, str]]:
    """One dict per frame: field name -> value as tshark prints it ('' when absent)."""
    cmd = [require_tshark(), "-r", str(pcap), "-T", "fields", "-E", "separator=/t"]
    for name in names:
        cmd += ["-e", name]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [dict(zip(names, line.split("\t"))) for line in done.stdout.splitlines()]
