"""ES10a (LPA -> ISD-R, addresses): SGP.22 v2.5 §5.7.3 GetEuiccConfiguredAddresses and §5.7.4
SetDefaultDpAddress.

The Root SM-DS address is set at manufacture (:data:`DEFAULT_ROOT_DS_ADDRESS`, a setting; the
GSMA root SM-DS); the default SM-DP+ address is absent until the LPA sets one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.rsp import der
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context

DEFAULT_ROOT_DS_ADDRESS = "lpa.ds.gsma.com"


def get_euicc_configured_addresses(ctx: Context, data: bytes) -> bytes:
    """BF3C: defaultDpAddress (if set) and rootDsAddress."""
    der.decode("EuiccConfiguredAddressesRequest", data)
    value = {"rootDsAddress": ctx.store.get(rsp_keys.ROOT_DS_ADDRESS, DEFAULT_ROOT_DS_ADDRESS)}
    default_dp = ctx.store.get(rsp_keys.DEFAULT_DP_ADDRESS)
    if default_dp:
        value["defaultDpAddress"] = default_dp
    return der.encode("EuiccConfiguredAddressesResponse", value)


def set_default_dp_address(ctx: Context, data: bytes) -> bytes:
    """BF3F: store (or, with an empty address, remove) the default SM-DP+ address; ok (0)."""
    address = der.decode("SetDefaultDpAddressRequest", data)["defaultDpAddress"]
    if address:
        ctx.store.put(rsp_keys.DEFAULT_DP_ADDRESS, address)
    else:
        ctx.store.delete(rsp_keys.DEFAULT_DP_ADDRESS)
    return der.encode("SetDefaultDpAddressResponse", {"setDefaultDpAddressResult": 0})


FUNCTIONS = {0xBF3C: get_euicc_configured_addresses, 0xBF3F: set_default_dp_address}
