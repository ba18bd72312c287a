"""Fixtures for the ES10 tests: a card carrying the SGP.26 test eUICC identity, and its LPA."""
from __future__ import annotations

import pytest

from euicc.composition import open_card
from euicc.rsp.identity import import_identity
from tests.rsp.helpers import SGP26, Lpa


@pytest.fixture(scope="session")
def sgp26():
    """The published SGP.26 test PKI (tests/vectors/data/sgp26)."""
    return SGP26


@pytest.fixture
def card(sgp26):
    c = open_card(None)
    import_identity(c.store, sgp26)
    yield c
    c.close()


@pytest.fixture
def lpa(card) -> Lpa:
    lpa = Lpa(card)
    lpa.select_isd_r()
    return lpa
