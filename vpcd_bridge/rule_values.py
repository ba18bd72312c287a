"""What a fault rule's fields may hold, and the error a rule that cannot be used raises (shared by
:mod:`vpcd_bridge.faults` and :mod:`vpcd_bridge.es10_errors`)."""
from __future__ import annotations

from typing import Any


class RuleError(ValueError):
    """A rule that cannot be used (unknown field, bad hex, missing parameter)."""


def hex_bytes(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise RuleError(f"{what}: expected a hex string, got {value!r}")
    try:
        raw = bytes.fromhex(value.replace(" ", ""))
    except ValueError:
        raise RuleError(f"{what}: not hex: {value!r}") from None
    if size is not None and len(raw) != size:
        raise RuleError(f"{what}: expected {size} byte(s), got {len(raw)}")
    return raw
