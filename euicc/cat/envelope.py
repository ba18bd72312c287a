"""ENVELOPE: ETSI TS 102 221 §11.2.2 and TS 102 223 §7 (data download and event download).

The BER-TLV tag of the envelope picks the handler: 'D1' SMS-PP data download, 'D6' event
download, ...  Handlers are registered with the card services; an event the card did not ask for
is acknowledged and ignored, an unsupported download is refused.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, Command, SwError, check_header

if TYPE_CHECKING:
    from euicc.context import Context, EnvelopeHandler

SMS_PP_DOWNLOAD = 0xD1
EVENT_DOWNLOAD = 0xD6


def envelope(ctx: Context, cmd: Command, handlers: Mapping[int, EnvelopeHandler]) -> bytes:
    """Process ENVELOPE; the response data (e.g. a Proof of Receipt) comes from the handler."""
    check_header(cmd, data=True)
    try:
        tag, value = tlv.iter_tlv(cmd.data).__next__()
        tlv.unwrap(cmd.data, tag)
    except (tlv.TlvError, StopIteration):
        raise SwError(SW.INCORRECT_DATA) from None
    handler = handlers.get(tag)
    if handler is None:
        if tag == EVENT_DOWNLOAD:
            return b""
        raise SwError(SW.INCORRECT_DATA)
    return handler(ctx, tag, value)
