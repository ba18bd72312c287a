"""VpcdConnection.eject: the instrument's card removal (the link closes, the card comes back later)."""
from __future__ import annotations

import time

from tests.bridge.helpers import ATR, RecordingCard


def test_eject_closes_the_link_and_reconnects_after_the_absence(vpcd, running):
    card = RecordingCard()
    conn = running(card, vpcd.port)
    vpcd.accept()
    assert vpcd.exchange(b"\x04") == ATR
    start = time.monotonic()
    conn.eject(0.4)
    assert vpcd.client.recv(1) == b""               # vpcd sees the card go: end of stream
    vpcd.drop()
    vpcd.accept()                                   # ... and come back, not before the absence
    assert time.monotonic() - start >= 0.4
    assert vpcd.exchange(b"\x04") == ATR
    assert ("power_off", b"") in card.calls
