"""Enterprise Profiles on the eUICC: SGP.22 v3.1 §2.4a.1.7 (``EnterpriseConfiguration``), §2.4.12
(Profile Rules Enforcer: Enterprise Rules), §3.1.3 (checks before installation), §5.5.3
(StoreMetadata ``ErrorReason`` 17-22) and §5.7.16 / §5.7.17 (EnableProfile / DisableProfile
``disallowedByEnterpriseRule`` (6)).

A profile is an Enterprise Profile when its metadata carries ``enterpriseConfiguration`` ('BD');
the configuration is kept with the profile (its stored StoreMetadata) and read back from there;
GetProfilesInfo returns it when the tagList names 'BD' (euicc.rsp.es10c.V3_MEMBERS).
The Enterprise Rules in force are those of the installed profile whose ``enterpriseRuleBits`` has
``referenceEnterpriseRule`` (at most one, the Reference Enterprise Rule).

[U] The v3.1 clause text could not be read here; the rules below follow the ASN.1 comments of
the v3.1 module and secondary summaries of §3.1.3 / §2.4.12, and each is pinned by a test:

Download (StoreMetadata, any session version; ``EnterpriseDownload``):

* ``enterpriseConfiguration`` while the card does not support Enterprise Profiles (setting
  ``EuiccInfoSettings.enterprise_profiles``, EuiccRspCapability bit 9): enterpriseProfilesNotSupported (17);
* an Enterprise Profile that is not of class operational, or while an installed operational
  profile has PPR1 (it could never be replaced by the enterprise profile): enterpriseProfileNotAllowed (19);
* ``enterpriseRules`` while the Device is not an Enterprise Capable Device (``LpaRspCapability``
  bit 3 ``enterpriseCapableDevice`` absent from the session's DeviceInfo): enterpriseRulesNotAllowed (18);
* an ``enterpriseOid`` other than that of the installed Enterprise Profiles: enterpriseOidMismatch (20);
* a second Reference Enterprise Rule, or a negative ``numberOfNonEnterpriseProfiles``:
  enterpriseRulesError (21);
* a non-Enterprise Profile while the Reference Enterprise Rule has
  ``onlyEnterpriseProfilesCanBeInstalled``: enterpriseProfilesOnly (22).

Enable / disable (the Reference Enterprise Rule, if any; ``operation_refused``): the profiles
enabled after the operation must satisfy ``priorityEnterpriseProfile`` (no other profile
enabled unless the reference profile is enabled too; it cannot be disabled) and
``numberOfNonEnterpriseProfiles`` (at most that many non-Enterprise Profiles enabled).

Delete: no delete result names an Enterprise Rule; deleting the reference profile (once
disabled, which a priority rule forbids) removes its rules with it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import CLASS_OPERATIONAL, PPR1, ProfileRecord
from euicc.rsp import der, metadata

if TYPE_CHECKING:
    from euicc.nvm import Store

# ErrorReason (SGP.22 v3.1 RSPDefinitions)
ENTERPRISE_PROFILES_NOT_SUPPORTED = 17
ENTERPRISE_RULES_NOT_ALLOWED = 18
ENTERPRISE_PROFILE_NOT_ALLOWED = 19
ENTERPRISE_OID_MISMATCH = 20
ENTERPRISE_RULES_ERROR = 21
ENTERPRISE_PROFILES_ONLY = 22
# enterpriseRuleBits (first octet, bit 0 = 0x80)
REFERENCE_ENTERPRISE_RULE, PRIORITY_ENTERPRISE_PROFILE, ONLY_ENTERPRISE_PROFILES = 0x80, 0x40, 0x20
ENTERPRISE_CAPABLE_DEVICE = 3
"""LpaRspCapability bit ``enterpriseCapableDevice`` (DeviceInfo tag '85', v3.1)."""


class EnterpriseRefused(Exception):
    """An Enterprise rule refuses the operation; ``reason`` is the v3.1 ErrorReason."""

    def __init__(self, reason: int, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class EnterpriseConfig:
    """One profile's ``EnterpriseConfiguration`` (v3.1 §2.4a.1.7)."""

    oid: str
    name: str
    has_rules: bool = False
    rule_bits: int = 0
    non_enterprise_limit: int | None = None     # numberOfNonEnterpriseProfiles (that can be enabled)

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> EnterpriseConfig:
        rules = value.get("enterpriseRules")
        if rules is None:
            return cls(value["enterpriseOid"], value["enterpriseName"])
        return cls(value["enterpriseOid"], value["enterpriseName"], True,
                   der.bits_to_int(rules["enterpriseRuleBits"]), rules["numberOfNonEnterpriseProfiles"])

    @property
    def reference(self) -> bool:
        return bool(self.rule_bits & REFERENCE_ENTERPRISE_RULE)

    @property
    def priority(self) -> bool:
        return bool(self.rule_bits & PRIORITY_ENTERPRISE_PROFILE)

    @property
    def only_enterprise(self) -> bool:
        return bool(self.rule_bits & ONLY_ENTERPRISE_PROFILES)


