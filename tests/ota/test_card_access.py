"""The card access of BIP engines (euicc/ota/card_access.py): all or nothing, also inside the
command's own store transaction (every APDU runs in one, euicc/session.py), where a nested
transaction that failed would leave its writes for the command to commit.  Regression: an SCP81
script or a CAT_TP Command Packet refused half-way over real BIP kept what it had written (the
packet's counter included)."""
from __future__ import annotations

from contextlib import nullcontext

import pytest

from euicc.composition import open_card
from euicc.context import Context
from euicc.ota.card_access import CommandAccess

KEY = "m2m/declared"          # any key of the card's state layout


@pytest.fixture
def ctx():
    card = open_card(None)
    card.power_on()
    yield Context(card.session, card.session.channels[0])
    card.close()


def write_then_fail(ctx) -> None:
    ctx.store.put(KEY, True)
    raise ValueError("refused half-way")


@pytest.mark.parametrize("in_command", [True, False], ids=["inside-a-command", "alone"])
def test_failed_work_keeps_nothing(ctx, in_command):
    ctx.store.put(KEY, False)
    access = CommandAccess(ctx)
    with ctx.store.transaction() if in_command else nullcontext():
        with pytest.raises(ValueError):
            access(write_then_fail)
    assert ctx.store.get(KEY) is False


def test_finished_work_is_kept_and_answered(ctx):
    ctx.store.put(KEY, False)
    with ctx.store.transaction():
        assert CommandAccess(ctx)(lambda c: c.store.put(KEY, True) or "done") == "done"
    assert ctx.store.get(KEY) is True

