"""The card's toolkit services: event registration (ETSI TS 102 223 §6.4.16 SET UP EVENT LIST,
§7.5 EVENT DOWNLOAD) and timers (§6.4.21 TIMER MANAGEMENT, §7.4 TIMER EXPIRATION).

Extensions declare, through :class:`Toolkit` on the card services (a port: the kernel never
imports them), the events they handle and the deadlines they keep.  After TERMINAL PROFILE the card
registers, with one SET UP EVENT LIST, every declared event the terminal can report; an event
download of an event the terminal did not acknowledge is acknowledged and ignored (§7.5: the
terminal sends only registered events; the card is lenient with those that slip through).

After every CAT command the card arms one terminal timer per deadline keeper at that keeper's
next deadline (TIMER MANAGEMENT start, when the terminal declared it and the 'D7' envelope),
unless that timer already runs for an earlier one; TIMER EXPIRATION hands control back to the
keeper, and the timer is armed again for whatever is then next.  A deadline further away than
``MAX_TIMER_SECONDS`` is armed at that maximum and re-armed when it expires.  A keeper whose
deadlines are all gone (e.g. the notification was confirmed: no retry, no rollback) has its
running timer deactivated (TIMER MANAGEMENT qualifier '01'), so the terminal does not keep a timer
nobody needs.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.cat.proactive import ProactiveCommand
from euicc.cat.terminal_profile import SET_UP_EVENT_LIST, TIMER_MANAGEMENT, TerminalProfile

if TYPE_CHECKING:
    from euicc.cat.proactive import ProactiveSession
    from euicc.volatile import Volatile

EVENT_DOWNLOAD, TIMER_EXPIRATION = 0xD6, 0xD7            # TS 102 223 §9.1 BER-TLV tags
TAG_EVENT_LIST, TAG_TIMER_ID, TAG_TIMER_VALUE = 0x19, 0x24, 0x25   # §9.3 (CR bit cleared)
TIMER_START, TIMER_DEACTIVATE = 0x00, 0x01                # §6.4.21 qualifier bits 1-2
MAX_TIMERS = 8                                            # §8.37 timer identifiers '01'-'08'
MAX_TIMER_SECONDS = 24 * 3600 - 1   # §8.38: hours, minutes, seconds; kept below a day [R]
SUCCESS_RESULTS = range(0x00, 0x10)                       # §8.12: '0X' = command performed

class CatContext(Protocol):
    """What the toolkit and the BIP layer use of a command's context (euicc.context.Context)."""

    @property
    def cat(self) -> ProactiveSession: ...

    @property
    def volatile(self) -> Volatile: ...

EventHandler = Callable[[Any, int, Mapping[int, bytes]], None]
"""(ctx, event, the envelope's COMPREHENSION-TLVs by tag without the CR bit)."""


class DeadlineKeeper(Protocol):
    """A card function with deadlines (notification retries, rollback, return from Fall-Back)."""

    def deadline(self, ctx: CatContext) -> int | None:
        """The next deadline in ms of :meth:`now_ms`'s clock; None: nothing is due."""

    def now_ms(self) -> int: ...

    def expired(self, ctx: CatContext) -> None:
        """The terminal's timer ran out: do what is due (and nothing that is not)."""


