"""An AT client written from ITU-T V.250 and 3GPP TS 27.007, independent of tools/modem: it opens
a serial port (raw mode), sends a command line ended by CR (S3, V.250 §6.2.1) and collects the
response up to the final result code (V.250 §5.7: OK / ERROR; 27.007 §9.2: +CME ERROR: <err>)."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import tty
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FINAL = ("OK", "ERROR", "+CME ERROR:")


@dataclass
class Reply:
    echo: str          # the echoed command line ('' with echo off)
    info: list[str]    # information text lines
    final: str         # final result code


class AtPort:
    """One open serial port."""

    def __init__(self, path: str | Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)

    def command(self, line: str, timeout: float = 20.0) -> Reply:
        os.write(self.fd, line.encode("ascii") + b"\r")
        received = b""
        deadline = time.monotonic() + timeout
        while True:
            lines = received.decode("latin-1").split("\r\n")
            done = [l for l in lines[:-1] if l.startswith(FINAL)]
            if done:
                break
            left = deadline - time.monotonic()
            assert left > 0, f"no final result code for {line!r}; got {received!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                received += os.read(self.fd, 4096)
        head, *rest = lines
        echo = head.rstrip("\r")  # with echo on the line comes back before the first CR LF
        body = [l for l in rest if l]
        return Reply(echo, body[:-1], body[-1])

    def ok(self, line: str) -> list[str]:
        """Send `line`; assert OK; return the information lines."""
        reply = self.command(line)
        assert reply.final == "OK", f"{line}: {reply}"
        return reply.info

    def close(self) -> None:
        os.close(self.fd)


class ModemProcess:
    """``euicc-emu modem`` as a subprocess; its port path is the first line it prints."""

    def __init__(self, args: list[str], timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "modem", *args], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line:
            self.proc.kill()
            raise AssertionError(f"modem did not start: {self.proc.communicate()[1]}")
        self.path = line

    def stop(self) -> int:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


def hex_field(line: str, prefix: str) -> tuple[list[str], bytes]:
    """'+X: a,b,"HEX"' -> (['a', 'b'], bytes of HEX) (27.007: hexadecimal character format)."""
    assert line.startswith(prefix + ": "), line
    *numbers, text = line[len(prefix) + 2:].split(",")
    return numbers, bytes.fromhex(text.strip('"'))
