"""Suite-wide fixtures.

The unit tests know every file of the small hand-built profile (euicc.fs.default_fs), so a card
they create without saying otherwise carries that one ("minimal"); tests of the real
out-of-the-box card ask for ``first_profile="test"`` (tests/profiles/test_default_card.py).
Subprocesses get the same default through ``euicc-emu run --first-profile`` or their own call.
"""
import pytest

from euicc import provisioning

pytest_plugins = ["tests.pcsc_fixtures"]


@pytest.fixture(autouse=True, scope="session")
def minimal_first_profile():
    patch = pytest.MonkeyPatch()
    patch.setattr(provisioning, "DEFAULT_FIRST_PROFILE", "minimal")
    yield
    patch.undo()
