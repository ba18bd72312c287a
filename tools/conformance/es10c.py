"""ES10c (local profile management, SGP.22 v2.5 §5.7.15-§5.7.21) and ES10a (§5.7.3-§5.7.4).

Identifiers: ``TC_eUICC_ES10c.<Function>#<sequence>`` after SGP.23's pattern; the sequence
numbers are our labels (the GSMA text is not available here).  Result codes are those of the
SGP.22 ``RSPDefinitions`` module; the expected EID, ICCID and CI come from the card description.
"""
from __future__ import annotations

from tools import ber_tlv as tlv
from tools.conformance.mutation import command, es10, flip, flip_value_of, mutation, replace, status
from tools.conformance.model import case
from tools.conformance.session import Session

OK, NOT_FOUND, WRONG_STATE, DISALLOWED = 0, 1, 2, 3
UNKNOWN_ICCID = bytes.fromhex("98109909002143658739")   # SGP.23-style ICCID that no card holds
ENABLED, DISABLED = 1, 0
NICKNAME = "conformance-rehearsal"


def iccid_bytes(digits: str) -> bytes:
    """EF.ICCID coding (TS 102 221 §13.2): BCD with swapped nibbles, F-padded to 20 digits."""
    padded = digits.ljust(20, "F")
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, 20, 2))


def iccid_digits(iccid: bytes) -> str:
    return "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in iccid).rstrip("F")


def eid_valid(eid: str) -> bool:
    """32 digits whose value is 1 modulo 97 (GSMA SGP.29 §2.2, ISO/IEC 7064 MOD 97-10)."""
    return len(eid) == 32 and eid.isdigit() and int(eid) % 97 == 1


def read_eid(s: Session) -> str:
    s.step("ES10c.GetEID")
    value = s.es10("GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse")
    return value["eidValue"].hex().upper()


def described_profile(s: Session) -> dict:
    """The profile the description names (its ICCID), as GetProfilesInfo lists it."""
    s.require(bool(s.card.iccid), "the card description names no profile ICCID")
    s.step("ES10c.GetProfilesInfo")
    mine = [p for p in s.profiles() if p.get("iccid") == iccid_bytes(s.card.iccid)]
    s.require(len(mine) == 1, f"profile {s.card.iccid} is not on the card")
    return mine[0]


def enable(s: Session, ident: tuple[str, bytes], refresh: bool = False) -> int:
    s.step(f"ES10c.EnableProfile {ident[0]} {ident[1].hex().upper()}")
    return s.es10("EnableProfileRequest", {"profileIdentifier": ident, "refreshFlag": refresh},
                  "EnableProfileResponse")["enableResult"]


def disable(s: Session, ident: tuple[str, bytes], refresh: bool = False) -> int:
    s.step(f"ES10c.DisableProfile {ident[0]} {ident[1].hex().upper()}")
    return s.es10("DisableProfileRequest", {"profileIdentifier": ident, "refreshFlag": refresh},
                  "DisableProfileResponse")["disableResult"]


def delete(s: Session, ident: tuple[str, bytes]) -> int:
    s.step(f"ES10c.DeleteProfile {ident[0]} {ident[1].hex().upper()}")
    return s.es10("DeleteProfileRequest", ident, "DeleteProfileResponse")["deleteResult"]


def expect_result(s: Session, got: int, expected: int, what: str) -> None:
    s.check(got == expected, f"{what} result {got}, expected {expected}")


# -- GetEID ---------------------------------------------------------------------------------
@case("TC_eUICC_ES10c.GetEID#01", group="ES10c", title="GetEID: 32 digits, MOD 97 check, described EID / prefix",
      clause="SGP.22 §5.7.20, SGP.29 §2.2",
      mutation=mutation("the EID's last byte changes", es10(0xBF3E), flip(-1)))
def get_eid(s: Session) -> None:
    eid = read_eid(s)
    s.check(eid_valid(eid), f"EID {eid} is not 32 digits with valid MOD 97 check digits")
    if s.card.eid:
        s.check(eid == s.card.eid.upper(), f"EID {eid}, described {s.card.eid}")
    s.check(eid.startswith(s.card.eid_prefix), f"EID {eid} does not start with {s.card.eid_prefix}")
    s.summary = f"EID {eid}"


