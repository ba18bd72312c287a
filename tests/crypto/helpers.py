"""Small helpers shared by the crypto tests (kept out of conftest so they import cleanly)."""
from __future__ import annotations

ISD_R_AID = bytes.fromhex("a0000005591010ffffffff8900000100")


def h(text: str) -> bytes:
    return bytes.fromhex(text)
