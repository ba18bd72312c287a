"""Typed volatile records of the card's extensions, each class stating how long it lives.

Nothing here is persisted: a reset forgets it all (ISO 7816-3 §6.2.2).  A power-cycle record lives
in ``ctx.volatile``, a channel record in ``ctx.channel.volatile`` (gone when the channel is
closed, ISO 7816-4 §5.1.3); a selection's state is the channel's ``applet_state``.
"""
from __future__ import annotations

import enum
from typing import ClassVar, TypeVar


class Lifetime(enum.Enum):
    """How long a volatile record lives (ISO 7816-3 §6.2.2, ISO 7816-4 §5.1.3)."""

    POWER_CYCLE = "power cycle"    # until the card is reset or powered off
    CHANNEL = "channel"            # until its logical channel is closed (or the card reset)


class VolatileState:
    """Base of an extension's typed volatile record; `LIFETIME` says which container holds it."""

    LIFETIME: ClassVar[Lifetime] = Lifetime.POWER_CYCLE


S = TypeVar("S", bound=VolatileState)


class Volatile:
    """Volatile records of one lifetime, one per class (never persisted)."""

    def __init__(self, lifetime: Lifetime) -> None:
        self.lifetime = lifetime
        self._records: dict[type, VolatileState] = {}

    def get(self, cls: type[S]) -> S | None:
        return self._records.get(cls)   # type: ignore[return-value]

    def put(self, record: S) -> S:
        if type(record).LIFETIME is not self.lifetime:
            raise TypeError(f"{type(record).__name__} lives for a {type(record).LIFETIME.value}, "
                            f"not a {self.lifetime.value}")
        self._records[type(record)] = record
        return record

    def pop(self, cls: type[S]) -> S | None:
        return self._records.pop(cls, None)   # type: ignore[return-value]