# -- GetProfilesInfo --------------------------------------------------------------------------
@case("TC_eUICC_ES10c.GetProfilesInfo#01", group="ES10c", title="no filter: the described profile, one enabled at most",
      clause="SGP.22 §5.7.15",
      mutation=mutation("the list answers an error", es10(0xBF2D), replace(bytes.fromhex("BF2D03810101"))))
def profiles_all(s: Session) -> None:
    profile = described_profile(s)
    profiles = s.profiles()
    s.check(sum(p.get("profileState") == ENABLED for p in profiles) <= 1, "more than one profile is enabled")
    s.check(profile.get("profileState") in (ENABLED, DISABLED), f"profileState {profile.get('profileState')}")
    s.check(all("iccid" in p and "isdpAid" in p for p in profiles), "a profile entry lacks iccid or isdpAid")
    s.summary = f"{len(profiles)} profile(s)"


@case("TC_eUICC_ES10c.GetProfilesInfo#02", group="ES10c", title="tagList 5A: each entry carries only the ICCID",
      clause="SGP.22 §5.7.15 (tagList)",
      mutation=mutation("a 4F AID is added to the entry", es10(0xBF2D),
                        lambda d, sw: (bytes.fromhex("BF2D16A014E3125A0A") + d[9:19] + bytes.fromhex("4F0401020304")
                                       if len(d) >= 19 else d, sw)))
def profiles_tag_list(s: Session) -> None:
    s.step("ES10c.GetProfilesInfo tagList 5A")
    raw = s.es10_raw(s.encode("ProfileInfoListRequest", {"tagList": b"\x5a"}))
    kind, value = s.decode("ProfileInfoListResponse", raw)
    s.check(kind == "profileInfoListOk", f"answered {kind} {value}")
    s.require(bool(value), "no profile on the card")
    # raw tags, since decoding fills in DEFAULT members (profileClass) that were not sent
    entries = [tlv.split(entry) for _, entry in tlv.split(tlv.unwrap(tlv.unwrap(raw, 0xBF2D), 0xA0))]
    extra = [[f"{t:X}" for t, _ in e] for e in entries if [t for t, _ in e] != [0x5A]]
    s.check(not extra, f"entries carry more than the ICCID: {extra}")


@case("TC_eUICC_ES10c.GetProfilesInfo#03", group="ES10c", title="searchCriteria iccid: exactly that profile",
      clause="SGP.22 §5.7.15 (searchCriteria)",
      mutation=mutation("the search answers an empty list", es10(0xBF2D, bytes.fromhex("A00C5A0A")),
                        replace(bytes.fromhex("BF2D02A000"))))
def profiles_by_iccid(s: Session) -> None:
    described_profile(s)
    iccid = iccid_bytes(s.card.iccid or "")
    s.step("ES10c.GetProfilesInfo searchCriteria iccid")
    kind, value = s.es10("ProfileInfoListRequest", {"searchCriteria": ("iccid", iccid)}, "ProfileInfoListResponse")
    s.check(kind == "profileInfoListOk" and [p.get("iccid") for p in value] == [iccid],
            f"search by ICCID answered {kind} {[p.get('iccid', b'').hex() for p in value] if kind == 'profileInfoListOk' else value}")


@case("TC_eUICC_ES10c.GetProfilesInfo#04", group="ES10c", title="searchCriteria of an unknown ICCID: an empty list",
      clause="SGP.22 §5.7.15",
      mutation=mutation("an error is answered", es10(0xBF2D), replace(bytes.fromhex("BF2D03810101"))))
def profiles_unknown(s: Session) -> None:
    s.step("ES10c.GetProfilesInfo unknown ICCID")
    kind, value = s.es10("ProfileInfoListRequest", {"searchCriteria": ("iccid", UNKNOWN_ICCID)}, "ProfileInfoListResponse")
    s.check(kind == "profileInfoListOk" and value == [], f"answered {kind} {value}")


