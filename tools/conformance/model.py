"""The case registry and verdicts (the model the case modules and the runner share).

A case is a function ``f(session)`` registered with :func:`case`; it records its steps and their
APDUs in the :class:`~tools.conformance.session.Session` and ends in one verdict:

* ``PASS``: every answer of the card was one the specification allows;
* ``FAIL``: the card answered something the specification forbids (:class:`Fail`, raised by
  ``session.check``/``expect_sw``, or an answer the runner cannot decode);
* ``INCONCLUSIVE``: a precondition is not met (:class:`Inconclusive`, raised by
  ``session.require``), e.g. no profile to delete, or the card does not trust the test CI.

Each case declares, next to its definition, a :class:`Mutation`: a wrong card answer that must
turn it FAIL (the mutation check of tests/conformance proves that every case can fail).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"


class Verdict(str, Enum):
    PASS = PASS
    FAIL = FAIL
    INCONCLUSIVE = INCONCLUSIVE


class Fail(Exception):
    """The card answered something the specification forbids."""


class Inconclusive(Exception):
    """A precondition of the case is not met."""


@dataclass(frozen=True)
class Mutation:
    """A deliberately wrong card answer: every command for which ``matches(apdu)`` is true gets
    ``corrupt(data, sw)`` instead of the card's (data, sw)."""

    description: str
    matches: Callable[[bytes], bool]
    corrupt: Callable[[bytes, int], tuple[bytes, int]]


@dataclass(frozen=True)
class Case:
    """One test case, named like the GSMA test specification it rehearses."""

    id: str
    suite: str             # "consumer" (SGP.23) or "m2m" (SGP.11)
    group: str             # e.g. "ES10c", "GP", "USIM"
    title: str
    clause: str            # the clause of the function's specification it exercises
    run: Callable
    mutation: Mutation
    restores: str = ""     # how a state-changing case restores the card ("" = reads only)


@dataclass
class Exchange:
    command: bytes
    response: bytes


@dataclass
class Step:
    title: str
    exchanges: list[Exchange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    case: Case
    verdict: Verdict
    reason: str
    steps: list[Step]
    seconds: float


REGISTRY: dict[str, Case] = {}
SUITES = ("consumer", "m2m")


def case(id: str, *, suite: str = "consumer", group: str, title: str, clause: str, mutation: Mutation,
         restores: str = "") -> Callable[[Callable], Callable]:
    """Register the decorated function as test case ``id``."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite}")

    def register(func: Callable) -> Callable:
        if id in REGISTRY:
            raise ValueError(f"duplicate case id {id}")
        REGISTRY[id] = Case(id, suite, group, title, clause, func, mutation, restores)
        return func

    return register
