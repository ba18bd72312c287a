"""The AT command interpreter of the virtual modem, sans I/O: bytes in, bytes out.

Command lines follow ITU-T V.250: a line starts with ``AT`` (any case) and ends with the S3
character (CR, §6.2.1); LF is ignored, S5 (backspace, §6.2.3) removes the last character; basic
commands (``E0``, ``I``, ``Z``) and extended commands (``+NAME``, ``+NAME?``, ``+NAME=?``,
``+NAME=<args>``, §5.3-5.4) follow one another, extended ones separated by ``;``.  Responses use the
verbose format (V1): information text and the final result code each framed by CR LF (§5.7.1).
Echo (``E``, §6.2.4) is on after a reset.  A failing command ends the line: ``ERROR``, or with
``+CMEE=1``/``2`` (3GPP TS 27.007 §9.1) ``+CME ERROR: <err>`` in numeric or verbose form (§9.2)
for errors of the MT; syntax errors and unknown commands stay ``ERROR`` (§9.1).

The 27.007 SIM commands are in :mod:`tools.modem.commands`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tools.modem.sim import SimError

CR, LF, BACKSPACE = 0x0D, 0x0A, 0x08
AT_PREFIX = re.compile("[Aa][Tt]")  # V.250 §5.2.1 (upper or lower case; matched without changing the line)
MAX_LINE = 4096  # longer lines are discarded whole (an APDU of 261 bytes is 522 hex characters)

# 27.007 §9.2.1 verbose texts of the codes the modem uses
CME_TEXT = {
    0: "phone failure", 3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    16: "incorrect password", 20: "memory full", 21: "invalid index", 22: "not found",
    50: "Incorrect parameters", 100: "unknown",
}

IDENTIFICATION = ("euicc-emu", "virtual AT modem", "Revision: 0.1")


class AtError(Exception):
    """A syntax error or an unknown command: the plain ``ERROR`` result code."""


@dataclass(frozen=True)
class Command:
    """One extended command of a line: ``name`` (upper case, with ``+``), its form, its arguments."""

    name: str
    form: str            # "action" (+X), "read" (+X?), "test" (+X=?), "set" (+X=...)
    args: tuple[str | None, ...] = ()   # set form: raw values; None for an omitted one; strings unquoted


Handler = Callable[[Command], list[str]]


def split_args(text: str) -> tuple[str | None, ...]:
    """V.250 §5.4.2: values separated by commas; a string constant in double quotes may hold commas."""
    values: list[str | None] = []
    current, quoted, in_string = "", False, False
    for ch in text:
        if in_string:
            if ch == '"':
                in_string = False
            else:
                current += ch
        elif ch == '"':
            if current.strip():
                raise AtError(f"quote inside a value: {text!r}")
            in_string, quoted, current = True, True, ""
        elif ch == ",":
            values.append(current if quoted else (current.strip() or None))
            current, quoted = "", False
        elif quoted:  # only blanks may follow a string constant
            if not ch.isspace():
                raise AtError(f"text after a string: {text!r}")
        else:
            current += ch
    if in_string:
        raise AtError(f"unterminated string: {text!r}")
    values.append(current if quoted else (current.strip() or None))
    return tuple(values)


def parse_line(body: str) -> list[tuple[str, str]]:
    """The commands after ``AT``: ("basic", "E1") or ("extended", "+CSIM=4,\"...\"") items."""
    items: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in " ;":
            i += 1
        elif ch == "+":
            j, in_string = i, False
            while j < len(body) and (in_string or body[j] != ";"):
                in_string ^= body[j] == '"'
                j += 1
            items.append(("extended", body[i:j]))
            i = j
        elif ch.isascii() and ch.isalpha():
            j = i + 1
            while j < len(body) and body[j] in "0123456789":
                j += 1
            items.append(("basic", body[i:j].upper()))
            i = j
        else:
            raise AtError(f"unexpected {ch!r} in the command line")
    return items


def parse_extended(text: str) -> Command:
    """``+NAME``, ``+NAME?``, ``+NAME=?`` or ``+NAME=args`` (V.250 §5.3)."""
    name_end = 1
    while name_end < len(text) and (text[name_end].isalnum() or text[name_end] in "!%-./:_"):
        name_end += 1
    name, rest = text[:name_end].upper(), text[name_end:].strip()
    if name == "+":
        raise AtError("extended command without a name")
    if not rest:
        return Command(name, "action")
    if rest == "?":
        return Command(name, "read")
    if rest == "=?":
        return Command(name, "test")
    if rest.startswith("="):
        return Command(name, "set", split_args(rest[1:]))
    raise AtError(f"bad extended command {text!r}")


class AtInterpreter:
    """Line assembly, echo, dispatch and result codes; `handlers` maps ``+NAME`` to its handler."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = dict(handlers)
        self.handlers.update({"+CMEE": self._cmee, "+CGMI": self._identity(0), "+CGMM": self._identity(1),
                              "+CGMR": self._identity(2)})
        self.echo = True
        self.cmee = 0
        self._buffer = bytearray()
        self._overflow = False

    # -- bytes ------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Take received characters; return what the modem sends back (echo and responses)."""
        out = bytearray()
        for byte in data:
            if self.echo:
                out.append(byte)
            if byte == CR:
                line, overflow = self._buffer.decode("latin-1"), self._overflow
                self._buffer.clear()
                self._overflow = False
                out += b"" if overflow else self.execute(line)
            elif byte == LF:
                continue
            elif byte == BACKSPACE:
                del self._buffer[-1:]
            elif len(self._buffer) < MAX_LINE:
                self._buffer.append(byte)
            else:
                self._overflow = True
        return bytes(out)

    # -- one line --------------------------------------------------------------------------------
    def execute(self, line: str) -> bytes:
        """Run one command line; the framed response (nothing for a line without ``AT``)."""
        prefix = AT_PREFIX.search(line)
        if prefix is None:
            return b""
        info: list[list[str]] = []  # the information text of each command
        try:
            for kind, text in parse_line(line[prefix.end():]):
                info.append(self._basic(text) if kind == "basic" else self._extended(parse_extended(text)))
        except AtError:
            return self._frame(info, "ERROR")
        except SimError as exc:
            return self._frame(info, self._cme(exc.cme))
        return self._frame(info, "OK")

    @staticmethod
    def _frame(info: list[list[str]], final: str) -> bytes:
        text = "".join("\r\n" + "\r\n".join(lines) + "\r\n" for lines in info if lines) + f"\r\n{final}\r\n"
        return text.encode("latin-1")

    def _cme(self, code: int) -> str:
        if self.cmee == 0:
            return "ERROR"
        if self.cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(code, CME_TEXT[100])}"
        return f"+CME ERROR: {code}"

    def _basic(self, text: str) -> list[str]:
        """V.250 basic commands: E[n] echo (§6.2.4), I[n] identification (§6.1.3), Z[n] reset (§6.1.1)."""
        letter, value = text[0], int(text[1:] or 0)
        if letter == "E" and value in (0, 1):
            self.echo = bool(value)
            return []
        if letter == "I" and value == 0:
            return list(IDENTIFICATION)
        if letter == "Z" and value == 0:  # the settings of this interpreter back to their defaults
            self.echo, self.cmee = True, 0
            return []
        raise AtError(f"unsupported basic command {text}")

    def _extended(self, command: Command) -> list[str]:
        handler = self.handlers.get(command.name)
        if handler is None:
            raise AtError(f"unknown command {command.name}")
        return handler(command)

    def _cmee(self, command: Command) -> list[str]:
        """+CMEE (27.007 §9.1)."""
        if command.form == "read":
            return [f"+CMEE: {self.cmee}"]
        if command.form == "test":
            return ["+CMEE: (0-2)"]
        if command.form == "set" and len(command.args) == 1:
            value = command.args[0] or "0"
            if value in ("0", "1", "2"):
                self.cmee = int(value)
                return []
        raise AtError("+CMEE takes 0, 1 or 2")

    @staticmethod
    def _identity(index: int) -> Handler:
        """+CGMI / +CGMM / +CGMR (27.007 §5.1-5.3): manufacturer, model, revision."""
        def handler(command: Command) -> list[str]:
            if command.form == "test":
                return []
            if command.form != "action":
                raise AtError("action or test form only")
            return [IDENTIFICATION[index]]
        return handler
