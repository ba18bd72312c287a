"""The RPM commands of an RPM Package: SGP.22 v3.1 §3.7.3 (RPM execution), ``RpmCommand`` /
``RpmCommandResult``: enable, disable, delete, listProfileInfo, updateMetadata, contactPcmp.

Each command is authorised by the profile's RPM configuration (:mod:`euicc.rsp.rpm_config`) and
then follows the rules of the local function it mirrors: enable / disable / delete are ES10c
EnableProfile / DisableProfile / DeleteProfile (:mod:`euicc.rsp.es10c`; the eUICC issues the
REFRESH itself, as with refreshFlag TRUE) notified as notificationRpmEnable / RpmDisable /
RpmDelete; listProfileInfo answers like GetProfilesInfo for the profiles the SM-DP+ may list;
updateMetadata is :mod:`euicc.rsp.rpm_update_metadata`.

Results when the command is refused before those rules: a profile that is not on the eUICC gives
iccidOrAidNotFound (1) for enable / disable / delete; an SM-DP+ not authorised gives
disallowedForRpm (9) for enable / disable, and commandError (7) for delete, updateMetadata and
contactPcmp, whose results have no disallowedForRpm [U: the v3.1 text was not readable here].
contactPcmp answers the PCMP address of the profile's LprConfiguration: profileNotEnabled (2)
when the profile is not enabled, noLprConfiguration (13) without one.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from euicc import tlv
from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import STATE_ENABLED, ProfileError, ProfileRecord
from euicc.rsp import der, es10c, euicc_info, metadata, notifications, rpm_config, rpm_update_metadata
from euicc.rsp.rpm_config import Manager

if TYPE_CHECKING:
    from euicc.context import Context

OK, NOT_FOUND, COMMAND_ERROR, DISALLOWED_FOR_RPM = 0, 1, 7, 9
PROFILE_NOT_ENABLED, NO_LPR_CONFIGURATION = 2, 13
INCORRECT_INPUT_VALUES = 1

Result = tuple[bytes | None, tuple[str, Any]]   # (iccid for RpmCommandResult, rpmCommandResultData)
TARGET_ESIM_PORT = "targetEsimPort"
"""LoadRpmPackageRequest ``targetEsimPort`` (MEP, v3.1 §2.12), given to the package's enable
command as the EnableProfileRequest member of the same name (euicc.rsp.rpm.execute)."""


def _find(ctx: Context, iccid: bytes) -> ProfileRecord | None:
    try:
        return ProfileManager(ctx.store).by_iccid(iccid)
    except ProfileError:
        return None


def _es10c(ctx: Context, manager: Manager, iccid: bytes, command: str) -> int | None:
    """None when the profile exists and ``manager`` may run ``command`` on it, else the result."""
    rec = _find(ctx, iccid)
    if rec is None:
        return NOT_FOUND
    if not rpm_config.authorised(rec, manager, command):
        return COMMAND_ERROR if command == "delete" else DISALLOWED_FOR_RPM
    return None


def _enable_request(params: dict) -> tuple[str, Any]:
    value = {"profileIdentifier": ("iccid", params["iccid"]), "refreshFlag": True}
    if params.get(TARGET_ESIM_PORT) is not None:
        value[TARGET_ESIM_PORT] = params[TARGET_ESIM_PORT]
    return "EnableProfileRequest", value


#: enable / disable / delete: the ES10c function each mirrors, its request (from the command's
#: parameters) and the name of its response's result (one row each; notified as
#: notificationRpmEnable / RpmDisable / RpmDelete).
_LOCAL: dict[str, tuple[Callable[..., bytes], Callable[[dict], tuple[str, Any]], str]] = {
    "enable": (es10c.enable_profile, _enable_request, "enableResult"),
    "disable": (es10c.disable_profile, lambda params: ("DisableProfileRequest", {
        "profileIdentifier": ("iccid", params["iccid"]), "refreshFlag": True}), "disableResult"),
    "delete": (es10c.delete_profile, lambda params: ("DeleteProfileRequest", ("iccid", params["iccid"])),
               "deleteResult"),
}


def _local(command: str) -> Callable[[Context, Manager, dict], Result]:
    """The RPM command ``command`` run as its ES10c function once authorised (module docstring);
    the result is that function's whole response (enable: with ``targetEsimPort``)."""
    function, request, result = _LOCAL[command]

    def run(ctx: Context, manager: Manager, params: dict) -> Result:
        iccid = params["iccid"]
        code = _es10c(ctx, manager, iccid, command)
        if code is not None:
            return iccid, (result, {result: code})
        name, value = request(params)
        response = function(ctx, der.encode(name, value, v3=True), notifications.RPM_EVENTS)
        return iccid, (result, der.decode_stored(name.replace("Request", "Response"), response, v3=True))
    return run


