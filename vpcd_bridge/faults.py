"""Fault rules of the test instrument: what to match in a command APDU, what to do, how often.

A rule is a JSON object (the ``--faults`` file holds a list of them; the control endpoint's
``add`` takes one)::

    {"match": {"ins": "A4", "aid": "A0000000871002"}, "action": "sw", "sw": "6A82", "count": 1}

``match`` (every given field must hold; an empty match is every command):

* ``cla``, ``ins``, ``p1``, ``p2``: one byte each (hex); ``data``: a prefix of the command data;
* ``es10``: the tag of an ES10 command (e.g. ``BF38``): a STORE DATA (``INS E2``, proprietary
  class) whose first block (``P2`` = 0) starts with that tag (SGP.22 v2.5 §5.7.2).  The rule
  fires on the first block and acts on the last one (GP Card Specification v2.3.1 §11.11.2.1:
  ``P1`` b8 set = last block); the blocks in between are answered ``9000`` by the instrument when
  the action forges the answer (the card never sees the command), else they pass to the card;
* ``aid``: a SELECT by DF name (``P1`` = 04) of an AID starting with these bytes, and every
  command on a logical channel where such a SELECT succeeded.

``action`` and its parameters (see :data:`ACTIONS`); ``skip`` (default 0): matching commands let
through before the rule starts firing ("after N commands"); ``count``: ``1`` (default, once),
``N``, or ``"always"``.  A rule that has fired ``count`` times stays listed, spent.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from euicc import tlv

from .rule_values import RuleError, hex_bytes

#: action -> {parameter: default}; a parameter without a default (``None``) is required.
ACTIONS: dict[str, dict[str, Any]] = {
    "sw": {"sw": None, "data": ""},                # answer SW (and data), the card never sees it
    "es10_error": {"error": None, "bpp_command": "initialiseSecureChannel", "transaction_id": ""},
    "delay": {"ms": None},                         # answer late
    "drop": {"hold_ms": 3000, "absent_ms": 1000},  # no answer; link closed after hold_ms
    "wrong_length": {"delta": -1},                 # answer delta bytes fewer/more than announced
    "chain": {"chunk": 1},                         # 61xx chaining in pieces of `chunk` bytes
    "proactive": {"command": "", "terminal_response": "swallow"},   # 9000 -> 91xx, FETCH serves it
    "remove": {"absent_ms": 1000},                 # card removed before the command, reinserted
    "power_cut": {"absent_ms": 1000, "write": 0},  # power lost (at NVM write `write`, 0: before)
}
#: actions whose answer the instrument makes up: the card does not see the command.
FORGING = frozenset({"sw", "es10_error"})
MATCH_FIELDS = ("cla", "ins", "p1", "p2", "data", "es10", "aid")
ALWAYS = "always"


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(f"{what}: expected an integer {low}..{high}, got {value!r}")
    return value


@dataclass(frozen=True)
class Match:
    """The command pattern of a rule (module docstring)."""

    cla: int | None = None
    ins: int | None = None
    p1: int | None = None
    p2: int | None = None
    data: bytes = b""
    es10: int | None = None
    aid: bytes | None = None

    @classmethod
    def from_json(cls, obj: Any) -> Match:
        if not isinstance(obj, dict):
            raise RuleError("match: expected an object")
        unknown = set(obj) - set(MATCH_FIELDS)
        if unknown:
            raise RuleError(f"match: unknown field(s) {sorted(unknown)}")
        header = {k: hex_bytes(obj[k], f"match.{k}", 1)[0] for k in ("cla", "ins", "p1", "p2") if k in obj}
        es10 = None
        if "es10" in obj:
            raw = hex_bytes(obj["es10"], "match.es10")
            try:
                es10, end = tlv.read_tag(raw, 0)
            except tlv.TlvError:
                raise RuleError(f"match.es10: not a BER-TLV tag: {obj['es10']!r}") from None
            if end != len(raw):
                raise RuleError(f"match.es10: not a single tag: {obj['es10']!r}")
        aid = hex_bytes(obj["aid"], "match.aid") if "aid" in obj else None
        if aid is not None and not 1 <= len(aid) <= 16:
            raise RuleError("match.aid: an AID has 1..16 bytes (ISO 7816-4 §8.2.1.2)")
        return cls(data=hex_bytes(obj.get("data", ""), "match.data"), es10=es10, aid=aid, **header)

    def to_json(self) -> dict[str, str]:
        out = {k: f"{getattr(self, k):02X}" for k in ("cla", "ins", "p1", "p2") if getattr(self, k) is not None}
        if self.data:
            out["data"] = self.data.hex().upper()
        if self.es10 is not None:
            out["es10"] = f"{self.es10:X}"
        if self.aid is not None:
            out["aid"] = self.aid.hex().upper()
        return out


@dataclass(frozen=True)
class CommandView:
    """What a rule can see of one command: its bytes and the channel's context."""

    header: bytes              # CLA INS P1 P2
    data: bytes                # command data (empty when the APDU does not parse)
    es10_tag: int | None       # the tag of the ES10 sequence this STORE DATA block belongs to
    first_block: bool          # a STORE DATA with P2 = 0
    selected_aid: bytes | None  # the AID the host selected on this channel (SELECT by name, 9000)

    @property
    def select_aid(self) -> bytes | None:
        """The AID of a SELECT by DF name (ISO 7816-4 §11.2.2, P1 '04')."""
        return self.data if self.header[1] == 0xA4 and self.header[2] == 0x04 else None


