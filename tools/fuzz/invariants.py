"""Invariants every fuzz input is checked against (host side; reads the card, never changes it).

Valid status words — the set a response may end in, written down once (ISO/IEC 7816-4 §5.6
Tables 5-6, ETSI TS 102 221 §10.2.1, GP Card Spec v2.3.1 §11.1.3):

* normal processing: '9000'; '61xx' (more data, T=0 / chaining); '91xx' (proactive command
  pending, TS 102 221 §10.2.1.1); '92xx' (TS 102 221 §10.2.1.1 data transfer); '9300'
  (toolkit busy);
* warnings: '6200', '6281'-'6283', '62F1'-'62F3'; '6300', '6310' (GP: more data), '6381',
  '63Cx' (counter), '63F1'-'63F2';
* execution errors: '6400', '6500', '6581';
* checking errors: '6700'; '6Cxx' (wrong Le, T=0); '6800', '6881', '6882', '6883', '6884';
  '6900', '6981'-'6986', '6989'; '6A80'-'6A89'; '6B00'; '6D00'; '6E00'; '6F00';
* application errors (TS 102 221 §10.2.1.5): '9850', '9862', '9863', '9864'.

A response carries data only with '9000', '61xx', '62xx', '63xx' or '91xx' (data with an error
SW would leak a partial result).  `EXTRA_VALID_SW` is where a new command set (ES10, ES5) adds
a status word its spec defines, with the clause in a comment.

Persistent state may only change through a command that succeeded, with one documented
exception: a failed PIN/PUK presentation decrements its retry counter (TS 102 221 §11.1.9,
§11.1.13; the counter is written before the comparison), and the counter never goes up then.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

_EXACT = frozenset({
    0x9000, 0x9300,
    0x6200, 0x6281, 0x6282, 0x6283, 0x62F1, 0x62F2, 0x62F3,
    0x6300, 0x6310, 0x6381, 0x63F1, 0x63F2,
    0x6400, 0x6500, 0x6581,
    0x6700, 0x6800, 0x6881, 0x6882, 0x6883, 0x6884,
    0x6900, 0x6981, 0x6982, 0x6983, 0x6984, 0x6985, 0x6986, 0x6989,
    0x6A80, 0x6A81, 0x6A82, 0x6A83, 0x6A84, 0x6A86, 0x6A87, 0x6A88, 0x6A89,
    0x6B00, 0x6D00, 0x6E00, 0x6F00,
    0x9850, 0x9862, 0x9863, 0x9864,
})
_SW1_ANY = frozenset({0x61, 0x6C, 0x91, 0x92})     # SW2 is a length or a count
EXTRA_VALID_SW: frozenset[int] = frozenset({        # status words of later command sets
    0x6988,          # SCP03: incorrect secure messaging data objects (ISO 7816-4 §5.6, GP Amd D)
    0x9484, 0x9485,  # PUT KEY: algorithm not supported, invalid key check value (GP CS §11.8.3.2)
})
DATA_SW1 = frozenset({0x90, 0x61, 0x62, 0x63, 0x91})
SUCCESS_SW1 = frozenset({0x90, 0x61, 0x91})          # the command was executed
MAX_RESPONSE = 256 + 2                               # short Le maximum and SW1 SW2


class InvariantViolation(Exception):
    """An input broke an invariant: the fuzz harness reports it as a crash."""


def valid_sw(sw: int) -> bool:
    return sw in _EXACT or sw >> 8 in _SW1_ANY or (sw & 0xFFF0) == 0x63C0 or sw in EXTRA_VALID_SW


def check_response(command: bytes, response: bytes) -> int:
    """Check one response APDU; return its status word."""
    if not isinstance(response, bytes) or len(response) < 2:
        raise InvariantViolation(f"{command.hex()}: response {response!r} has no status word")
    if len(response) > MAX_RESPONSE:
        raise InvariantViolation(f"{command.hex()}: {len(response)}-byte response exceeds {MAX_RESPONSE}")
    sw = int.from_bytes(response[-2:], "big")
    if not valid_sw(sw):
        raise InvariantViolation(f"{command.hex()}: status word {sw:04X} is not a valid SW")
    if len(response) > 2 and sw >> 8 not in DATA_SW1:
        raise InvariantViolation(f"{command.hex()}: data returned with error SW {sw:04X}")
    return sw


# -- persistent state ---------------------------------------------------------------------------
def snapshot(store: Any) -> dict[str, Any]:
    """The committed key/value state of a store (read through its public API)."""
    return {k: store.get(k) for k in store.keys("")}


def is_counter_decrement(key: str, before: Any, after: Any) -> bool:
    """True when `after` is `before` with a PIN or PUK retry counter one lower and nothing else."""
    if "/pin/" not in key or not (is_dataclass(before) and type(before) is type(after)):
        return False
    changed = {f.name for f in fields(before) if getattr(before, f.name) != getattr(after, f.name)}
    if changed not in ({"retries"}, {"puk_retries"}):
        return False
    name = changed.pop()
    return getattr(after, name) == getattr(before, name) - 1


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = before.keys() | after.keys()
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


class StateWatch:
    """Tracks a store's committed data; `after(sw)` checks what a command changed."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.writes = store.writes
        self.state = snapshot(store)

    def after(self, command: bytes, sw: int) -> None:
        if self.store.writes == self.writes:
            return
        self.writes = self.store.writes
        new = snapshot(self.store)
        changes, self.state = state_changes(self.state, new), new
        if sw >> 8 in SUCCESS_SW1:
            return
        bad = [k for k, (b, a) in changes.items() if not is_counter_decrement(k, b, a)]
        if bad:
            raise InvariantViolation(f"{command.hex()}: failed with {sw:04X} but changed {sorted(bad)}")


# -- errors the card logged and memory -------------------------------------------------------
class LogWatch(logging.Handler):
    """Collects ERROR records of the card's loggers: an unexpected exception inside the card."""

    LOGGERS = ("euicc", "applets", "vpcd_bridge")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def check(self) -> None:
        if self.records:
            record, self.records = self.records[0], []
            detail = self.format(record) if record.exc_info else record.getMessage()
            raise InvariantViolation(f"the card logged an internal error: {detail}")


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class MemoryWatch:
    """Every `every` inputs, check that RSS grew by less than `limit` bytes since the start."""

    every: int = 2000
    limit: int = 256 << 20
    _count: int = 0
    _base: int = 0

    def tick(self) -> None:
        self._count += 1
        if self._count == 200:  # baseline after warm-up (imports, caches, first card)
            self._base = rss_bytes()
        elif self._base and self._count % self.every == 0:
            grown = rss_bytes() - self._base
            if grown > self.limit:
                raise InvariantViolation(f"memory grew by {grown >> 20} MiB over {self._count} inputs")