def _profile_info_members() -> dict[bytes, str]:
    compiled = der.spec(v3=True).types["ProfileInfo"].type
    return {bytes(member.tag): member.name for member in compiled.root_members}


def _profile_info(ctx: Context, rec: ProfileRecord) -> dict[str, Any]:
    """ProfileInfo as GetProfilesInfo gives it, with every v3.1 member the card holds."""
    return {**es10c.profile_info(ctx, rec), **es10c.v3_members(rec)}


def list_profile_info(ctx: Context, manager: Manager, params: dict) -> Result:
    """ListProfileInfo: the profiles matching searchCriteria (iccid or profileOwnerOid) that the
    SM-DP+ may list, with the members of tagList (all when absent)."""
    kind, wanted = params["searchCriteria"]
    if kind not in ("iccid", "profileOwnerOid"):          # an unknown extension alternative
        return None, ("listProfileInfoResult", ("profileInfoListError", INCORRECT_INPUT_VALUES))
    records = [r for r in ProfileManager(ctx.store).records()
               if (r.iccid == wanted if kind == "iccid" else rpm_config.owner_oid(r) == der.canonical_oid(wanted))
               and rpm_config.authorised(r, manager, "listProfileInfo")]
    names = None
    if "tagList" in params:
        try:
            members = _profile_info_members()
            names = {members.get(tag) for tag in rpm_config.tags_of(params["tagList"])}
        except tlv.TlvError:
            return None, ("listProfileInfoResult", ("profileInfoListError", INCORRECT_INPUT_VALUES))
    infos = []
    for rec in records:
        info = _profile_info(ctx, rec)
        infos.append(info if names is None else {k: v for k, v in info.items() if k in names})
    return None, ("listProfileInfoResult", ("profileInfoListOk", infos))


def update_metadata(ctx: Context, manager: Manager, params: dict) -> Result:
    iccid = params["iccid"]
    rec = _find(ctx, iccid)
    if rec is None or not rpm_config.authorised(rec, manager, "updateMetadata"):
        code = COMMAND_ERROR
    else:
        code = rpm_update_metadata.apply(ctx.store, rec, params["updateMetadataRequest"],
                                         rpm_config.updatable_tags(rec, manager),
                                         euicc_info.settings(ctx.config))
    return iccid, ("updateMetadataResult", code)


def contact_pcmp(ctx: Context, manager: Manager, params: dict) -> Result:
    iccid = params["iccid"]
    rec = _find(ctx, iccid)
    if rec is None or not rpm_config.authorised(rec, manager, "contactPcmp"):
        answer: tuple = ("contactPcmpResponseError", COMMAND_ERROR)
    elif rec.state != STATE_ENABLED:
        answer = ("contactPcmpResponseError", PROFILE_NOT_ENABLED)
    else:
        lpr = metadata.stored(rec.metadata).get("lprConfiguration")
        answer = (("contactPcmpResponseError", NO_LPR_CONFIGURATION) if lpr is None
                  else ("contactPcmpResponseOk", {"pcmpAddress": lpr["pcmpAddress"]}))
    return iccid, ("contactPcmpResult", answer)


COMMANDS: dict[str, Callable[[Context, Manager, dict], Result]] = {
    "enable": _local("enable"), "disable": _local("disable"), "delete": _local("delete"),
    "listProfileInfo": list_profile_info, "updateMetadata": update_metadata, "contactPcmp": contact_pcmp}
REFRESH_COMMANDS = frozenset(("enable", "disable"))
"""Commands after which the eUICC issues a REFRESH (a profile state change the terminal must see)."""


def succeeded(data: tuple[str, Any]) -> bool:
    """Whether an rpmCommandResultData reports success (for continueOnFailure)."""
    kind, value = data
    if kind in ("enableResult", "disableResult", "deleteResult"):
        return next(iter(value.values())) == OK
    if kind == "updateMetadataResult":
        return value == OK
    return value[0] in ("profileInfoListOk", "contactPcmpResponseOk")
