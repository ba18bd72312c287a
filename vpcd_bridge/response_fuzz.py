"""Response fuzzing: reproducible mutations of the card's answers, to fuzz a host's APDU handlers.

Every command APDU the host sends has an index (1, 2, ... since the card process started, GET
RESPONSEs included).  For the response to command `index` the fuzzer draws from two generators
seeded with the strings ``"SEED/INDEX/rate"`` and ``"SEED/INDEX"`` (:class:`random.Random` seeds a
string through SHA-512: the same on every run and platform): the first decides whether to mutate
(probability RATE), the second which mutation and how.  So a mutation depends only on the seed, the
index and the response, and the trace line ``fuzz seed=S index=I mutator=M: ...`` is enough to
replay it (:func:`read_replay`, ``euicc-emu run --fuzz-replay TRACE``) as long as the host sends
the same commands.

Mutators (:data:`MUTATORS`) work on the whole response (data and status word, before T=0
delivery):

* status words: ``sw`` (an error or warning SW, ISO 7816-4 §5.6) and ``sw_procedure`` (``61xx``,
  ``6Cxx``, ``91xx``, ``9Fxx`` with a random count, TS 102 221 §10.2.1.1);
* lengths: ``truncate``, ``extend``, ``empty``; ``wrong_length`` (fewer or more bytes than the
  ``61xx`` announced / Le asked); ``chain`` (``61xx`` chaining where none is needed);
* BER-TLV structure of ES10 (``BFxx``), FCP/FCI (``62``/``6F``) and proactive commands (``D0``)
  (ISO 7816-4 §5.2, X.690 §8.1): ``tlv_length`` (a length that does not fit the value),
  ``tlv_long_form`` (a length in a longer form than DER allows), ``tlv_tag``, ``tlv_drop``,
  ``tlv_duplicate``, ``tlv_value`` (the enclosing lengths follow the change);
* ``bitflip`` of one data bit.
"""
from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from euicc import tlv

from . import answers as wire

#: status words a host must handle (ISO 7816-4 §5.6 Tables 5-6, TS 102 221 §10.2.1, SGP.22 §5.7.2)
ERROR_SWS = (0x6200, 0x6281, 0x6283, 0x63C0, 0x6581, 0x6700, 0x6881, 0x6982, 0x6985, 0x6A80,
             0x6A82, 0x6A84, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00, 0x9000, 0x9862)
PROCEDURE_SW1 = (0x61, 0x6C, 0x91, 0x9F)
MAX_EXTEND = 16


class ReplayError(ValueError):
    """A replay trace without any mutation line."""


@dataclass
class Node:
    """One BER-TLV data object: `children` for a constructed one whose value parses."""

    tag: bytes
    value: bytes = b""
    children: list[Node] | None = None
    length: bytes | None = None       # length octets forced by a mutation

    def content(self) -> bytes:
        return encode_tree(self.children) if self.children is not None else self.value

    def encode(self) -> bytes:
        content = self.content()
        return self.tag + (self.length if self.length is not None else tlv.encode_length(len(content))) + content


def parse_tree(data: bytes, depth: int = 0) -> list[Node] | None:
    """`data` as a list of data objects, or None when it is not BER-TLV from end to end."""
    nodes, i = [], 0
    try:
        while i < len(data):
            start = i
            _, i = tlv.read_tag(data, i)
            tag = data[start:i]
            length, i = tlv.read_length(data, i)
            if i + length > len(data):
                return None
            value = data[i:i + length]
            i += length
            children = parse_tree(value, depth + 1) if tag[0] & 0x20 and depth < tlv.MAX_DEPTH else None
            nodes.append(Node(tag, value, children))
    except tlv.TlvError:
        return None
    return nodes if nodes else None


def encode_tree(nodes: list[Node]) -> bytes:
    return b"".join(n.encode() for n in nodes)


def walk(nodes: list[Node], path: str = "") -> list[tuple[list[Node], int, str]]:
    """Every node in pre-order as (its sibling list, its index there, its tag path)."""
    out = []
    for i, node in enumerate(nodes):
        here = f"{path}/{node.tag.hex().upper()}" if path else node.tag.hex().upper()
        out.append((nodes, i, here))
        if node.children:
            out.extend(walk(node.children, here))
    return out


