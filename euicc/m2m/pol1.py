"""POL1, the profile policy rules the eUICC enforces (SGP.02 v4.2 §2.4.4 / §3.x): "disabling not
allowed", "deletion not allowed", "profile deletion is mandatory when its state is changed to
disabled".  A refusal is '69E1' (POL1 of the profile prevents this action).

The byte coding is a setting (:class:`euicc.m2m.settings.Pol1Coding`, SPEC_NOTES §8.1).  The
Fall-Back mechanism and Master Delete are not subject to POL1 (§2.4.4, SPEC_NOTES §2.6).
"""
from __future__ import annotations

from euicc.apdu import SwError
from euicc.m2m.settings import SW_POL1, Pol1Coding
from euicc.profiles.model import ProfileRecord


class Pol1:
    """The POL1 rules of one profile."""

    def __init__(self, value: int, coding: Pol1Coding) -> None:
        self.value = value
        self.coding = coding

    @classmethod
    def of(cls, record: ProfileRecord | None, coding: Pol1Coding) -> "Pol1":
        return cls(record.pol1 if record is not None else 0, coding)

    @property
    def disable_not_allowed(self) -> bool:
        return bool(self.value & self.coding.disable_not_allowed)

    @property
    def delete_not_allowed(self) -> bool:
        return bool(self.value & self.coding.delete_not_allowed)

    @property
    def delete_when_disabled(self) -> bool:
        return bool(self.value & self.coding.delete_when_disabled)

    def check_disable(self) -> None:
        """Before the profile leaves the Enabled state (EnableProfile of another, DisableProfile)."""
        if self.disable_not_allowed:
            raise SwError(SW_POL1)

    def check_delete(self) -> None:
        """Before ES5.DeleteProfile (not Master Delete)."""
        if self.delete_not_allowed:
            raise SwError(SW_POL1)
