"""Profile state changes of SGP.02 v4.2 §3.2-§3.5 / §4.1.1 (ES5 EnableProfile, DisableProfile,
DeleteProfile, MasterDelete, SetFallBackAttribute, SetEmergencyProfileAttribute) and the
eUICC-initiated ones (Fall-Back activation §3.18 and the return from it, rollback §3.2.x), with
their refusals:

- '6A88' unknown ISD-P; '6985' target not in the required state, has the Fall-Back Attribute,
  or holds no profile yet; '69E1' POL1 forbids (SPEC_NOTES §2.2).

A successful switch queues a REFRESH (TS 102 223 §6.4.7, ``refresh_qualifier``) and a
notification whose confirmation the eUICC waits for (:mod:`euicc.m2m.notifications`).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc.apdu import SW, SwError
from euicc.cat.proactive import refresh
from euicc.m2m.notifications import NotificationQueue
from euicc.m2m.pol1 import Pol1
from euicc.m2m.records import FALLBACK_RETURN
from euicc.m2m.runtime import M2mRuntime, volatile
from euicc.m2m.settings import NOTIF_FALLBACK, NOTIF_PROFILE_CHANGE, NOTIF_ROLLBACK
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import ISD_P_ELF
from euicc.profiles.model import STATE_ENABLED, ProfileError, ProfileRecord

if TYPE_CHECKING:
    from euicc.context import Context


class PlatformManagement:
    """The ISD-R's profile operations on behalf of ES5 and of the eUICC itself."""

    def __init__(self, ctx: Context, runtime: M2mRuntime) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.profiles = ctx.services.profiles
        self.pol1 = runtime.settings.pol1

    # -- lookups -----------------------------------------------------------------------------
    def record(self, aid: bytes) -> ProfileRecord:
        """The profile of ISD-P `aid`: '6A88' if no such ISD-P, '6985' if it holds no profile."""
        entry = self.ctx.registry.get(aid)
        if entry is None or entry.elf != ISD_P_ELF:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        try:
            return self.profiles.get(aid)
        except ProfileError:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED) from None

    def fallback(self) -> ProfileRecord | None:
        return next((r for r in self.profiles.records() if r.fallback), None)

    # -- switches ----------------------------------------------------------------------------
    def _switch(self, target: ProfileRecord) -> ProfileRecord | None:
        previous = self.profiles.enable(target.isdp_aid)
        self.ctx.cat.submit(refresh(self.runtime.settings.refresh_qualifier))
        return previous

    def enable(self, aid: bytes) -> None:
        """ES5.EnableProfile (SGP.02 §4.1.1.2): POL1 of the enabled profile, target Disabled."""
        target = self.record(aid)
        if target.state == STATE_ENABLED:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        current = self.profiles.enabled()
        pol1 = Pol1.of(current, self.pol1)
        pol1.check_disable()
        self._switch(target)
        self.end_fallback()
        self._notify_switch(target, current, pol1)

    def disable(self, aid: bytes) -> None:
        """ES5.DisableProfile (SGP.02 §4.1.1.3): the profile with the Fall-Back Attribute is
        enabled instead; the target must be Enabled and must not hold that attribute."""
        target = self.record(aid)
        fallback = self.fallback()
        if target.state != STATE_ENABLED or target.fallback or fallback is None:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        pol1 = Pol1.of(target, self.pol1)
        pol1.check_disable()
        self._switch(fallback)
        self.end_fallback()
        self._notify_switch(fallback, target, pol1)

    def _notify_switch(self, enabled: ProfileRecord, previous: ProfileRecord | None, pol1: Pol1) -> None:
        previous_aid = previous.isdp_aid if previous is not None else b""
        NotificationQueue(self.ctx, self.runtime).add(
            NOTIF_PROFILE_CHANGE, enabled.isdp_aid, rollback_to=previous_aid,
            delete_on_confirm=previous_aid if pol1.delete_when_disabled else b"")

    def rollback(self, to: bytes) -> None:
        """Roll an unconfirmed switch back (SGP.02 §3.2.x): re-enable `to`, ignoring POL1."""
        try:
            target = self.profiles.get(to)
        except ProfileError:
            return
        if target.state != STATE_ENABLED:
            self._switch(target)
        NotificationQueue(self.ctx, self.runtime).add(NOTIF_ROLLBACK, to)

    def activate_fallback(self) -> bool:
        """The Fall-Back mechanism (SGP.02 §3.18): enable the Fall-Back profile, POL1 ignored, no
        rollback, notification '05'.  Not while the Emergency profile or the Fall-Back profile
        itself is enabled.  Remembers the disabled profile for :meth:`return_from_fallback`."""
        current, fallback = self.profiles.enabled(), self.fallback()
        if fallback is None or current is None or current.fallback or current.emergency:
            return False
        self.ctx.store.put(FALLBACK_RETURN, (current.isdp_aid, self.runtime.now_ms()))
        self._switch(fallback)
        NotificationQueue(self.ctx, self.runtime).add(NOTIF_FALLBACK, fallback.isdp_aid)
        return True

    def fallback_return_target(self) -> tuple[bytes, int] | None:
        """(ISD-P AID, since ms) of the profile the Fall-Back mechanism disabled, while the
        Fall-Back profile is still the enabled one; None otherwise."""
        saved = self.ctx.store.get(FALLBACK_RETURN)
        current = self.profiles.enabled()
        if (not isinstance(saved, tuple) or len(saved) != 2 or current is None or not current.fallback
                or not isinstance(saved[0], bytes) or not isinstance(saved[1], int)):
            return None
        return saved

    def return_from_fallback(self) -> bool:
        """Return from Fall-Back (SGP.02 v4.2, SPEC_NOTES §2.7): re-enable the profile the
        Fall-Back mechanism disabled, POL1 ignored like the mechanism itself.  The switch is
        notified ('02') and rolled back to the Fall-Back profile if the SM-SR does not confirm it
        within ``validity_period``; the record stays (with the time of this try) until the SM-SR
        confirms, so a failed return is tried again ``fallback_return_after`` later."""
        saved = self.fallback_return_target()
        if saved is None:
            return False
        try:
            target = self.profiles.get(saved[0])
        except ProfileError:
            self.ctx.store.delete(FALLBACK_RETURN)
            return False
        fallback = self.profiles.enabled()
        self.ctx.store.put(FALLBACK_RETURN, (target.isdp_aid, self.runtime.now_ms()))
        self._switch(target)
        NotificationQueue(self.ctx, self.runtime).add(NOTIF_PROFILE_CHANGE, target.isdp_aid,
                                                      rollback_to=fallback.isdp_aid)
        return True

    def end_fallback(self) -> None:
        """The SM-SR changed the enabled profile itself (ES5): no return from Fall-Back is due."""
        if self.ctx.store.get(FALLBACK_RETURN) is not None:
            self.ctx.store.delete(FALLBACK_RETURN)

    # -- deletion ----------------------------------------------------------------------------
    def delete(self, aid: bytes, master: bool = False) -> None:
        """ES5.DeleteProfile (GP DELETE, SGP.02 §4.1.1.4) or MasterDelete (§4.1.1.6, no POL1).

        An ISD-P without a profile may always be deleted (a failed download's leftovers)."""
        entry = self.ctx.registry.get(aid)
        if entry is None or entry.elf != ISD_P_ELF:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        record = self.ctx.store.get(profile_keys.profile(aid))
        if record is not None:
            if record.state == STATE_ENABLED or record.fallback:
                raise SwError(SW.CONDITIONS_NOT_SATISFIED)
            if not master:
                Pol1.of(record, self.pol1).check_delete()
        self._delete(aid)

    def _delete(self, aid: bytes) -> None:
        """The ISD-P with its profile, and whatever session state the power cycle holds for it."""
        self.profiles.delete(aid)
        state = volatile(self.ctx)
        if state is not None:
            state.forget_isdp(aid)

    # -- attributes --------------------------------------------------------------------------
    def set_fallback(self, aid: bytes) -> None:
        """ES5.SetFallBackAttribute (SGP.02 §4.1.1.7): exactly one profile holds it; not the
        Emergency profile."""
        target = self.record(aid)
        if target.emergency:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        for rec in self.profiles.records():
            if rec.fallback and rec.isdp_aid != aid:
                self.profiles.update(replace(rec, fallback=False))
        self.profiles.update(replace(self.profiles.get(aid), fallback=True))

    def set_emergency(self, aid: bytes) -> None:
        """ES5.SetEmergencyProfileAttribute (SGP.02 v4.x §4.1.1.x): at most one profile, never the
        Fall-Back one."""
        target = self.record(aid)
        if target.fallback:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        for rec in self.profiles.records():
            if rec.emergency and rec.isdp_aid != aid:
                self.profiles.update(replace(rec, emergency=False))
        self.profiles.update(replace(self.profiles.get(aid), emergency=True))

    # -- confirmation and timers -------------------------------------------------------------
    def confirm(self, seq: int) -> list[bytes]:
        """ES5.HandleNotificationConfirmation (SGP.02 §4.1.1.12): forget the notification, then
        delete a profile whose POL1 asks deletion when disabled; returns the deleted AIDs."""
        item = NotificationQueue(self.ctx, self.runtime).remove(seq)
        saved = self.ctx.store.get(FALLBACK_RETURN)
        if item.kind == NOTIF_PROFILE_CHANGE and isinstance(saved, tuple) and saved[:1] == (item.isdp_aid,):
            self.end_fallback()                   # the SM-SR confirmed the return from Fall-Back
        deleted = []
        aid = item.delete_on_confirm
        if aid:
            record = self.ctx.store.get(profile_keys.profile(aid))
            if record is not None and record.state != STATE_ENABLED and not record.fallback:
                self._delete(aid)
                deleted.append(aid)
        return deleted

    def tick(self, attached: bool) -> None:
        """Roll back switches whose confirmation is overdue, then (re)send what is due."""
        queue = NotificationQueue(self.ctx, self.runtime)
        now, validity = self.runtime.now_ms(), self.runtime.settings.validity_period * 1000
        for item in queue.pending():
            if item.rollback_to and now - item.created > validity:
                queue.remove(item.seq)
                self.rollback(item.rollback_to)
        queue.send_due(attached)
