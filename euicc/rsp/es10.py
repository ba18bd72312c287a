"""ES10a/b/c dispatch: SGP.22 v2.5 §5.7 (functions), §5.7.2 (transport over STORE DATA).

The ISD-R hands every complete ES10 command (the DER of one request, or one segment of a bound
profile package) to :func:`dispatch`, which routes it by its tag.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.rsp import bpp, device_change, es10a, es10b, es10c, notifications, rat, rpm, trust

if TYPE_CHECKING:
    from euicc.context import Context

Es10Function = Callable[["Context", bytes], bytes]   # (ctx, whole request DER) -> response DER

#: ES10 functions by the tag of their request.  Each module of ES10 functions exports a
#: ``FUNCTIONS`` mapping and is listed here.  Tags not listed (e.g. SGP.32 GetCerts 'BF56', which
#: pySim probes first) are refused with '6A88', so pySim classifies the card as SGP.22.
FUNCTIONS: dict[int, Es10Function] = {
    **es10a.FUNCTIONS, **es10b.FUNCTIONS, **es10c.FUNCTIONS, **notifications.FUNCTIONS,
    **rat.FUNCTIONS, **bpp.FUNCTIONS, **rpm.FUNCTIONS, **trust.FUNCTIONS, **device_change.FUNCTIONS,
}

#: Functions a card may leave out (``CardConfig.disabled``, vendor quirk profiles): a function that
#: is off answers like a tag this card does not know.
OPTIONAL_FUNCTIONS = {0xBF43: "get_rat", 0xBF34: "euicc_memory_reset", 0xBF35: "load_crl",
                      0xBF3F: "set_default_dp_address"}


def dispatch(ctx: Context, data: bytes) -> bytes:
    """Route one ES10 command by its tag; unknown or disabled functions are refused with '6A88'."""
    try:
        tag, _ = tlv.read_tag(data, 0)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    function = FUNCTIONS.get(tag)
    if function is None or OPTIONAL_FUNCTIONS.get(tag) in ctx.config.disabled:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    return function(ctx, data)