class Toolkit:
    """The ports extensions fill in: events they handle, deadlines they keep."""

    def __init__(self) -> None:
        self.event_handlers: dict[int, list[EventHandler]] = {}
        self.keepers: list[DeadlineKeeper] = []
        self.hooks: list[Callable[[CatContext], None]] = []
        self.profile_hooks: list[Callable[[CatContext], None]] = []
        self.reset_hooks: list[Callable[[CatContext], None]] = []
        self._needed: dict[int, list[Callable[[TerminalProfile], bool]]] = {}

    def on_event(self, event: int, handler: EventHandler,
                 needed: Callable[[TerminalProfile], bool] | None = None) -> None:
        """Handle `event`; registered when the terminal can report it (and `needed` says so)."""
        self.event_handlers.setdefault(event, []).append(handler)
        if needed is not None:
            self._needed.setdefault(event, []).append(needed)

    def after_profile(self, hook: Callable[[CatContext], None]) -> None:
        """Run `hook` after TERMINAL PROFILE, once the events are asked for."""
        self.profile_hooks.append(hook)

    def after(self, hook: Callable[[CatContext], None]) -> None:
        """Run `hook` after every CAT command (the BIP layer's pump)."""
        self.hooks.append(hook)

    def on_reset(self, hook: Callable[[CatContext], None]) -> None:
        """Run `hook` with the ending session's context when the card is reset or powered off
        (ISO/IEC 7816-3 §6.2.2: the terminal's session and all it held, e.g. BIP channels, end)."""
        self.reset_hooks.append(hook)

    def card_reset(self, ctx: CatContext) -> None:
        """The card's power cycle ends: the reset hooks run (:meth:`on_reset`)."""
        for hook in self.reset_hooks:
            hook(ctx)

    def keep_deadlines(self, keeper: DeadlineKeeper) -> None:
        if len(self.keepers) >= MAX_TIMERS:
            raise ValueError("no terminal timer left (TS 102 223 §8.37)")
        self.keepers.append(keeper)

    # -- after TERMINAL PROFILE --------------------------------------------------------------
    def register_events(self, ctx: CatContext) -> None:
        """SET UP EVENT LIST (§6.4.16) with the declared events the terminal can report."""
        cat = ctx.cat
        events = sorted(e for e in self.event_handlers if cat.profile.event(e)
                        and all(needed(cat.profile) for needed in self._needed.get(e, ())))
        if not events or not cat.profile.command(SET_UP_EVENT_LIST):
            return

        def acknowledged(result: bytes, _whole: bytes) -> None:
            if result[0] in SUCCESS_RESULTS:
                cat.events = frozenset(events)

        cat.submit(ProactiveCommand(SET_UP_EVENT_LIST, body=tlv.tlv(0x80 | TAG_EVENT_LIST, bytes(events)),
                                    on_result=acknowledged))

    # -- envelopes ---------------------------------------------------------------------------
    def event_download(self, ctx: CatContext, tag: int, value: bytes) -> bytes:
        """EVENT DOWNLOAD (§7.5): one event per envelope ('6A80' otherwise); unregistered: ignored."""
        objects = _objects(value)
        events = objects.get(TAG_EVENT_LIST)
        if events is None:
            return b""
        if len(events) != 1:
            raise SwError(SW.INCORRECT_DATA)
        if events[0] not in ctx.cat.events:
            return b""
        for handler in self.event_handlers.get(events[0], ()):
            handler(ctx, events[0], objects)
        return b""

    def timer_expiration(self, ctx: CatContext, tag: int, value: bytes) -> bytes:
        """TIMER EXPIRATION (§7.4): the keeper of that timer does what is due."""
        timer = _objects(value).get(TAG_TIMER_ID)
        if timer is None or len(timer) != 1:
            raise SwError(SW.INCORRECT_DATA)
        if ctx.cat.timers.pop(timer[0], None) is not None and timer[0] <= len(self.keepers):
            self.keepers[timer[0] - 1].expired(ctx)
        return b""

    # -- timers --------------------------------------------------------------------------------
    def arm_timers(self, ctx: CatContext) -> None:
        """TIMER MANAGEMENT (§6.4.21): start for each keeper whose deadline is not armed yet,
        deactivate for each keeper with a running timer and no deadline left."""
        cat = ctx.cat
        if not cat.profile.timers:
            return
        for timer, keeper in enumerate(self.keepers, start=1):
            deadline, armed = keeper.deadline(ctx), cat.timers.get(timer)
            timer_id = tlv.tlv(0x80 | TAG_TIMER_ID, bytes((timer,)))
            if deadline is None and armed is not None:
                if cat.submit(ProactiveCommand(TIMER_MANAGEMENT, TIMER_DEACTIVATE, body=timer_id)):
                    del cat.timers[timer]   # a late TIMER EXPIRATION of it is then ignored
                continue
            if deadline is None or (armed is not None and armed <= deadline):
                continue      # an earlier timer is running: its expiry arms the rest
            seconds = min(MAX_TIMER_SECONDS, max(1, math.ceil((deadline - keeper.now_ms()) / 1000)))
            body = timer_id + tlv.tlv(0x80 | TAG_TIMER_VALUE, timer_value(seconds))
            # a refused start is not asked again for the same deadline (no loop with the terminal)
            if cat.submit(ProactiveCommand(TIMER_MANAGEMENT, TIMER_START, body=body)):
                cat.timers[timer] = deadline

    def after_command(self, ctx: CatContext, ins: int) -> None:
        """Run after every CAT command: registration after TERMINAL PROFILE, the hooks, the timers."""
        if ins == 0x10:
            self.register_events(ctx)
            for hook in self.profile_hooks:
                hook(ctx)
        for hook in self.hooks:
            hook(ctx)
        self.arm_timers(ctx)


def _objects(value: bytes) -> dict[int, bytes]:
    try:
        return {t & 0x7F: v for t, v in tlv.iter_tlv(value, skip_padding=True)}
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None


def timer_value(seconds: int) -> bytes:
    """Timer value (§8.38): hours, minutes, seconds, each two semi-octets, units digit first."""
    hours, rest = divmod(seconds, 3600)
    return bytes(_semi_octets(n) for n in (hours, *divmod(rest, 60)))


def _semi_octets(n: int) -> int:
    return (n % 10) << 4 | n // 10
