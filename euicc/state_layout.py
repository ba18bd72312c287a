"""The card's persistent state: what each store key holds, and what every card must hold.

:func:`layout` is the store codec's type table (euicc.nvm_codec.Layout): a value written or loaded under
a key must have the type of the first rule whose pattern matches the key (``*`` one path segment,
``/**`` the rest); a key no rule matches cannot be stored.  The kernel's rules are
:data:`KERNEL_LAYOUT`; each extension adds the rows of its own records (``Extension.LAYOUT``,
euicc.extension), so a card opened without an extension refuses a state file holding its records.
A new kind of persistent record needs a rule, and its key a name or builder in its package's key
module (euicc.keys, euicc.fs.keys, euicc.gp.keys, euicc.profiles.keys, euicc.rsp.keys,
euicc.m2m.records).

:func:`check` is what "a usable card" means for a state file that already exists (validated
when it is opened, before anything runs on it): the records a provisioned card always holds
(euicc.provisioning, and each extension's ``REQUIRED``) are present, the EID has valid check
digits (SGP.29 §2.2), the GP registry's order list and its entries agree (GP Card Spec §6.6),
every profile record belongs to an ISD-P of the registry, at most one profile is enabled
(SGP.22 §2.4.1, SGP.02 §2.2.1), the active file system is the enabled profile's (or the
no-profile one) and has an MF (TS 102 221 §8.1), and each extension accepts its records.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from euicc import eid as eid_mod
from euicc import keys as card_keys
from euicc.auth.subscription import AkaSubscription
from euicc.fs import keys as fs_keys
from euicc.fs.filesystem import MF_PATH
from euicc.fs.model import FileDescriptor
from euicc.fs.pin import PinState
from euicc.gp import keys as gp_keys
from euicc.gp.access_control import AccessRule
from euicc.gp.key_store import Scp03Keys
from euicc.gp.registry import KIND_SD, Registry, RegistryEntry
from euicc.nvm import StateFileError, Store
from euicc.nvm_codec import Layout, LayoutRule
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import NO_PROFILE_FSID
from euicc.profiles.model import STATE_ENABLED, ProfileRecord

if TYPE_CHECKING:
    from euicc.extension import Extension

Plain = Mapping[str, Any]          # a record kept as a mapping (SAIP values, credentials)

#: Record types of the kernel (the store codec's registered dataclasses).
KERNEL_TYPES = (FileDescriptor, PinState, RegistryEntry, ProfileRecord, AkaSubscription, AccessRule,
                Scp03Keys)

KERNEL_LAYOUT: tuple[LayoutRule, ...] = (
    # the card (euicc.provisioning, euicc.profiles.manager; an extension's identity may set card/eid)
    ("card/eid", bytes),
    ("card/active-fs", str),
    ("card/version", int),
    ("card/iin", bytes),
    ("card/cin", bytes),
    ("isdr/key-info", bytes),
    # the ISD-R's SCP03 key sets and "i" parameter (euicc.gp.key_store)
    ("isdr/scp03/*", Scp03Keys),
    ("isdr/scp03-i", int),
    # ARA-M access rules (euicc.gp.access_control)
    ("aram/rules", tuple[AccessRule, ...]),
    ("aram/refresh-tag", bytes),
    # GP registry (euicc.gp.registry) and profiles (euicc.profiles.manager)
    ("gp-order", tuple[bytes, ...]),
    ("gp/*", RegistryEntry),
    ("profile/*", ProfileRecord),
    # file systems (euicc.fs, euicc.profiles.pe_keys, euicc.auth.subscription)
    ("fs/*/n/**", FileDescriptor),
    ("fs/*/d/**", bytes | tuple[bytes, ...]),
    ("fs/*/adfs", tuple[bytes, ...]),
    ("fs/*/pin/*", PinState),
    ("fs/*/aka/*", AkaSubscription),
    ("fs/*/cdma", Plain),
    ("fs/*/registry/*", RegistryEntry),
    ("fs/*/keys/*/*", Plain),
    ("fs/*/sd-perso/*", tuple[bytes, ...]),
    ("fs/*/sd-toolkit/*", bytes),
    ("fs/*/scp80-counter/*/*", int),
    ("fs/*/rfm/*", Plain),
    ("fs/*/applications/*", Plain),
)

#: Records every provisioned card holds (euicc.provisioning.provision writes them).
REQUIRED = (card_keys.EID, profile_keys.ACTIVE_FS, gp_keys.REGISTRY_ORDER)


def record_types(extensions: Sequence[Extension]) -> tuple[type, ...]:
    """The store codec's record types: the kernel's and each extension's."""
    return KERNEL_TYPES + tuple(t for ext in extensions for t in ext.RECORD_TYPES)


