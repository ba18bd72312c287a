"""The case registry, verdicts and the run loop.

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

import time
import traceback
from collections.abc import Callable, Iterable
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


def load_cases() -> dict[str, Case]:
    """Import every case module (registration happens at import) and return the registry."""
    from tools.conformance import download, es10b, es10c, gp, m2m, m2m_profiles, usim  # noqa: F401

    return REGISTRY


def select(suites: Iterable[str] = (), ids: Iterable[str] = ()) -> list[Case]:
    """The cases of ``suites`` (all when empty), or exactly ``ids``, in registration order."""
    cases = load_cases()
    ids = list(ids)
    unknown = [i for i in ids if i not in cases]
    if unknown:
        raise KeyError(f"unknown case id(s): {', '.join(unknown)}")
    if ids:
        return [cases[i] for i in ids]
    wanted = set(suites) or set(SUITES)
    return [c for c in cases.values() if c.suite in wanted]


def run_case(c: Case, session_factory: Callable[[Case], object]) -> CaseResult:
    """Run one case from a cold reset; any exception of the card link or of decoding the card's
    answers is the card's FAIL, with its reason."""
    from tools.conformance.session import Session
    from tools.conformance.transport import TransportError

    start = time.monotonic()
    session: Session = session_factory(c)  # type: ignore[assignment]
    try:
        session.begin()
        c.run(session)
        verdict, reason = Verdict.PASS, session.summary or "as specified"
    except Inconclusive as exc:
        verdict, reason = Verdict.INCONCLUSIVE, f"precondition not met: {exc}"
    except Fail as exc:
        verdict, reason = Verdict.FAIL, str(exc)
    except TransportError as exc:
        verdict, reason = Verdict.FAIL, f"card link: {exc}"
    except Exception as exc:  # noqa: BLE001 - an answer the case could not process is the card's FAIL
        verdict, reason = Verdict.FAIL, f"unexpected answer ({type(exc).__name__}: {exc})"
        session.note("".join(traceback.format_exception(exc)).strip())
    finally:
        session.end()
    return CaseResult(c, verdict, reason, session.steps, time.monotonic() - start)


def run_all(cases: list[Case], session_factory: Callable[[Case], object],
            progress: Callable[[CaseResult], None] = lambda r: None) -> list[CaseResult]:
    results = []
    for c in cases:
        result = run_case(c, session_factory)
        progress(result)
        results.append(result)
    return results
