"""Fixtures of the in-process SGP.02 host tests: a card with an M2M identity and the test world
(terminal, SM-SR, SM-DP) of tests/m2m_host/m2m_world.py driving it through Card.transmit."""
from __future__ import annotations

import pytest

from euicc.composition import open_card
from tests.m2m_host.m2m_world import Pki, World, connect, personalise


@pytest.fixture(autouse=True)
def counter_ledger(tmp_path, monkeypatch):
    """Each test's own SCP80 counter ledger (tools/smsr/eis_file.py), never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    return tmp_path / "xdg-state" / "euicc-emu" / "scp80-counters.json"


@pytest.fixture
def card_world():
    """(card, world): a new in-memory card personalised with a fresh PKI, and the world on it."""
    pki = Pki.create()
    card = open_card(None)
    personalise(card.store, pki)
    yield card, connect(card.transmit, card.reset, pki)
    card.close()


@pytest.fixture
def world(card_world) -> World:
    """The world of :func:`card_world`, for tests that download the TS.48 profile."""
    return card_world[1]
