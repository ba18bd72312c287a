"""The Fall-Back mechanism of SGP.02 v4.2 §3.18 (and the network attachment that starts the
notification sending, §3.15), driven by the terminal's location status (ETSI TS 102 223 §7.5.4
EVENT DOWNLOAD - Location status; §8.27: '00' normal service, '01' limited, '02' no service).

After ``fallback_no_service_events`` consecutive 'no service' events while an operational profile
is enabled, the eUICC enables the profile with the Fall-Back Attribute (POL1 ignored).  'Normal
service' marks the network attachment: the eUICC declaration is queued the first time, and due
notifications are sent.

Return from Fall-Back (SGP.02 v4.2; the device-side trigger is not public, SPEC_NOTES §2.7 [R]):
the SM-SR ends the Fall-Back state with ES5.EnableProfile at any time; the eUICC itself returns to
the profile the mechanism disabled at the first location status event, or the expiry of the
terminal timer armed for it (TS 102 223 §6.4.21, :mod:`euicc.m2m.events`), once
``fallback_return_after`` seconds have passed since the activation (or since the last try).  If the profile still has no network, the next 'no
service' events (or the missing confirmation) bring the Fall-Back profile back.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.m2m.notifications import NotificationQueue
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.runtime import M2mRuntime

if TYPE_CHECKING:
    from euicc.context import Context

NORMAL_SERVICE, LIMITED_SERVICE, NO_SERVICE = 0x00, 0x01, 0x02


def on_event(ctx: Context, runtime: M2mRuntime) -> None:
    """A terminal timer expired (TS 102 223 §7.4): the return from Fall-Back, rollbacks and
    notification retries that are due."""
    state = runtime.volatile(ctx)
    platform = PlatformManagement(ctx, runtime)
    check_return(platform, runtime)
    platform.tick(state.attached)


def check_return(platform: PlatformManagement, runtime: M2mRuntime) -> bool:
    """Return from Fall-Back when ``fallback_return_after`` has elapsed (None: never by itself)."""
    after = runtime.settings.fallback_return_after
    saved = platform.fallback_return_target()
    if after is None or saved is None or runtime.now_ms() - saved[1] < after * 1000:
        return False
    return platform.return_from_fallback()


def on_location_status(ctx: Context, runtime: M2mRuntime, status: int) -> None:
    state = runtime.volatile(ctx)
    platform = PlatformManagement(ctx, runtime)
    if status == NORMAL_SERVICE:
        state.attached, state.no_service_events = True, 0
        NotificationQueue(ctx, runtime).declare_if_first()
    elif status == NO_SERVICE:
        state.attached = False
        state.no_service_events += 1
        if state.no_service_events >= runtime.settings.fallback_no_service_events:
            state.no_service_events = 0
            platform.activate_fallback()
    else:
        state.attached = False
    check_return(platform, runtime)
    platform.tick(state.attached)
