"""The SGP.02 card side's toolkit needs (ETSI TS 102 223): the location status event (§7.5.4) it
registers with SET UP EVENT LIST, and the deadlines it keeps with the terminal's timers (§6.4.21).

Location status: '1B' location status (§8.27) is required ('6A80' without it).  The deadlines are
the retry of unconfirmed notifications (while attached), the rollback of an unconfirmed switch
and the return from Fall-Back (:mod:`euicc.m2m.fallback`); when the terminal's timer for them
expires, the same checks run as after an event.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.m2m.fallback import on_event, on_location_status
from euicc.m2m.notifications import NotificationQueue
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.runtime import M2mRuntime

if TYPE_CHECKING:
    from euicc.context import Context

EVENT_LOCATION_STATUS = 0x03
TAG_LOCATION_STATUS = 0x1B


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
        due: list[int] = []
        for item in NotificationQueue(ctx, self.runtime).pending():
            if item.rollback_to:
                due.append(item.created + int(settings.validity_period * 1000))
            if attached and item.sends < settings.notification_max_sends:
                due.append(max(item.last_sent, 0) + int(settings.notification_retry_interval * 1000)
                           if item.last_sent >= 0 else self.now_ms())
        saved = PlatformManagement(ctx, self.runtime).fallback_return_target()
        if saved is not None and settings.fallback_return_after is not None:
            due.append(saved[1] + int(settings.fallback_return_after * 1000))
        return min(due) if due else None

    def expired(self, ctx: Context) -> None:
        on_event(ctx, self.runtime)
