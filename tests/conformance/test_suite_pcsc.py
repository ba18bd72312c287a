"""The conformance rehearsal against the project's own card through pcscd + vpcd (``euicc-emu run``
with the default test profile and a short SGP.02 rollback period, which the card description file
then gives): every case PASS except the known findings below (cases where the card today answers
something the specification forbids; each entry says what, so the list shrinks as the card is
fixed), the run time reported, the JUnit XML parsed back, and the mutation check: for every case,
its declared wrong answer turns it FAIL, and the same case run again without the mutation PASSes (so the FAIL came from the mutation, not from a card left in a bad state)."""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.pcsc_host import CardProcess, reader_name
from tools.conformance import description, report_html, report_junit, runner
from tools.conformance.environment import Environment
from tools.conformance.mutation import MutatingTransport
from tools.conformance.model import Verdict
from tools.conformance.session import Session
from tools.conformance.transport import PcscTransport

pytestmark = pytest.mark.pcsc

CONSUMER_BUDGET = 120.0   # seconds (the target for the consumer suite)
KNOWN_FINDINGS: dict[str, str] = {}   # case id -> why the project's card fails it (none today)
KNOWN_INCONCLUSIVE = {
    "TC_eUICC_ES8+.StoreMetadata#E02": "the default RAT allows PPR1 and PPR2 for every operator: no PPR to refuse",
}
VALIDITY_PERIOD = 5.0     # seconds: the card's SGP.02 rollback period here, so TC_eUICC_ES5.Rollback#01 runs


@pytest.fixture(scope="module")
def card(pcscd, tmp_path_factory):
    """One `euicc-emu run` with the default test profile for the module (cases restore the card)."""
    tmp = tmp_path_factory.mktemp("conformance")
    proc = CardProcess(tmp / "card.state", pcscd, tmp / "card.log", first_profile="test",
                       extra=["--m2m-validity-period", str(VALIDITY_PERIOD)])
    proc.wait_ready()
    transport = PcscTransport(reader_name(pcscd))
    card_file = tmp / "card.json"      # the default description, with the period this card was started with
    card_file.write_text(json.dumps({**json.loads(description.DEFAULT_CARD.read_text()), "name": "euicc-emu (CI)",
                                     "m2m_validity_period": VALIDITY_PERIOD}))
    env = Environment(description.load(card_file), tmp)
    yield transport, env, tmp
    env.close()
    transport.close()
    proc.stop()


def run(transport, env, cases):
    return runner.run_all(cases, lambda c: Session(c, transport, env.description, env))


@pytest.fixture(scope="module")
def consumer(card):
    transport, env, tmp = card
    start = time.monotonic()
    results = run(transport, env, runner.select(["consumer"]))
    return results, time.monotonic() - start, tmp


@pytest.fixture(scope="module")
def m2m(card, consumer):
    transport, env, _ = card
    start = time.monotonic()
    results = run(transport, env, runner.select(["m2m"]))
    return results, time.monotonic() - start


def check_verdicts(results) -> None:
    verdicts = {r.case.id: (r.verdict, r.reason) for r in results}
    unexpected = {i: v for i, v in verdicts.items() if v[0] != Verdict.PASS and i not in KNOWN_FINDINGS
                  and not (i in KNOWN_INCONCLUSIVE and v[0] == Verdict.INCONCLUSIVE)}
    assert not unexpected
    fixed = [i for i in KNOWN_FINDINGS if i in verdicts and verdicts[i][0] == Verdict.PASS]
    assert not fixed, f"fixed on the card: remove {fixed} from KNOWN_FINDINGS"


def test_consumer_suite_passes_on_the_project_card(consumer, capsys):
    results, elapsed, _ = consumer
    with capsys.disabled():
        print(f"\nconsumer suite: {len(results)} cases through pcscd + vpcd in {elapsed:.1f} s")
    check_verdicts(results)
    assert elapsed < CONSUMER_BUDGET


def test_m2m_suite_passes_on_the_project_card(m2m, capsys):
    results, elapsed = m2m
    with capsys.disabled():
        print(f"\nM2M suite: {len(results)} cases through pcscd + vpcd in {elapsed:.2f} s")
    check_verdicts(results)


def test_reports_of_the_run(consumer, tmp_path):
    results, _, _ = consumer
    report_junit.write(results, tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert sorted(names) == sorted(r.case.id for r in results)
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {r.case.id for r in results if r.verdict == Verdict.FAIL}
    out = next(c for c in root.iter("testcase") if c.get("name") == "TC_eUICC_ES10c.GetEID#01").find("system-out").text
    assert ">> 81E2910006BF3E035C015A00" in out          # the ES10c.GetEID STORE DATA, logged
    page = report_html.render(results, "euicc-emu", "vpcd")
    assert page.count("<details") == len(results)


def test_every_case_can_fail(card, consumer, m2m):
    """Item 3 of the issue: a mutation per case turns it FAIL; the unmutated rerun PASSes."""
    transport, env, _ = card
    passing = [r.case for r in consumer[0] + m2m[0] if r.verdict == Verdict.PASS]
    assert len(passing) >= 80
    problems = []
    for case in passing:
        mutant = MutatingTransport(transport, case.mutation)
        got = runner.run_case(case, lambda c: Session(c, mutant, env.description, env))
        again = runner.run_case(case, lambda c: Session(c, transport, env.description, env))
        if got.verdict != Verdict.FAIL or mutant.hits == 0 or again.verdict != Verdict.PASS:
            problems.append((case.id, case.mutation.description, got.verdict.value, mutant.hits, again.verdict.value,
                             got.reason, again.reason))
    assert not problems, "\n".join(map(repr, problems))
