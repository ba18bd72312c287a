"""Profile and ISD-P state: the operations SGP.22 v2.5 §3.2-§3.3 (ES10c) and SGP.02 v4.2 §3.2-§3.5
(ES5) share.  Each method changes the store inside the caller's transaction, so an operation and
everything that belongs to it (registry, active file system, records) commit together or not at all.
Policy (PPR, POL1, Fall-Back) is the caller's: the rules differ between SGP.22 and SGP.02.
"""
from __future__ import annotations

from dataclasses import replace

from euicc.fs import keys as fs_keys
from euicc.gp.registry import (KIND_SD, LCS_ISDP_DISABLED, LCS_ISDP_ENABLED, LCS_SELECTABLE,
                               PRIV_AUTHORIZED_MANAGEMENT, PRIV_SECURITY_DOMAIN, PRIV_TRUSTED_PATH,
                               Registry, RegistryEntry)
from euicc.nvm import Store
from euicc.ports import SINGLE, PortLayout
from euicc.profiles import keys as profile_keys
from euicc.profiles.model import (STATE_DISABLED, STATE_ENABLED, ProfileError, ProfileErrorCode,
                                  ProfileRecord)

NO_PROFILE_FSID = "euicc"            # the file system the terminal sees with no profile enabled
ISD_P_ELF = bytes.fromhex("A0000005591010FFFFFFFF8900000D00")
ISD_P_MODULE = bytes.fromhex("A0000005591010FFFFFFFF8900000E00")
ISD_P_APPLET = "isd_p"              # applet id of the ISD-P module (applets.isd_p)
_AID_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF89")   # SGP.02 Annex H: prefix || TAR || '00'
FIRST_TAR, LAST_TAR = 0x000010, 0x00FFFF
ISDP_PRIVILEGES = PRIV_SECURITY_DOMAIN | PRIV_TRUSTED_PATH | PRIV_AUTHORIZED_MANAGEMENT


def isdp_aid(tar: int) -> bytes:
    return _AID_PREFIX + tar.to_bytes(3, "big") + b"\x00"


def fsid_of(aid: bytes) -> str:
    return "isdp-" + aid.hex().upper()


