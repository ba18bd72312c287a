"""Suite-wide fixtures.

The unit tests know every file of the small hand-built profile (euicc.fs.default_fs), so a card
they create without saying otherwise carries that one ("minimal"); tests of the real
out-of-the-box card ask for ``first_profile="test"`` (tests/profiles/test_default_card.py).
Subprocesses get the same default through ``euicc-emu run --first-profile`` or their own call.

The session summary counts the tests skipped because the reference data folder is absent
(tests/reference.py), by the data they needed.
"""
from collections import Counter

import pytest

from euicc import provisioning
from tests.reference import SKIP_PREFIX

pytest_plugins = ["tests.pcsc_fixtures"]


@pytest.fixture(autouse=True, scope="session")
def minimal_first_profile():
    patch = pytest.MonkeyPatch()
    patch.setattr(provisioning, "DEFAULT_FIRST_PROFILE", "minimal")
    yield
    patch.undo()


def pytest_terminal_summary(terminalreporter):
    """'reference data absent: N tests skipped (what: n, ...)' when any test skipped for it."""
    missing = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _, found, rest = reason.partition(f"{SKIP_PREFIX}: ")
        if found:
            missing[rest.split(" (", 1)[0]] += 1
    if missing:
        detail = ", ".join(f"{what}: {n}" for what, n in sorted(missing.items()))
        terminalreporter.write_line(f"{SKIP_PREFIX}: {sum(missing.values())} tests skipped ({detail})",
                                    yellow=True)


# Tests that exercise one extension of the card (euicc.composition): with EUICC_EXTENSIONS naming
# only the other, they are skipped with the reason shown (tests.extensions), never silently.
# (path prefix, test-name prefix or "", extensions needed); the first matching rule applies.
EXTENSION_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tests/core/test_kernel.py", "test_the_rsp_runtime", ("rsp",)),
    ("tests/core/test_state_file.py", "test_bad_state_file_is_refused[eUICC credentials", ("rsp",)),
    ("tests/instrument/test_faults.py", "test_wrong_length_case2_and_case4", ("rsp",)),
    ("tests/instrument/test_faults.py", "test_power_cut_during_a_write", ("rsp",)),
    ("tests/instrument/test_faults.py", "test_es10_rule", ("rsp",)),
    ("tests/modem/test_modem_pty.py", "test_ccho_isd_r_and_get_eid", ("rsp",)),
    ("tests/quirks/test_behaviour.py", "", ("rsp",)),
    ("tests/robustness/test_state_machine_rsp.py", "", ("rsp",)),
    ("tests/robustness/test_refusals_rsp.py", "test_es5", ("m2m",)),
    ("tests/robustness/test_fuzz_smoke.py", "", ("rsp", "m2m")),
    ("tests/robustness/test_state_machine_mixed.py", "", ("rsp", "m2m")),
    ("tests/robustness/test_refusals_rsp.py", "", ("rsp",)),
    ("tests/robustness/test_power_loss_rsp.py", "", ("rsp",)),
    ("tests/robustness/test_refusals_m2m.py", "", ("m2m",)),
    ("tests/robustness/test_power_loss_m2m.py", "", ("m2m",)),
    ("tests/robustness/test_state_machine_m2m.py", "", ("m2m",)),
    ("tests/m2m/", "", ("m2m",)),
    ("tests/m2m_host/", "", ("m2m",)),
    ("tests/m2m_services/", "", ("m2m",)),
    ("tests/rsp/", "", ("rsp",)),
    ("tests/rsp_host/", "", ("rsp",)),
    ("tests/conformance/", "", ("rsp", "m2m")),
)


def pytest_collection_modifyitems(config, items):
    from tests.extensions import requires
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        for prefix, name, needed in EXTENSION_RULES:
            if path.startswith(prefix) and item.name.startswith(name):
                item.add_marker(requires(*needed))
                break
