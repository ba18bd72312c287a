"""The SGP.02 card side's toolkit needs (ETSI TS 102 223): the location status event (§7.5.4) it
registers with SET UP EVENT LIST, and the deadlines it keeps with the terminal's timers (§6.4.21).

Location status: '1B' location status (§8.27) is required ('6A80' without it).  The deadlines are
the retry of unconfirmed notifications (while attached), the rollback of an unconfirmed switch
and the return from Fall-Back (:mod:`euicc.m2m.fallback`); when the terminal's timer for them
expires, the same checks run as after an event.

A terminal that cannot report location status but declares PROVIDE LOCAL INFORMATION (§6.4.15)
is asked for the location information after TERMINAL PROFILE and every
``location_poll_interval`` (a timer deadline): result '00' is normal service, '20' with
additional information '04' ("no service", §8.12.2) is no service, as the event would say.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.cat.proactive import DEV_TERMINAL, ProactiveCommand
from euicc.cat.terminal_profile import PROVIDE_LOCAL_INFORMATION, SEND_SHORT_MESSAGE
from euicc.m2m.fallback import NO_SERVICE, NORMAL_SERVICE, on_event, on_location_status
from euicc.m2m.notifications import NotificationQueue
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.runtime import M2mRuntime

if TYPE_CHECKING:
    from euicc.context import Context

EVENT_LOCATION_STATUS = 0x03
TAG_LOCATION_STATUS = 0x1B
PLI_LOCATION = 0x00                       # §6.4.15 qualifier: location information
RESULT_OK, RESULT_TERMINAL_UNABLE, INFO_NO_SERVICE = 0x00, 0x20, 0x04   # §8.12, §8.12.2


class LocationStatus:
    """EVENT DOWNLOAD - Location status handler (registered with the card's toolkit)."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime

    def __call__(self, ctx: Context, event: int, objects: Mapping[int, bytes]) -> None:
        status = objects.get(TAG_LOCATION_STATUS)
        if status is None or len(status) != 1:
            raise SwError(SW.INCORRECT_DATA)
        on_location_status(ctx, self.runtime, status[0])


class M2mDeadlines:
    """The SGP.02 timers: notification retry, rollback (``validity_period``), Fall-Back return."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime

    def now_ms(self) -> int:
        return self.runtime.now_ms()

    def deadline(self, ctx: Context) -> int | None:
        settings, attached = self.runtime.settings, self.runtime.volatile(ctx).attached
        sends = attached and ctx.cat.profile.command(SEND_SHORT_MESSAGE)   # a retry can go out
        due: list[int] = []
        for item in NotificationQueue(ctx, self.runtime).pending():
            if item.rollback_to:
                due.append(item.created + int(settings.validity_period * 1000))
            if sends and item.sends < settings.notification_max_sends:
                due.append(max(item.last_sent, 0) + int(settings.notification_retry_interval * 1000)
                           if item.last_sent >= 0 else self.now_ms())
        saved = PlatformManagement(ctx, self.runtime).fallback_return_target()
        if saved is not None and settings.fallback_return_after is not None:
            due.append(saved[1] + int(settings.fallback_return_after * 1000))
        polled = self.runtime.volatile(ctx).location_polled
        if polls_location(ctx) and polled >= 0:
            due.append(polled + int(settings.location_poll_interval * 1000))
        return min(due) if due else None

    def expired(self, ctx: Context) -> None:
        on_event(ctx, self.runtime)
        state = self.runtime.volatile(ctx)
        if (polls_location(ctx) and state.location_polled >= 0
                and self.now_ms() - state.location_polled >= self.runtime.settings.location_poll_interval * 1000):
            poll_location(ctx, self.runtime)


def polls_location(ctx: Context) -> bool:
    """The terminal cannot report location status (TERMINAL PROFILE) but can be asked (§6.4.15)."""
    profile = ctx.cat.profile
    return not profile.event(EVENT_LOCATION_STATUS) and profile.command(PROVIDE_LOCAL_INFORMATION)


def poll_location(ctx: Context, runtime: M2mRuntime) -> None:
    """PROVIDE LOCAL INFORMATION (location information); its answer acts as a location status."""
    if not polls_location(ctx):
        return

    def answered(result: bytes, _whole: bytes) -> None:
        if result[0] == RESULT_OK:
            on_location_status(ctx, runtime, NORMAL_SERVICE)
        elif result[0] == RESULT_TERMINAL_UNABLE and result[1:2] == bytes((INFO_NO_SERVICE,)):
            on_location_status(ctx, runtime, NO_SERVICE)

    if ctx.cat.submit(ProactiveCommand(PROVIDE_LOCAL_INFORMATION, PLI_LOCATION, DEV_TERMINAL, b"", answered)):
        runtime.volatile(ctx).location_polled = runtime.now_ms()