@case("TC_eUICC_ES10c.GetProfilesInfo#05", group="ES10c", title="searchCriteria isdpAid: the profile of that ISD-P",
      clause="SGP.22 §5.7.15",
      mutation=mutation("the ISD-P AID loses a bit", es10(0xBF2D), flip_value_of(0x4F, 15)))
def profiles_by_aid(s: Session) -> None:
    profile = described_profile(s)
    s.step("ES10c.GetProfilesInfo searchCriteria isdpAid")
    kind, value = s.es10("ProfileInfoListRequest", {"searchCriteria": ("isdpAid", profile["isdpAid"])},
                         "ProfileInfoListResponse")
    s.check(kind == "profileInfoListOk" and [p.get("isdpAid") for p in value] == [profile["isdpAid"]],
            f"search by AID answered {kind} {value}")


@case("TC_eUICC_ES10c.GetProfilesInfo#06", group="ES10c", title="searchCriteria profileClass: only profiles of that class",
      clause="SGP.22 §5.7.15",
      mutation=mutation("the class of an entry changes", es10(0xBF2D), flip_value_of(0x95, 0, 0x03)))
def profiles_by_class(s: Session) -> None:
    profile = described_profile(s)
    s.require("profileClass" in profile, "the profile entry carries no profileClass")
    wanted = profile["profileClass"]
    s.step(f"ES10c.GetProfilesInfo searchCriteria profileClass {wanted}")
    kind, value = s.es10("ProfileInfoListRequest", {"searchCriteria": ("profileClass", wanted)}, "ProfileInfoListResponse")
    s.check(kind == "profileInfoListOk", f"answered {kind} {value}")
    s.check(any(p.get("iccid") == profile["iccid"] for p in value), "the profile of that class is missing")
    s.check(all(p.get("profileClass", wanted) == wanted for p in value), "a profile of another class is listed")


# -- Enable / Disable / Delete errors -------------------------------------------------------------
@case("TC_eUICC_ES10c.EnableProfile#E01", group="ES10c", title="unknown ICCID: iccidOrAidNotFound",
      clause="SGP.22 §5.7.16",
      mutation=mutation("enableResult ok", es10(0xBF31), replace(bytes.fromhex("BF3103800100"))))
def enable_unknown(s: Session) -> None:
    expect_result(s, enable(s, ("iccid", UNKNOWN_ICCID)), NOT_FOUND, "EnableProfile")


@case("TC_eUICC_ES10c.EnableProfile#E02", group="ES10c", title="an enabled profile: profileNotInDisabledState",
      clause="SGP.22 §5.7.16",
      mutation=mutation("enableResult ok", es10(0xBF31), replace(bytes.fromhex("BF3103800100"))))
def enable_enabled(s: Session) -> None:
    profile = described_profile(s)
    s.require(profile.get("profileState") == ENABLED, "the described profile is not enabled")
    expect_result(s, enable(s, ("iccid", profile["iccid"])), WRONG_STATE, "EnableProfile")


@case("TC_eUICC_ES10c.DisableProfile#E01", group="ES10c", title="unknown ISD-P AID: iccidOrAidNotFound",
      clause="SGP.22 §5.7.17",
      mutation=mutation("disableResult ok", es10(0xBF32), replace(bytes.fromhex("BF3203800100"))))
def disable_unknown(s: Session) -> None:
    expect_result(s, disable(s, ("isdpAid", bytes.fromhex("A0000005591010FFFFFFFF89000FFF00"))), NOT_FOUND,
                  "DisableProfile")


@case("TC_eUICC_ES10c.DisableProfile#01", group="ES10c", title="disable the enabled profile, then a second disable is refused",
      clause="SGP.22 §5.7.17, §5.7.16",
      restores="re-enables the profile it disabled",
      mutation=mutation("the second DisableProfile is accepted", es10(0xBF32), replace(bytes.fromhex("BF3203800100"))))