@dataclass(frozen=True)
class Mutation:
    """One applied mutation and the answer it makes."""

    seed: int
    index: int
    mutator: str
    detail: str
    data: bytes
    sw: int
    answers: list[bytes] | None = None      # wire answers, when the mutation is in the delivery
    announce: int | None = None             # 61xx count to announce before `answers` (T=0)

    def describe(self) -> str:
        return f"fuzz seed={self.seed} index={self.index} mutator={self.mutator}: {self.detail}"


Result = tuple[bytes, int, str] | tuple[bytes, int, str, list[bytes], int | None]
Mutator = Callable[[random.Random, bytes, int, list[Node] | None], Result]


def _sw(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    new = rng.choice([s for s in ERROR_SWS if s != sw])
    if new == 0x63C0:
        new |= rng.randrange(16)
    return data, new, f"SW {sw:04X} -> {new:04X}"


def _sw_procedure(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    new = rng.choice(PROCEDURE_SW1) << 8 | rng.randrange(256)
    return data, new, f"SW {sw:04X} -> {new:04X}"


def _truncate(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    keep = rng.randrange(len(data))
    return data[:keep], sw, f"data cut from {len(data)} to {keep} bytes"


def _extend(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    extra = rng.randbytes(rng.randint(1, MAX_EXTEND))
    return data + extra, sw, f"{len(extra)} bytes appended: {extra.hex().upper()}"


def _empty(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    return b"", sw, f"{len(data)} data bytes removed"


def _bitflip(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    bit = rng.randrange(len(data) * 8)
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out), sw, f"bit {bit % 8} of byte {bit // 8} flipped"


def _wrong_length(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    delta = rng.choice([-3, -2, -1, 1, 2, 3])
    answer = wire.resize(data, sw, delta)
    return data, sw, f"{len(data)} data bytes answered with {delta:+d}", [answer], len(data)


def _chain(rng: random.Random, data: bytes, sw: int, _tree: list[Node] | None) -> Result:
    chunk = rng.randint(1, max(1, len(data) - 1))
    pieces = wire.chain(data, sw, chunk)
    return data, sw, f"{len(data)} data bytes chained in pieces of {chunk}", pieces, None


def _pick(rng: random.Random, tree: list[Node]) -> tuple[list[Node], int, str]:
    return rng.choice(walk(tree))


def _tlv_length(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    node = siblings[i]
    true = len(node.content())
    wrong = rng.choice(sorted({0, max(true - 1, 0), true + 1, true + rng.randint(2, 64), 0x7F} - {true}))
    node.length = tlv.encode_length(wrong)
    return encode_tree(tree), sw, f"{path}: length {true} -> {wrong}"


def _tlv_long_form(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    node = siblings[i]
    true = len(node.content())
    size = rng.choice([k for k in (1, 2, 3, 4) if true < 1 << (8 * k) and len(tlv.encode_length(true)) != k + 1])
    node.length = bytes((0x80 | size,)) + true.to_bytes(size, "big")
    return encode_tree(tree), sw, f"{path}: length {true} in {size + 1} octets ({node.length.hex().upper()})"


def _tlv_tag(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    node = siblings[i]
    old = node.tag
    choices = [bytes((old[0] ^ 0x20,)) + old[1:], bytes((0x80 | rng.randrange(31),)),
               bytes((rng.randrange(256) & ~0x1F | rng.randrange(31),))]
    node.tag = rng.choice([t for t in choices if t != old])
    if node.children is not None:
        node.value, node.children = node.content(), None
    return encode_tree(tree), sw, f"{path}: tag -> {node.tag.hex().upper()}"


def _tlv_drop(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    del siblings[i]
    return encode_tree(tree), sw, f"{path}: removed"


def _tlv_duplicate(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    siblings.insert(i, copy.deepcopy(siblings[i]))
    return encode_tree(tree), sw, f"{path}: duplicated"


def _tlv_value(rng: random.Random, data: bytes, sw: int, tree: list[Node] | None) -> Result:
    tree = copy.deepcopy(tree)
    siblings, i, path = _pick(rng, tree)
    node = siblings[i]
    size = len(node.value)
    node.children, node.value = None, rng.randbytes(rng.randint(0, size + 8))
    return encode_tree(tree), sw, f"{path}: value ({size} bytes) -> {node.value.hex().upper() or 'empty'}"


ALWAYS, WITH_DATA, WITH_TLV = "always", "data", "tlv"
#: name -> (when it applies, function)
MUTATORS: dict[str, tuple[str, Mutator]] = {
    "sw": (ALWAYS, _sw), "sw_procedure": (ALWAYS, _sw_procedure),
    "truncate": (WITH_DATA, _truncate), "extend": (ALWAYS, _extend), "empty": (WITH_DATA, _empty),
    "bitflip": (WITH_DATA, _bitflip), "wrong_length": (WITH_DATA, _wrong_length), "chain": (WITH_DATA, _chain),
    "tlv_length": (WITH_TLV, _tlv_length), "tlv_long_form": (WITH_TLV, _tlv_long_form),
    "tlv_tag": (WITH_TLV, _tlv_tag), "tlv_drop": (WITH_TLV, _tlv_drop),
    "tlv_duplicate": (WITH_TLV, _tlv_duplicate), "tlv_value": (WITH_TLV, _tlv_value),
}


def apply(name: str, rng: random.Random, data: bytes, sw: int) -> Result:
    """Run mutator `name` (it must apply to this response)."""
    return MUTATORS[name][1](rng, data, sw, parse_tree(data) if data else None)


def applicable(data: bytes) -> list[str]:
    tree_ok = bool(data) and parse_tree(data) is not None
    return [name for name, (when, _) in MUTATORS.items()
            if when == ALWAYS or (when == WITH_DATA and data) or (when == WITH_TLV and tree_ok)]


@dataclass
class ResponseFuzzer:
    """Decides and makes the mutation of each response (module docstring)."""

    seed: int
    rate: float
    replay: dict[int, tuple[int, str]] | None = None     # index -> (seed, mutator) to reproduce
    applied: int = field(default=0)

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not isinstance(self.rate, (int, float)) or not 0 <= self.rate <= 1:
            raise ValueError(f"rate: expected a number in 0..1, got {self.rate!r}")

    @classmethod
    def replaying(cls, entries: dict[int, tuple[int, str]]) -> ResponseFuzzer:
        return cls(seed=0, rate=0.0, replay=dict(entries))

    def describe(self) -> dict[str, object]:
        if self.replay is not None:
            return {"replay": len(self.replay), "applied": self.applied}
        return {"seed": self.seed, "rate": self.rate, "applied": self.applied}

    def mutate(self, index: int, _cmd: object, data: bytes, sw: int) -> Mutation | None:
        if self.replay is not None:
            if index not in self.replay:
                return None
            seed, expected = self.replay[index]
        else:
            if self.rate <= 0 or random.Random(f"{self.seed}/{index}/rate").random() >= self.rate:
                return None
            seed, expected = self.seed, None
        rng = random.Random(f"{seed}/{index}")
        name = rng.choice(applicable(data))
        result = apply(name, rng, data, sw)
        detail = result[2]
        if expected is not None and expected != name:
            detail += f" (replay expected {expected}: the response differs from the recorded run)"
        self.applied += 1
        if len(result) == 5:
            return Mutation(seed, index, name, detail, data, sw, answers=result[3], announce=result[4])
        return Mutation(seed, index, name, detail, result[0], result[1])


LINE = re.compile(r"\[(\d+)\] !! fuzz seed=(\d+) index=(\d+) mutator=(\w+):")


def read_replay(path: Path) -> dict[int, dict[int, tuple[int, str]]]:
    """The mutations recorded in an APDU trace: slot -> index -> (seed, mutator)."""
    out: dict[int, dict[int, tuple[int, str]]] = {}
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            m = LINE.search(line)
            if m:
                out.setdefault(int(m[1]), {})[int(m[3])] = (int(m[2]), m[4])
    if not out:
        raise ReplayError("no 'fuzz seed=... index=...' line in it")
    return out
