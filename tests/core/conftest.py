"""Fixtures for the card OS core tests: a fresh card (T=0 or direct delivery) and a terminal."""
from __future__ import annotations

import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from tests.core.helpers import Terminal


@pytest.fixture
def card():
    """A new in-memory card with T=0 response delivery (the default configuration)."""
    c = open_card(None)
    yield c
    c.close()


@pytest.fixture
def term(card) -> Terminal:
    return Terminal(card)


@pytest.fixture
def direct_card():
    """A new in-memory card delivering response data with the command (T=1 use)."""
    c = open_card(None, CardConfig(t0=False))
    yield c
    c.close()


@pytest.fixture
def dterm(direct_card) -> Terminal:
    return Terminal(direct_card)