def disable_nominal(s: Session) -> None:
    profile = described_profile(s)
    s.require(profile.get("profileState") == ENABLED, "the described profile is not enabled")
    ident = ("iccid", profile["iccid"])
    expect_result(s, disable(s, ident), OK, "DisableProfile")
    s.on_exit("EnableProfile", lambda: enable(s, ident))
    s.step("ES10c.GetProfilesInfo")
    state = next(p for p in s.profiles() if p["iccid"] == profile["iccid"]).get("profileState")
    s.check(state == DISABLED, f"after DisableProfile the state is {state}")
    expect_result(s, disable(s, ident), WRONG_STATE, "second DisableProfile")


@case("TC_eUICC_ES10c.DeleteProfile#E01", group="ES10c", title="unknown ICCID: iccidOrAidNotFound",
      clause="SGP.22 §5.7.18",
      mutation=mutation("deleteResult ok", es10(0xBF33), replace(bytes.fromhex("BF3303800100"))))
def delete_unknown(s: Session) -> None:
    expect_result(s, delete(s, ("iccid", UNKNOWN_ICCID)), NOT_FOUND, "DeleteProfile")


@case("TC_eUICC_ES10c.DeleteProfile#E02", group="ES10c", title="an enabled profile: profileNotInDisabledState",
      clause="SGP.22 §5.7.18",
      mutation=mutation("deleteResult ok", es10(0xBF33), replace(bytes.fromhex("BF3303800100"))))
def delete_enabled(s: Session) -> None:
    profile = described_profile(s)
    s.require(profile.get("profileState") == ENABLED, "the described profile is not enabled")
    expect_result(s, delete(s, ("iccid", profile["iccid"])), WRONG_STATE, "DeleteProfile")
    s.step("ES10c.GetProfilesInfo")
    s.check(any(p["iccid"] == profile["iccid"] for p in s.profiles()), "the refused delete removed the profile")


# -- SetNickname --------------------------------------------------------------------------------
@case("TC_eUICC_ES10c.SetNickname#01", group="ES10c", title="set a nickname; GetProfilesInfo shows it",
      clause="SGP.22 §5.7.21", restores="puts the previous nickname back (an absent one as empty)",
      mutation=mutation("the listed nickname changes", es10(0xBF2D), flip_value_of(0x90, 0)))
def set_nickname(s: Session) -> None:
    profile = described_profile(s)
    before = profile.get("profileNickname", "")
    s.step("ES10c.SetNickname")
    result = s.es10("SetNicknameRequest", {"iccid": profile["iccid"], "profileNickname": NICKNAME},
                    "SetNicknameResponse")["setNicknameResult"]
    s.on_exit("SetNickname back", lambda: s.es10("SetNicknameRequest", {"iccid": profile["iccid"], "profileNickname": before},
                                               "SetNicknameResponse"))
    expect_result(s, result, OK, "SetNickname")
    s.step("ES10c.GetProfilesInfo")
    now = next(p for p in s.profiles() if p["iccid"] == profile["iccid"]).get("profileNickname")
    s.check(now == NICKNAME, f"nickname reads {now!r}")


@case("TC_eUICC_ES10c.SetNickname#E01", group="ES10c", title="unknown ICCID: iccidNotFound",
      clause="SGP.22 §5.7.21",
      mutation=mutation("setNicknameResult ok", es10(0xBF29), replace(bytes.fromhex("BF2903800100"))))
def set_nickname_unknown(s: Session) -> None:
    s.step("ES10c.SetNickname unknown ICCID")
    result = s.es10("SetNicknameRequest", {"iccid": UNKNOWN_ICCID, "profileNickname": NICKNAME},
                    "SetNicknameResponse")["setNicknameResult"]
    expect_result(s, result, NOT_FOUND, "SetNickname")


# -- ES10a ----------------------------------------------------------------------------------------
def configured_addresses(s: Session) -> dict:
    s.step("ES10a.GetEuiccConfiguredAddresses")
    return s.es10("EuiccConfiguredAddressesRequest", {}, "EuiccConfiguredAddressesResponse")


@case("TC_eUICC_ES10a.GetEuiccConfiguredAddresses#01", group="ES10a", title="the root SM-DS address is present",
      clause="SGP.22 §5.7.3",
      mutation=mutation("the response loses its root SM-DS address", es10(0xBF3C), replace(bytes.fromhex("BF3C00"))))