class ProfileManager:
    """ISD-Ps and their profiles in the persistent store; with eSIM ports (`ports`, euicc.ports)
    one profile can be enabled per port."""

    def __init__(self, store: Store, ports: PortLayout = SINGLE) -> None:
        self.store = store
        self.registry = Registry(store)
        self.ports = ports

    # -- reading -------------------------------------------------------------------------------
    def records(self) -> list[ProfileRecord]:
        out = []
        for e in self.registry.entries():
            rec = self.store.get(profile_keys.profile(e.aid))
            if rec is not None:
                out.append(rec)
        return out

    def get(self, aid: bytes) -> ProfileRecord:
        rec = self.store.get(profile_keys.profile(aid))
        if rec is None:
            raise ProfileError(ProfileErrorCode.ICCID_OR_AID_NOT_FOUND)
        return rec

    def by_iccid(self, iccid: bytes) -> ProfileRecord:
        for rec in self.records():
            if rec.iccid == iccid:
                return rec
        raise ProfileError(ProfileErrorCode.ICCID_OR_AID_NOT_FOUND)

    def enabled(self) -> ProfileRecord | None:
        for rec in self.records():
            if rec.state == STATE_ENABLED:
                return rec
        return None

    def port_of(self, record: ProfileRecord) -> int | None:
        """The port (LSI) that shows the enabled profile `record` (None: disabled, or shown on
        none)."""
        if record.state != STATE_ENABLED:
            return None
        return next((lsi for lsi in self.ports.profile_ports
                     if self.store.get(self.ports.fs_key(lsi)) == record.fsid), None)

    def enabled_on(self, lsi: int | None) -> ProfileRecord | None:
        """The profile enabled on port `lsi` (None: the first profile port, the one a card
        without ports has), if any."""
        key = profile_keys.ACTIVE_FS if lsi is None else self.ports.fs_key(lsi)
        fsid = self.store.get(key) if key is not None else None
        return next((r for r in self.records() if r.state == STATE_ENABLED and r.fsid == fsid), None)

    def isdps(self) -> list[RegistryEntry]:
        return [e for e in self.registry.entries() if e.elf == ISD_P_ELF]

    # -- ISD-P life cycle ----------------------------------------------------------------------
    def create_isdp(self, aid: bytes | None = None) -> bytes:
        """Install a new ISD-P (SGP.02 §3.1.1 CreateISDP / SGP.22 §3.1.3 step ConfigureISDP)."""
        if aid is None:
            used = {e.aid for e in self.registry.entries()}
            aid = next((isdp_aid(t) for t in range(FIRST_TAR, LAST_TAR + 1)
                        if isdp_aid(t) not in used), None)
            if aid is None:
                raise ProfileError(ProfileErrorCode.NOT_ENOUGH_MEMORY)
        elif self.registry.get(aid) is not None:
            raise ProfileError(ProfileErrorCode.ALREADY_EXISTS)
        self.registry.put(RegistryEntry(aid, KIND_SD, LCS_SELECTABLE, ISDP_PRIVILEGES,
                                        applet=ISD_P_APPLET, elf=ISD_P_ELF, selectable=False))
        return aid

    def add_profile(self, record: ProfileRecord) -> None:
        """Record an installed profile in its ISD-P; the ISD-P becomes DISABLED."""
        entry = self.registry.get(record.isdp_aid)
        if entry is None:
            raise ProfileError(ProfileErrorCode.ICCID_OR_AID_NOT_FOUND)
        if any(r.iccid == record.iccid for r in self.records()):
            raise ProfileError(ProfileErrorCode.ALREADY_EXISTS)
        self._put(replace(record, state=STATE_DISABLED))

    def update(self, record: ProfileRecord) -> None:
        self.get(record.isdp_aid)
        self._put(record)

    def _put(self, record: ProfileRecord) -> None:
        self.store.put(profile_keys.profile(record.isdp_aid), record)
        entry = self.registry.get(record.isdp_aid)
        lcs = LCS_ISDP_ENABLED if record.state == STATE_ENABLED else LCS_ISDP_DISABLED
        if entry is not None and entry.lifecycle != lcs:
            self.registry.put(replace(entry, lifecycle=lcs))

    # -- state changes -------------------------------------------------------------------------
    def enabled_after_enable(self, aid: bytes, port: int | None = None) -> list[ProfileRecord]:
        """Every profile :meth:`enable` (`aid`, `port`) would leave enabled: those enabled now
        but the one on `port`, which it disables, and `aid`."""
        previous = self.enabled_on(port)
        kept = [r for r in self.records() if r.state == STATE_ENABLED
                and (previous is None or r.isdp_aid != previous.isdp_aid) and r.isdp_aid != aid]
        return [*kept, replace(self.get(aid), state=STATE_ENABLED)]

    def enabled_after_disable(self, aid: bytes) -> list[ProfileRecord]:
        """Every profile :meth:`disable` (`aid`) would leave enabled."""
        return [r for r in self.records() if r.state == STATE_ENABLED and r.isdp_aid != aid]

    def enable(self, aid: bytes, port: int | None = None) -> ProfileRecord | None:
        """Enable `aid` on eSIM port `port` (None: the first profile port, the only one of a card
        without ports), disabling the profile enabled there; returns the profile that was
        disabled."""
        target = self.get(aid)
        if target.state != STATE_DISABLED:
            raise ProfileError(ProfileErrorCode.NOT_IN_DISABLED_STATE)
        key = profile_keys.ACTIVE_FS if port is None else self.ports.fs_key(port)
        if key is None:
            raise ProfileError(ProfileErrorCode.DISALLOWED_BY_POLICY)
        previous = self.enabled_on(port)
        if previous is not None:
            self._put(replace(previous, state=STATE_DISABLED))
        self._put(replace(target, state=STATE_ENABLED))
        self.store.put(key, target.fsid)
        return previous

    def disable(self, aid: bytes) -> None:
        """Disable `aid`; the port that showed it shows the eUICC's own file system."""
        target = self.get(aid)
        if target.state != STATE_ENABLED:
            raise ProfileError(ProfileErrorCode.NOT_IN_ENABLED_STATE)
        shown = (profile_keys.ACTIVE_FS, *self.store.keys(profile_keys.PORT_FS))
        key = next((k for k in shown if self.store.get(k) == target.fsid), profile_keys.ACTIVE_FS)
        self._put(replace(target, state=STATE_DISABLED))
        self.store.put(key, NO_PROFILE_FSID)

    def delete(self, aid: bytes) -> ProfileRecord | None:
        """Delete the ISD-P `aid` with its profile (which must not be enabled)."""
        rec = self.store.get(profile_keys.profile(aid))
        if rec is not None and rec.state == STATE_ENABLED:
            raise ProfileError(ProfileErrorCode.NOT_IN_DISABLED_STATE)
        entry = self.registry.get(aid)
        if entry is None or entry.elf != ISD_P_ELF:
            raise ProfileError(ProfileErrorCode.ICCID_OR_AID_NOT_FOUND)
        for key in self.store.keys(fs_keys.root(fsid_of(aid))):
            self.store.delete(key)
        for key in self.store.keys(profile_keys.isdp(aid)):
            self.store.delete(key)
        self.store.delete(profile_keys.profile(aid))
        self.registry.remove(aid)
        return rec