def configuration(rec: ProfileRecord) -> EnterpriseConfig | None:
    """The Enterprise Configuration kept with ``rec`` (its StoreMetadata), None for other profiles."""
    value = metadata.stored(rec.metadata).get("enterpriseConfiguration")
    return EnterpriseConfig.from_value(value) if value is not None else None


def reference_rule(records: Iterable[ProfileRecord]) -> tuple[ProfileRecord, EnterpriseConfig] | None:
    """The installed profile holding the Reference Enterprise Rule, with its configuration."""
    for rec in records:
        config = configuration(rec)
        if config is not None and config.reference:
            return rec, config
    return None


def device_is_enterprise_capable(device_info: dict[str, Any] | None) -> bool:
    """DeviceInfo (v3.1) ``lpaRspCapability`` has ``enterpriseCapableDevice``."""
    capability = (device_info or {}).get("lpaRspCapability")
    if capability is None:
        return False
    data, size = capability
    return size > ENTERPRISE_CAPABLE_DEVICE and bool(data[0] & (0x80 >> ENTERPRISE_CAPABLE_DEVICE))


@dataclass(frozen=True)
class EnterpriseDownload:
    """What the download checks need from the card and the session: Enterprise Profiles
    supported (a card setting) and the Device an Enterprise Capable Device (its DeviceInfo)."""

    supported: bool = False
    capable_device: bool = False

    def check(self, store: Store, meta: dict[str, Any]) -> None:
        """The download checks of the module docstring for StoreMetadata ``meta``."""
        records = ProfileManager(store).records()
        value = meta.get("enterpriseConfiguration")
        if value is None:
            ref = reference_rule(records)
            if ref is not None and ref[1].only_enterprise:
                raise EnterpriseRefused(ENTERPRISE_PROFILES_ONLY, "only Enterprise Profiles can be installed")
            return
        new = EnterpriseConfig.from_value(value)
        if not self.supported:
            raise EnterpriseRefused(ENTERPRISE_PROFILES_NOT_SUPPORTED, "Enterprise Profiles not supported")
        if meta.get("profileClass", CLASS_OPERATIONAL) != CLASS_OPERATIONAL or any(
                r.profile_class == CLASS_OPERATIONAL and r.ppr & PPR1 for r in records):
            raise EnterpriseRefused(ENTERPRISE_PROFILE_NOT_ALLOWED, "Enterprise Profile not allowed here")
        if new.has_rules and not self.capable_device:
            raise EnterpriseRefused(ENTERPRISE_RULES_NOT_ALLOWED, "Device is not Enterprise Capable")
        installed = [c for c in map(configuration, records) if c is not None]
        if any(c.oid != new.oid for c in installed):
            raise EnterpriseRefused(ENTERPRISE_OID_MISMATCH, "another enterprise's profiles are installed")
        if new.reference and any(c.reference for c in installed) or (new.non_enterprise_limit or 0) < 0:
            raise EnterpriseRefused(ENTERPRISE_RULES_ERROR, "Enterprise Rules in conflict")


def operation_refused(store: Store, enabled_after: Iterable[ProfileRecord]) -> bool:
    """The Reference Enterprise Rule forbids the set of profiles an enable or disable would leave
    enabled (module docstring): every one of them counts, on whichever eSIM port it is
    (euicc.profiles.manager.ProfileManager.enabled_after_enable / enabled_after_disable), so
    with Multiple Enabled Profiles the profiles kept on the other ports are checked with the
    one enabled and whatever it displaces is left out."""
    ref = reference_rule(ProfileManager(store).records())
    if ref is None:
        return False
    owner, rules = ref
    after = list(enabled_after)
    if rules.priority and owner.isdp_aid not in {r.isdp_aid for r in after}:
        return True
    others = sum(1 for r in after if configuration(r) is None)
    return rules.non_enterprise_limit is not None and others > rules.non_enterprise_limit