@dataclass
class Rule:
    """One fault: pattern, action with parameters, and its counters."""

    id: int
    match: Match
    action: str
    params: dict[str, Any]
    skip: int = 0
    count: int | None = 1          # None: always
    seen: int = 0                  # matching commands so far
    fired: int = 0

    @property
    def spent(self) -> bool:
        return self.count is not None and self.fired >= self.count

    @property
    def forging(self) -> bool:
        return self.action in FORGING

    def matches(self, cmd: CommandView) -> bool:
        m = self.match
        for i, want in enumerate((m.cla, m.ins, m.p1, m.p2)):
            if want is not None and cmd.header[i] != want:
                return False
        if not cmd.data.startswith(m.data):
            return False
        if m.es10 is not None and not (cmd.first_block and cmd.es10_tag == m.es10):
            return False
        if m.aid is not None:
            target = cmd.select_aid if cmd.select_aid is not None else cmd.selected_aid
            if target is None or not target.startswith(m.aid):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "match": self.match.to_json(), "action": self.action, **self.params,
                "skip": self.skip, "count": ALWAYS if self.count is None else self.count,
                "seen": self.seen, "fired": self.fired}


def parse_rule(obj: Any, rule_id: int) -> Rule:
    """A :class:`Rule` from its JSON object; :class:`RuleError` says what is wrong."""
    if not isinstance(obj, dict):
        raise RuleError("a rule is a JSON object")
    action = obj.get("action")
    if action not in ACTIONS:
        raise RuleError(f"action: expected one of {', '.join(ACTIONS)}, got {action!r}")
    allowed = {"match", "action", "skip", "count", "id"} | set(ACTIONS[action])
    unknown = set(obj) - allowed
    if unknown:
        raise RuleError(f"{action}: unknown field(s) {sorted(unknown)} (allowed: {sorted(allowed)})")
    params = {}
    for name, default in ACTIONS[action].items():
        if name not in obj and default is None:
            raise RuleError(f"{action}: '{name}' is required")
        params[name] = obj.get(name, default)
    _check_params(action, params)
    match = Match.from_json(obj.get("match", {}))
    if action == "es10_error":
        if match.es10 is None:
            raise RuleError("es10_error: the match needs 'es10' (the tag of the ES10 command)")
        from .es10_errors import check_error  # asn1tools is loaded only when ES10 errors are used
        check_error(match.es10, params)
    count = obj.get("count", 1)
    if count in (ALWAYS, "once"):
        count = None if count == ALWAYS else 1
    else:
        count = _int(count, "count", 1, 1 << 31)
    return Rule(rule_id, match, action, params,
                skip=_int(obj.get("skip", 0), "skip", 0, 1 << 31), count=count)


def _check_params(action: str, p: dict[str, Any]) -> None:
    if action == "sw":
        hex_bytes(p["sw"], "sw", 2)
        hex_bytes(p["data"], "data")
    elif action == "delay":
        _int(p["ms"], "ms", 0, 600_000)
    elif action == "drop":
        _int(p["hold_ms"], "hold_ms", 0, 600_000)
        _int(p["absent_ms"], "absent_ms", 0, 600_000)
    elif action == "wrong_length":
        _int(p["delta"], "delta", -256, 256)
        if p["delta"] == 0:
            raise RuleError("delta: 0 is the right length")
    elif action == "chain":
        _int(p["chunk"], "chunk", 1, 255)
    elif action == "proactive":
        if len(hex_bytes(p["command"], "command")) > 255:
            raise RuleError("command: a proactive command has at most 255 bytes (91xx, TS 102 221 §10.2.1.1)")
        if p["terminal_response"] not in ("swallow", "pass"):
            raise RuleError("terminal_response: 'swallow' or 'pass'")
    elif action in ("remove", "power_cut"):
        _int(p["absent_ms"], "absent_ms", 0, 600_000)
        if action == "power_cut":
            _int(p["write"], "write", 0, 1 << 20)


@dataclass
class FaultTable:
    """The rules of one card, changeable from another thread (the control endpoint)."""

    rules: list[Rule] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, obj: Any) -> Rule:
        with self._lock:
            rule = parse_rule(obj, next(self._ids))
            self.rules.append(rule)
            return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            return len(self.rules) != before

    def clear(self) -> int:
        with self._lock:
            n, self.rules = len(self.rules), []
            return n

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self.rules]

    def select(self, cmd: CommandView) -> Rule | None:
        """The first live rule that matches `cmd` and is past its ``skip``; counts it as fired.
        Every live matching rule counts the command as seen."""
        chosen = None
        with self._lock:
            for rule in self.rules:
                if rule.spent or not rule.matches(cmd):
                    continue
                rule.seen += 1
                if chosen is None and rule.seen > rule.skip:
                    rule.fired += 1
                    chosen = rule
        return chosen
