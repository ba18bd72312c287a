"""ES10c (LPA -> ISD-R, local profile management): SGP.22 v2.5 §5.7.15 GetProfilesInfo,
§5.7.16 EnableProfile, §5.7.17 DisableProfile, §5.7.18 DeleteProfile, §5.7.19 eUICCMemoryReset,
§5.7.20 GetEID, §5.7.21 SetNickname; profile state rules of §3.2 and PPRs of §2.9.

One profile is enabled at a time (per eSIM port with a MEP option, euicc.rsp.mep); enabling
another disables the enabled one.  PPR1 (disabling
not allowed) and PPR2 (deletion not allowed) bind operational profiles only (§2.9.1).  With
refreshFlag the eUICC queues a CAT REFRESH 'eUICC Profile State Change' (ETSI TS 102 223
§6.4.7); while a proactive session is ongoing it answers catBusy (5) instead.  Enable, disable
and delete create the notifications the profile's notificationConfigurationInfo asks for (§3.5).

Memory reset (§5.7.19): "field-loaded" test profiles are those installed by a BPP (they carry
StoreMetadata); a test profile provisioned at manufacture is kept.  Existing notifications are
kept and no new ones are made [R].
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.cat.proactive import refresh
from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import (CLASS_OPERATIONAL, CLASS_TEST, PPR1, PPR2, STATE_DISABLED,
                                  STATE_ENABLED, ProfileError, ProfileRecord)
from euicc.rsp import der, enterprise, es10b, euicc_info, mep, metadata, notifications
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context

OK, NOT_FOUND, WRONG_STATE, DISALLOWED_BY_POLICY, CAT_BUSY = 0, 1, 2, 3, 5
DISALLOWED_BY_ENTERPRISE_RULE = 6        # v3.1 (euicc.rsp.enterprise)
INCORRECT_INPUT_VALUES = 1
NOTHING_TO_DELETE = 1
# eUICCMemoryReset resetOptions bits (first octet)
DELETE_OPERATIONAL, DELETE_FIELD_LOADED_TEST, RESET_DEFAULT_SMDP_ADDRESS = 0x80, 0x40, 0x20


# -- GetProfilesInfo ------------------------------------------------------------------------------
V3_MEMBERS = ("serviceSpecificDataStoredInEuicc", "rpmConfiguration", "hriServerAddress", "lprConfiguration",
              "enterpriseConfiguration", "serviceDescription", "deviceChangeConfiguration")
"""v3.1 ProfileInfo members the card holds: those of the profile's kept StoreMetadataRequest of
the same name (as RPM updateMetadata leaves them).  ``profileSize`` (9F25) is not given: the card
keeps no figure for it."""


def profile_info(ctx: Context, rec: ProfileRecord) -> dict:
    """ProfileInfo (E3) of one record: its v2 members, and ``enabledOnEsimPort`` on a MEP card."""
    value: dict = {"iccid": rec.iccid, "isdpAid": rec.isdp_aid, "profileState": rec.state,
                   "serviceProviderName": rec.provider, "profileName": rec.name,
                   "profileClass": rec.profile_class}
    if rec.nickname:
        value["profileNickname"] = rec.nickname
    if rec.icon_type is not None:
        value["iconType"], value["icon"] = rec.icon_type, rec.icon
    if rec.notifications:
        value["notificationConfigurationInfo"] = [
            {"profileManagementOperation": der.int_to_bits(events, 8), "notificationAddress": address}
            for events, address in rec.notifications]
    if rec.metadata:
        owner = der.decode_stored("StoreMetadataRequest", rec.metadata).get("profileOwner")
        if owner is not None:
            value["profileOwner"] = owner
    dp = ctx.store.get(rsp_keys.dp_proprietary(rec.isdp_aid))
    if dp:
        value["dpProprietaryData"] = der.decode_stored("ConfigureISDPRequest", tlv.tlv(0xBF24, dp))[
            "dpProprietaryData"]
    if rec.ppr:
        value["profilePolicyRules"] = der.int_to_bits(rec.ppr, 4)
    port = mep.esim_port(ctx, rec)
    if port is not None:
        value["enabledOnEsimPort"] = port
    return value


def v3_members(rec: ProfileRecord) -> dict:
    """The :data:`V3_MEMBERS` ``rec`` has (v3.1 ProfileInfo values)."""
    kept = metadata.stored(rec.metadata)
    return {name: kept[name] for name in V3_MEMBERS if name in kept}


@functools.cache
def _member_order() -> dict[int, int]:
    """Tag -> position of each member of the v3.1 ProfileInfo SEQUENCE."""
    compiled = der.spec(v3=True).types["ProfileInfo"].type
    return {int.from_bytes(bytes(m.tag), "big"): n for n, m in enumerate(compiled.root_members)}


def _selected(ctx: Context, rec: ProfileRecord, tags: set[int]) -> bytes:
    """ProfileInfo of ``rec`` with the members of tagList: those of :func:`profile_info` as
    GetProfilesInfo encodes them without tagList, and on a v3 card the :data:`V3_MEMBERS` in
    their v3.1 encoding, in the order of the v3.1 SEQUENCE."""
    members = der.children(der.encode("ProfileInfo", profile_info(ctx, rec), v3=mep.active(ctx)))
    extra = v3_members(rec) if euicc_info.settings(ctx.config).v3 else {}
    if extra:
        members += der.children(der.encode("ProfileInfo", extra, v3=True))
    order = _member_order()
    kept = sorted((m for m in members if tlv.read_tag(m, 0)[0] in tags), key=lambda m: order[tlv.read_tag(m, 0)[0]])
    return tlv.tlv(0xE3, b"".join(kept))


def _tags(tag_list: bytes) -> set[int]:
    tags, i = set(), 0
    while i < len(tag_list):
        tag, i = tlv.read_tag(tag_list, i)
        tags.add(tag)
    return tags


def get_profiles_info(ctx: Context, data: bytes) -> bytes:
    """BF2D (§5.7.15): every profile or those matching searchCriteria, with the tags of tagList.
    Without tagList the members of :func:`profile_info` (the v2 set); the v3.1 members the card
    holds (:data:`V3_MEMBERS`) only when tagList names them, so that a v2 LPA never sees them."""
    request = der.decode("ProfileInfoListRequest", data)
    records = ProfileManager(ctx.store).records()
    criteria = request.get("searchCriteria")
    if criteria is not None:
        kind, wanted = der.alternative(criteria)
        attr = {"isdpAid": "isdp_aid", "iccid": "iccid", "profileClass": "profile_class"}[kind]
        records = [r for r in records if getattr(r, attr) == wanted]
    try:
        tags = _tags(request["tagList"]) if "tagList" in request else None
    except tlv.TlvError:
        return der.encode("ProfileInfoListResponse", ("profileInfoListError", INCORRECT_INPUT_VALUES))
    infos = [der.encode("ProfileInfo", profile_info(ctx, rec), v3=mep.active(ctx)) if tags is None
             else _selected(ctx, rec, tags) for rec in records]
    # profileInfoListOk: SEQUENCE OF ProfileInfo, automatic tag [0] -> 'A0'
    return tlv.tlv(0xBF2D, tlv.tlv(0xA0, b"".join(infos)))


# -- Enable / Disable / Delete --------------------------------------------------------------------
def _find(ctx: Context, identifier: tuple[str, bytes]) -> ProfileRecord | None:
    kind, value = der.alternative(identifier)
    profiles = ProfileManager(ctx.store)
    try:
        return profiles.get(value) if kind == "isdpAid" else profiles.by_iccid(value)
    except ProfileError:
        return None


def _protected(rec: ProfileRecord, ppr: int) -> bool:
    return rec.profile_class == CLASS_OPERATIONAL and bool(rec.ppr & ppr)


def _cat_busy(ctx: Context, port: int | None = None) -> bool:
    """A proactive command is queued or fetched and not yet answered (TS 102 223 §6.3), on eSIM
    port `port` (None: the command's own interface)."""
    return mep.cat(ctx, port).busy


def _refresh(ctx: Context, flag: bool, port: int | None = None) -> None:
    if flag:
        mep.cat(ctx, port).submit(refresh())


def _notify(ctx: Context, rec: ProfileRecord, event: int) -> None:
    notifications.for_profile(ctx.store, es10b.card_identity(ctx), event, rec.notifications, rec.iccid)


def enable_profile(ctx: Context, data: bytes, events: notifications.ProfileEvents = notifications.LOCAL_EVENTS) -> bytes:
    """BF31 (§5.7.16 / §3.2.1); ``events``: how the changes are notified (RPM: v3.1 §3.7); with
    eSIM ports the port of v3.1 §2.12 (euicc.rsp.mep), which a successful answer names in its
    v3.1 member ``targetEsimPort``."""
    request = der.decode("EnableProfileRequest", data, v3=mep.active(ctx))
    target = _find(ctx, request["profileIdentifier"])
    profiles = mep.profiles(ctx)
    port, port_refused = mep.target_port(ctx, request, profiles)
    current = profiles.enabled_on(port)
    if target is None:
        result = NOT_FOUND
    elif target.state != STATE_DISABLED:
        result = WRONG_STATE
    elif port_refused is not None:
        result = port_refused
    elif current is not None and _protected(current, PPR1):
        result = DISALLOWED_BY_POLICY
    elif enterprise.operation_refused(ctx.store, profiles.enabled_after_enable(target.isdp_aid, port)):
        result = DISALLOWED_BY_ENTERPRISE_RULE
    elif request["refreshFlag"] and _cat_busy(ctx, port):
        result = CAT_BUSY
    else:
        previous = profiles.enable(target.isdp_aid, port)
        if previous is not None:
            _notify(ctx, previous, events.disable)
        _notify(ctx, target, events.enable)
        _refresh(ctx, request["refreshFlag"], port)
        result = OK
    response: dict = {"enableResult": result}
    if result == OK and port is not None:
        response["targetEsimPort"] = port       # where the profile now is [U] (A2: the eUICC's choice)
    return der.encode("EnableProfileResponse", response, v3=mep.active(ctx))


def disable_profile(ctx: Context, data: bytes, events: notifications.ProfileEvents = notifications.LOCAL_EVENTS) -> bytes:
    """BF32 (§5.7.17 / §3.2.2); ``events`` as for :func:`enable_profile`; with eSIM ports the
    MEP-B port rule of v3.1 §2.12 (euicc.rsp.mep.disable_refused)."""
    request = der.decode("DisableProfileRequest", data)
    target = _find(ctx, request["profileIdentifier"])
    port = mep.esim_port(ctx, target) if target is not None else None
    port_refused = mep.disable_refused(ctx, port)
    if target is None:
        result = NOT_FOUND
    elif target.state != STATE_ENABLED:
        result = WRONG_STATE
    elif port_refused is not None:
        result = port_refused
    elif _protected(target, PPR1):
        result = DISALLOWED_BY_POLICY
    elif enterprise.operation_refused(ctx.store, ProfileManager(ctx.store).enabled_after_disable(target.isdp_aid)):
        result = DISALLOWED_BY_ENTERPRISE_RULE
    elif request["refreshFlag"] and _cat_busy(ctx, port):
        result = CAT_BUSY
    else:
        ProfileManager(ctx.store).disable(target.isdp_aid)
        _notify(ctx, target, events.disable)
        _refresh(ctx, request["refreshFlag"], port)
        result = OK
    return der.encode("DisableProfileResponse", {"disableResult": result}, v3=mep.active(ctx))


def delete_profile(ctx: Context, data: bytes, events: notifications.ProfileEvents = notifications.LOCAL_EVENTS) -> bytes:
    """BF33 (§5.7.18 / §3.2.3): only a disabled profile, not under PPR2; ``events`` as for
    :func:`enable_profile`."""
    target = _find(ctx, der.decode("DeleteProfileRequest", data))
    if target is None:
        result = NOT_FOUND
    elif target.state != STATE_DISABLED:
        result = WRONG_STATE
    elif _protected(target, PPR2):
        result = DISALLOWED_BY_POLICY
    else:
        ProfileManager(ctx.store).delete(target.isdp_aid)
        _notify(ctx, target, events.delete)
        result = OK
    return der.encode("DeleteProfileResponse", {"deleteResult": result})


def euicc_memory_reset(ctx: Context, data: bytes) -> bytes:
    """BF34 (§5.7.19): delete operational / field-loaded test profiles, reset the default
    SM-DP+ address; nothingToDelete (1) when no option found anything to do."""
    options = der.bits_to_int(der.decode("EuiccMemoryResetRequest", data)["resetOptions"])
    profiles = ProfileManager(ctx.store)
    done, refreshed = False, False
    for rec in profiles.records():
        operational = rec.profile_class == CLASS_OPERATIONAL and options & DELETE_OPERATIONAL
        field_test = rec.profile_class == CLASS_TEST and rec.metadata and options & DELETE_FIELD_LOADED_TEST
        if not (operational or field_test):
            continue
        if rec.state == STATE_ENABLED:
            profiles.disable(rec.isdp_aid)
            refreshed = True
        profiles.delete(rec.isdp_aid)
        done = True
    if options & RESET_DEFAULT_SMDP_ADDRESS and rsp_keys.DEFAULT_DP_ADDRESS in ctx.store:
        ctx.store.delete(rsp_keys.DEFAULT_DP_ADDRESS)
        done = True
    if refreshed and not _cat_busy(ctx):
        ctx.cat.submit(refresh())
    return der.encode("EuiccMemoryResetResponse", {"resetResult": OK if done else NOTHING_TO_DELETE})


# -- GetEID, SetNickname --------------------------------------------------------------------------
def get_eid(ctx: Context, data: bytes) -> bytes:
    """BF3E (§5.7.20): tagList must be '5A'."""
    if der.decode("GetEuiccDataRequest", data)["tagList"] != b"\x5a":
        raise SwError(SW.INCORRECT_DATA)
    return der.encode("GetEuiccDataResponse", {"eidValue": ctx.services.eid})


def set_nickname(ctx: Context, data: bytes) -> bytes:
    """BF29 (§5.7.21)."""
    request = der.decode("SetNicknameRequest", data)
    profiles = ProfileManager(ctx.store)
    try:
        rec = profiles.by_iccid(request["iccid"])
    except ProfileError:
        return der.encode("SetNicknameResponse", {"setNicknameResult": NOT_FOUND})
    profiles.update(replace(rec, nickname=request["profileNickname"]))
    return der.encode("SetNicknameResponse", {"setNicknameResult": OK})


FUNCTIONS = {0xBF2D: get_profiles_info, 0xBF31: enable_profile, 0xBF32: disable_profile,
             0xBF33: delete_profile, 0xBF34: euicc_memory_reset, 0xBF3E: get_eid,
             0xBF29: set_nickname}
