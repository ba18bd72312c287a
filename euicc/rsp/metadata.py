"""Profile Metadata checks of SGP.22 v3.1 (ES8+.StoreMetadata, §5.5.3, ``StoreMetadataRequest``
'BF25') for an RSP session held in v3; a v2 session keeps the v2.5 rules of :mod:`euicc.rsp.bpp`.

The eUICC refuses, with the v3.1 ``ErrorReason`` values:

* a data object that the v3.1 ``StoreMetadataRequest`` does not define: ``unknownTlvInMetadata``
  (26).  [U] The v3.1 text on which unknown objects are "critical" could not be read here; this
  card treats every unknown top-level TLV of 'BF25' as one it must refuse (a setting-free rule
  the tests pin down);
* ``lprConfiguration`` ('BC') on a card without LPA Proxy (setting
  ``EuiccInfoSettings.lpa_proxy`` off, EuiccRspCapability lpaProxySupport (8) clear):
  ``lprNotSupported`` (23).  With it the configuration is kept like the other members: it is what
  RPM contactPcmp answers (:mod:`euicc.rsp.rpm_commands`).  [U] lprNetworkDataNotAllowed (24) is
  never given: the condition for it could not be read here;
* ``deviceChangeConfiguration`` ('BF20') on a card without Device Change (setting
  ``EuiccInfoSettings.device_change`` off, deviceChangeSupport (11) clear):
  ``unknownTlvInMetadata`` (26).  [U] The v3.1 ``ErrorReason`` has no Device Change value (and
  the v3.1 text on it could not be read here); the member is marked #SupportedForDcV3.0.0#, so
  for a card without Device Change 'BF20' is a TLV it does not define, refused as any other.
  With it the configuration is kept: it is what Device Change reads
  (:mod:`euicc.rsp.device_change`).  RPM updateMetadata refuses both members on such a card too
  (:mod:`euicc.rsp.rpm_update_metadata`, :func:`unsupported`).

Everything else v3.1 defines (``serviceProviderMessage`` 'BE', ``rpmConfiguration``,
``hriServerAddress``, ``serviceDescription``, ...) is accepted and
kept with the profile as part of its stored metadata (the raw 'BF25').  ``enterpriseConfiguration``
('BD') is checked against the card's setting and the installed profiles by
:mod:`euicc.rsp.enterprise` (in v2 and v3 sessions).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import asn1tools

from euicc import tlv
from euicc.apdu import SwError
from euicc.rsp import der
from euicc.rsp.euicc_info import DEFAULT_SETTINGS, EuiccInfoSettings

# ErrorReason (SGP.22 v3.1 RSPDefinitions)
INCORRECT_INPUT_VALUES = 1
LPR_NOT_SUPPORTED = 23
UNKNOWN_TLV_IN_METADATA = 26

LPR_CONFIGURATION, DEVICE_CHANGE_CONFIGURATION = "lprConfiguration", "deviceChangeConfiguration"
# StoreMetadata refusal of a member of an optional feature the card does not support (docstring)
_UNSUPPORTED_REFUSALS = {LPR_CONFIGURATION: LPR_NOT_SUPPORTED, DEVICE_CHANGE_CONFIGURATION: UNKNOWN_TLV_IN_METADATA}


class MetadataRefused(Exception):
    """StoreMetadata refused with ``reason`` (ErrorReason)."""

    def __init__(self, reason: int, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@functools.cache
def known_tags() -> frozenset[bytes]:
    """Tags of the members of the v3.1 ``StoreMetadataRequest`` (from the compiled module)."""
    compiled = der.spec(v3=True).types["StoreMetadataRequest"].type
    return frozenset(bytes(member.tag) for member in compiled.root_members)


def unsupported(members: Iterable[str], settings: EuiccInfoSettings) -> str | None:
    """The first of ``members`` that belongs to an optional v3.1 feature the card does not support
    (``lprConfiguration``: LPA Proxy, ``deviceChangeConfiguration``: Device Change), or None."""
    supported = {LPR_CONFIGURATION: settings.lpa_proxy, DEVICE_CHANGE_CONFIGURATION: settings.device_change}
    return next((name for name, ok in supported.items() if not ok and name in members), None)


def check_v3(plain: bytes, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Decode a 'BF25' of a v3 session and apply the v3.1 refusals (module docstring) of a card
    with the optional features of ``settings`` (LPA Proxy, Device Change)."""
    try:
        for tag, whole in tlv.split(tlv.unwrap(plain, 0xBF25)):
            _, end = tlv.read_tag(whole, 0)
            if whole[:end] not in known_tags():
                raise MetadataRefused(UNKNOWN_TLV_IN_METADATA, f"unknown TLV {tag:X} in metadata")
        meta = der.decode("StoreMetadataRequest", plain, v3=True)
    except (tlv.TlvError, SwError):
        raise MetadataRefused(INCORRECT_INPUT_VALUES, "bad StoreMetadata") from None
    member = unsupported(meta, settings)
    if member is not None:
        raise MetadataRefused(_UNSUPPORTED_REFUSALS[member], f"{member} of a feature the card does not support")
    return meta


def stored(raw: bytes) -> dict[str, Any]:
    """The metadata kept with an installed profile (its 'BF25' as received, from a v2 or a v3
    session) decoded with the v3.1 module, whose ``StoreMetadataRequest`` is a superset of v2.5's;
    {} when there is none or when it does not decode in v3.1 (a v2 session keeps members the v2.5
    module skipped, e.g. a malformed 'BD').  A fresh value: callers may change it (RPM
    updateMetadata does)."""
    if not raw:
        return {}
    try:
        return der.decode_stored("StoreMetadataRequest", raw, v3=True)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError):
        return {}
