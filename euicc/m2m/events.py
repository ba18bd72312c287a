"""EVENT DOWNLOAD ENVELOPE ('D6'), ETSI TS 102 223 §7.5: the events the SGP.02 card side uses.

'19' event list (one event), '02' device identities, and for the location status event ('03',
§7.5.4) the '1B' location status.  Every other event (or none) is acknowledged; malformed BER-TLV,
a list of several events or a location status event without its status is '6A80'.  Each event
also runs the return-from-Fall-Back, notification and rollback timers (:mod:`euicc.m2m.fallback`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.m2m.fallback import on_event, on_location_status
from euicc.m2m.runtime import M2mRuntime

if TYPE_CHECKING:
    from euicc.context import Context

EVENT_LOCATION_STATUS = 0x03
TAG_EVENT_LIST, TAG_LOCATION_STATUS = 0x19, 0x1B


class EventDownload:
    """The 'D6' envelope handler (registered by :class:`euicc.m2m.extension.M2mExtension`)."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime

    def __call__(self, ctx: Context, tag: int, value: bytes) -> bytes:
        try:
            objects = {t & 0x7F: v for t, v in tlv.iter_tlv(value, skip_padding=True)}
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        events = objects.get(TAG_EVENT_LIST)
        if events is not None and len(events) != 1:
            raise SwError(SW.INCORRECT_DATA)
        if events == bytes((EVENT_LOCATION_STATUS,)):
            status = objects.get(TAG_LOCATION_STATUS)
            if status is None or len(status) != 1:
                raise SwError(SW.INCORRECT_DATA)
            on_location_status(ctx, self.runtime, status[0])
        else:
            on_event(ctx, self.runtime)
        return b""
