"""Fixtures shared by the SGP.02 service tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def card_args() -> list[str]:
    """Extra ``euicc-emu run`` arguments of the card in ``test_smsr_service_pcsc.world`` (a test
    module overrides this fixture to start its card differently)."""
    return []