def get_addresses(s: Session) -> None:
    value = configured_addresses(s)
    s.check(bool(value.get("rootDsAddress")), "rootDsAddress missing or empty")
    s.summary = f"root SM-DS {value['rootDsAddress']}, default SM-DP+ {value.get('defaultDpAddress', '-')}"


@case("TC_eUICC_ES10a.SetDefaultDpAddress#01", group="ES10a", title="set the default SM-DP+ address and read it back",
      clause="SGP.22 §5.7.4, §5.7.3", restores="puts the previous default SM-DP+ address back",
      mutation=mutation("the address read back changes", es10(0xBF3C),
                        lambda d, sw: (d.replace(b"conformance.", b"conformancf."), sw)))
def set_default_dp(s: Session) -> None:
    before = configured_addresses(s).get("defaultDpAddress", "")
    s.step("ES10a.SetDefaultDpAddress")
    result = s.es10("SetDefaultDpAddressRequest", {"defaultDpAddress": "conformance.example.com"},
                    "SetDefaultDpAddressResponse")["setDefaultDpAddressResult"]
    s.on_exit("SetDefaultDpAddress back", lambda: s.es10("SetDefaultDpAddressRequest", {"defaultDpAddress": before},
                                                       "SetDefaultDpAddressResponse"))
    expect_result(s, result, OK, "SetDefaultDpAddress")
    s.check(configured_addresses(s).get("defaultDpAddress") == "conformance.example.com", "the address did not stick")


@case("TC_eUICC_ES10c.eUICCMemoryReset#01", group="ES10c", title="resetDefaultSmdpAddress clears the default SM-DP+ address",
      clause="SGP.22 §5.7.19", restores="puts the previous default SM-DP+ address back",
      mutation=mutation("the reset answers nothingToDelete", es10(0xBF34), replace(bytes.fromhex("BF3403800101"))))
def memory_reset_address(s: Session) -> None:
    before = configured_addresses(s).get("defaultDpAddress", "")
    s.on_exit("SetDefaultDpAddress back", lambda: s.es10("SetDefaultDpAddressRequest", {"defaultDpAddress": before},
                                                       "SetDefaultDpAddressResponse"))
    s.step("ES10a.SetDefaultDpAddress")
    s.es10("SetDefaultDpAddressRequest", {"defaultDpAddress": "reset.example.com"}, "SetDefaultDpAddressResponse")
    s.step("ES10c.eUICCMemoryReset resetDefaultSmdpAddress")
    result = s.es10("EuiccMemoryResetRequest", {"resetOptions": (b"\x20", 3)},
                    "EuiccMemoryResetResponse")["resetResult"]
    expect_result(s, result, OK, "eUICCMemoryReset")
    s.check(configured_addresses(s).get("defaultDpAddress", "") == "", "the default SM-DP+ address survived the reset")


@case("TC_eUICC_ES10b.GetRAT#01", group="ES10b", title="GetRAT: the rules authorisation table decodes",
      clause="SGP.22 §5.7.22, §2.9.2.2",
      mutation=mutation("GetRAT answers 6A88", es10(0xBF43), status(0x6A88)))
def get_rat(s: Session) -> None:
    s.step("ES10b.GetRAT")
    value = s.es10("GetRatRequest", {}, "GetRatResponse")
    s.summary = f"{len(value['rat'])} rule(s)"


@case("TC_eUICC_ES10.StoreData#E01", group="ES10c", title="STORE DATA without data answers 6700",
      clause="GP CS §11.11.2 (Lc), ISO/IEC 7816-4 §5.6 (6700 wrong length)",
      mutation=mutation("the empty STORE DATA answers 9000", command(0xE2), replace(b"", 0x9000)))
def store_data_empty(s: Session) -> None:
    channel = s.open_isd_r()
    s.step("STORE DATA, no data")
    s.expect_sw(s.send(bytes([0x80 | channel, 0xE2, 0x91, 0x00])), 0x6700, what="empty STORE DATA")
