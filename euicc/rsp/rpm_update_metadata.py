"""The RPM updateMetadata command: SGP.22 v3.1 §3.7.3 / §5.4.1 (UpdateMetadata, v3 mechanism:
``UpdateMetadataRequest`` 'BF2A' with ``tagsForDeletion``), ``UpdateMetadataResponse`` '9F2A'.

The request's members replace those of the profile's metadata (kept as its 'BF25', see
:mod:`euicc.rsp.metadata`) and of its record (name, provider, icon, notification configuration,
PPRs); ``tagsForDeletion`` removes optional members.  Refusals, checked in this order, change
nothing:

* a member outside the managing SM-DP+'s ``tagList`` (:func:`euicc.rsp.rpm_config.updatable_tags`):
  commandError (7);
* ``enterpriseConfiguration``: enterpriseConfigurationNotAllowed (6); ``lprConfiguration`` on a
  card without LPA Proxy (setting ``EuiccInfoSettings.lpa_proxy``) and ``deviceChangeConfiguration``
  on a card without Device Change (setting ``EuiccInfoSettings.device_change``,
  :mod:`euicc.rsp.device_change`): commandError (7) (:func:`euicc.rsp.metadata.unsupported`).  On a card that supports them they are stored
  (or removed by ``tagsForDeletion`` 'BC' / 'BF20') like the other members, as StoreMetadata keeps
  them (:mod:`euicc.rsp.metadata`): GetProfilesInfo gives them and Device Change reads them;
* ``profilePolicyRules`` that set a PPR the profile does not have: PPRs may only be unset
  (§5.4.1), pprUpdateInvalidSetting (12);
* an ``rpmConfiguration`` with another ``profileOwnerOid`` than the profile's: the owner does not
  change by RPM [U], invalidRpmConfiguration (14);
* ``tagsForDeletion`` naming a mandatory member (serviceProviderName '91', profileName '92') or a
  tag UpdateMetadata does not define: deleteNotAllowed (15).
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from euicc import tlv
from euicc.nvm import Store
from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import ProfileRecord
from euicc.rsp import der, metadata, rpm_config
from euicc.rsp.euicc_info import EuiccInfoSettings

OK, ENTERPRISE_CONFIGURATION_NOT_ALLOWED, COMMAND_ERROR = 0, 6, 7
PPR_UPDATE_INVALID_SETTING, INVALID_RPM_CONFIGURATION, DELETE_NOT_ALLOWED = 12, 14, 15
MANDATORY = ("serviceProviderName", "profileName")
DELETIONS = "tagsForDeletion"


@functools.cache
def member_tags() -> dict[str, bytes]:
    """Member name -> encoded tag of the v3.1 ``UpdateMetadataRequest``."""
    compiled = der.spec(v3=True).types["UpdateMetadataRequest"].type
    return {member.name: bytes(member.tag) for member in compiled.root_members}


def _deleted(request: dict[str, Any]) -> list[str | None]:
    by_tag = {tag: name for name, tag in member_tags().items()}
    return [by_tag.get(tag) for tag in rpm_config.tags_of(request.get(DELETIONS, b""))]


def _refusal(rec: ProfileRecord, request: dict[str, Any], kept: dict[str, Any], allowed: bytes | None,
             settings: EuiccInfoSettings) -> int:
    deleted = _deleted(request)
    if allowed is not None:
        permitted = set(rpm_config.tags_of(allowed))
        touched = [member_tags()[n] for n in request if n != DELETIONS] + [member_tags().get(n) for n in deleted if n]
        if not set(touched) <= permitted:
            return COMMAND_ERROR
    if "enterpriseConfiguration" in request:
        return ENTERPRISE_CONFIGURATION_NOT_ALLOWED
    if metadata.unsupported(request, settings) is not None:
        return COMMAND_ERROR
    if "profilePolicyRules" in request and der.bits_to_int(request["profilePolicyRules"]) & ~rec.ppr:
        return PPR_UPDATE_INVALID_SETTING
    current = kept.get("rpmConfiguration")
    if ("rpmConfiguration" in request and current is not None
            and der.canonical_oid(request["rpmConfiguration"]["profileOwnerOid"])
            != der.canonical_oid(current["profileOwnerOid"])):
        return INVALID_RPM_CONFIGURATION
    if any(n is None or n in MANDATORY or n == DELETIONS for n in deleted):
        return DELETE_NOT_ALLOWED
    return OK


def apply(store: Store, rec: ProfileRecord, request: dict[str, Any], allowed: bytes | None,
          settings: EuiccInfoSettings) -> int:
    """Update ``rec`` with ``request`` (a decoded v3.1 UpdateMetadataRequest) on a card with the
    optional features of ``settings`` (LPA Proxy, Device Change); the result code."""
    kept = metadata.stored(rec.metadata)
    try:
        refusal = _refusal(rec, request, kept, allowed, settings)
    except tlv.TlvError:
        return COMMAND_ERROR
    if refusal != OK:
        return refusal
    for name in _deleted(request):
        kept.pop(name, None)
        if name == "iconType":
            kept.pop("icon", None)
    kept.update({n: v for n, v in request.items() if n != DELETIONS})
    config = tuple((der.bits_to_int(c["profileManagementOperation"]), c["notificationAddress"])
                   for c in kept.get("notificationConfigurationInfo", ()))
    ppr = kept.get("profilePolicyRules")
    ProfileManager(store).update(replace(
        rec, name=kept["profileName"], provider=kept["serviceProviderName"], icon_type=kept.get("iconType"),
        icon=kept.get("icon", b""), notifications=config, ppr=der.bits_to_int(ppr) if ppr else 0,
        metadata=der.encode("StoreMetadataRequest", kept, v3=True)))
    return OK
