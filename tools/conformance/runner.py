"""The run loop: load the case modules (:mod:`tools.conformance.model` registers them), select
and run them, each from a cold reset, to one verdict.
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable

from tools.conformance.model import REGISTRY, SUITES, Case, CaseResult, Fail, Inconclusive, Verdict


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
