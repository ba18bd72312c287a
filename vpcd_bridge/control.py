"""The instrument's control endpoint: line-delimited JSON over a Unix stream socket.

Each request is one JSON object on one line, each reply one JSON object on one line, ``"ok"``
saying whether it was done (else ``"error"`` says why).  A request for a card other than the
first names its vpcd ``"slot"``.

===========================================  ============================================
request                                      reply
===========================================  ============================================
``{"op": "add", "rule": {...}}``             ``{"ok": true, "rule": {... "id": N}}``
``{"op": "list"}``                           ``{"ok": true, "rules": [...], "fuzz": ...}``
``{"op": "remove", "id": N}``                ``{"ok": true}``
``{"op": "clear"}``                          ``{"ok": true, "removed": N}``
``{"op": "eject", "absent_ms": 1000}``       ``{"ok": true}`` (card removed, reinserted)
``{"op": "fuzz", "seed": S, "rate": R}``     ``{"ok": true, "fuzz": {...}}``
``{"op": "fuzz", "off": true}``              ``{"ok": true, "fuzz": null}``
===========================================  ============================================

Bad input gets an error reply; nothing a client sends stops the card.  Rule changes take effect at
the next command; ``eject`` and ``fuzz`` wait for the command in progress (e.g. a delayed one).  The socket is made
readable and writable by its owner only (it controls the card).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import stat
import threading
from pathlib import Path
from typing import Any

from .faults import RuleError
from .instrument import InstrumentedCard

log = logging.getLogger(__name__)

MAX_LINE = 65536
MAX_PATH = 107        # sockaddr_un.sun_path holds 108 bytes with the terminating NUL (unix(7))


class ControlError(Exception):
    """The endpoint cannot be opened (path too long, in use)."""


class Controller:
    """Executes control requests against the instrumented cards (no I/O: testable in process)."""

    def __init__(self, cards: dict[int, InstrumentedCard]) -> None:
        if not cards:
            raise ValueError("no cards to control")
        self.cards = cards

    def handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "error": f"not JSON: {exc}"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object"}
        try:
            return {"ok": True, **self.handle(request)}
        except (RuleError, ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": str(exc) if not isinstance(exc, KeyError) else f"missing {exc}"}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        card = self._card(request.get("slot"))
        op = request.get("op")
        if op == "add":
            return {"rule": card.faults.add(request["rule"]).to_json()}
        if op == "list":
            fuzz = card.fuzzer.describe() if card.fuzzer is not None else None
            return {"slot": card.slot, "rules": card.faults.listing(), "fuzz": fuzz}
        if op == "remove":
            if not card.faults.remove(_number(request["id"], "id")):
                raise ValueError(f"no rule {request['id']}")
            return {}
        if op == "clear":
            return {"removed": card.faults.clear()}
        if op == "eject":
            absent = _number(request.get("absent_ms", 1000), "absent_ms")
            if not card.eject(absent / 1000):
                raise ValueError("this card has no vpcd link to eject from")
            return {}
        if op == "fuzz":
            return {"fuzz": self._fuzz(card, request)}
        raise ValueError(f"op: expected add, list, remove, clear, eject or fuzz, got {op!r}")

    def _card(self, slot: Any) -> InstrumentedCard:
        if slot is None:
            return self.cards[min(self.cards)]
        if _number(slot, "slot") not in self.cards:
            raise ValueError(f"no card on slot {slot} (slots: {sorted(self.cards)})")
        return self.cards[slot]

    @staticmethod
    def _fuzz(card: InstrumentedCard, request: dict[str, Any]) -> dict[str, Any] | None:
        from .response_fuzz import ResponseFuzzer
        if request.get("off"):
            card.set_fuzzer(None)
            return None
        fuzzer = ResponseFuzzer(_number(request["seed"], "seed"), request["rate"])
        card.set_fuzzer(fuzzer)
        return fuzzer.describe()


def _number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what}: expected a non-negative integer, got {value!r}")
    return value


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        controller: Controller = self.server.controller  # type: ignore[attr-defined]
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            if not line.endswith(b"\n") and len(line) >= MAX_LINE:
                reply = {"ok": False, "error": f"request longer than {MAX_LINE} bytes"}
                self.wfile.write(json.dumps(reply).encode() + b"\n")
                return
            if not line.strip():
                continue
            reply = controller.handle_line(line)
            self.wfile.write(json.dumps(reply).encode() + b"\n")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class ControlServer:
    """Serves a :class:`Controller` on a Unix socket at `path` in a background thread."""

    def __init__(self, path: Path, controller: Controller) -> None:
        self.path = Path(path)
        self.controller = controller
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if len(os.fsencode(self.path)) > MAX_PATH:
            raise ControlError(f"control socket path too long for a Unix socket ({self.path})")
        _remove_stale(self.path)
        old = os.umask(0o177)
        try:
            server = _Server(str(self.path), _Handler)
        except OSError as exc:
            raise ControlError(f"cannot open the control socket {self.path}: {exc}") from None
        finally:
            os.umask(old)
        server.controller = self.controller  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fault-control", daemon=True)
        self._thread.start()
        log.info("fault control on %s", self.path)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _remove_stale(path: Path) -> None:
    """Remove a socket file left by a card that died; refuse one that still answers."""
    if not path.exists():
        return
    if not stat.S_ISSOCK(path.stat().st_mode):
        raise ControlError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
    else:
        raise ControlError(f"{path} is the control socket of a running card")
    finally:
        probe.close()


def request(path: Path, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the endpoint at `path` and return its reply (client side)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message).encode() + b"\n")
        with sock.makefile("rb") as stream:
            line = stream.readline(MAX_LINE)
    if not line:
        raise ConnectionError(f"no reply from {path}")
    return json.loads(line)