def layout(extensions: Sequence[Extension]) -> Layout:
    """The card's layout: the kernel's rules, then each extension's."""
    return Layout(KERNEL_LAYOUT + tuple(rule for ext in extensions for rule in ext.LAYOUT))


def check(store: Store, extensions: Sequence[Extension] = ()) -> None:
    """Refuse (StateFileError) a state file that is not a usable card; see the module docstring.
    Types were checked record by record when the file was loaded."""
    def refuse(reason: str) -> None:
        raise StateFileError(store.path, reason)

    if not store.keys(""):
        refuse("holds no card (no records; delete it to create a new card)")
    required = REQUIRED + tuple(k for ext in extensions for k in ext.REQUIRED)
    missing = [k for k in required if k not in store]
    if missing:
        refuse(f"not a complete card: no {', '.join(missing)} record")
    eid = store.get(card_keys.EID)
    if len(eid) != 16 or not eid_mod.is_valid(eid.hex()):
        refuse(f"card/eid {eid.hex().upper()} is not a valid EID")
    for ext in extensions:
        ext.check(store, refuse)
    _check_registry(store, refuse)
    _check_profiles(store, refuse)


def _check_registry(store: Store, refuse: Any) -> None:
    order = store.get(gp_keys.REGISTRY_ORDER)
    listed = {aid.hex().upper() for aid in order}
    if len(listed) != len(order):
        refuse("gp-order lists an AID twice")
    entries = {k[len(gp_keys.REGISTRY):]: store.get(k) for k in store.keys(gp_keys.REGISTRY)}
    if set(entries) != listed:
        refuse(f"gp-order and the gp/ registry entries disagree "
               f"({', '.join(sorted(set(entries) ^ listed))})")
    for aid, entry in entries.items():
        if entry.aid.hex().upper() != aid:
            refuse(f"gp/{aid} holds the entry of {entry.aid.hex().upper()}")


def _check_profiles(store: Store, refuse: Any) -> None:
    registry = Registry(store)
    enabled: list[ProfileRecord] = []
    for key in store.keys(profile_keys.PROFILES):
        record = store.get(key)
        aid = key[len(profile_keys.PROFILES):]
        if record.isdp_aid.hex().upper() != aid:
            refuse(f"{key} holds the profile of ISD-P {record.isdp_aid.hex().upper()}")
        entry = registry.get(record.isdp_aid)
        if entry is None or entry.kind != KIND_SD:
            refuse(f"{key}: its ISD-P is not in the GP registry")
        if record.state == STATE_ENABLED:
            enabled.append(record)
    if len(enabled) > 1:
        refuse(f"{len(enabled)} profiles are enabled")
    active = store.get(profile_keys.ACTIVE_FS)
    expected = enabled[0].fsid if enabled else NO_PROFILE_FSID
    if active != expected:
        refuse(f"{profile_keys.ACTIVE_FS} is {active!r}, but the enabled profile's file system "
               f"is {expected!r}")
    if fs_keys.nodes(active) + MF_PATH not in store:
        refuse(f"the active file system {active!r} has no MF")
