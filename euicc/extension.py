"""The port through which a card function (SGP.22 consumer RSP, SGP.02 M2M, ...) plugs into the
kernel when a card is opened (``Card.open(path, applets=..., extensions=[...])``).

An extension contributes:

- the optional features a card may leave out (:attr:`Extension.FEATURES`, names for
  ``CardConfig.disabled``);
- its persistent record types and the store-key rules of its records (:attr:`Extension.RECORD_TYPES`,
  :attr:`Extension.LAYOUT`, rows of the card's euicc.nvm_codec.Layout after the kernel's), the records
  every card it provisioned holds (:attr:`Extension.REQUIRED`) and a check of them
  (:meth:`Extension.check`);
- the applets it brings (:meth:`Extension.applets`, added to the card's catalog);
- what it does on a new card (:meth:`Extension.provision`, inside the provisioning transaction);
- its envelope handlers (TS 102 223 §7: SMS-PP download, event download), the functions it adds
  to the ISD-R and its runtime (settings, clock, randomness) in :meth:`Extension.install`, called
  with the card's services each time the card is opened.

Its volatile state is typed (euicc.volatile) and lives in ``ctx.volatile``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from euicc.channels import Application
    from euicc.context import CardServices
    from euicc.nvm import Store
    from euicc.nvm_codec import LayoutRule

Refuse = Callable[[str], None]     # raises StateFileError with the reason


class Extension:
    """Base class of a card extension; every contribution is empty unless overridden."""

    NAME: ClassVar[str] = ""
    RECORD_TYPES: ClassVar[tuple[type, ...]] = ()
    LAYOUT: ClassVar[tuple[LayoutRule, ...]] = ()
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    FEATURES: ClassVar[frozenset[str]] = frozenset()

    def applets(self) -> Mapping[str, type[Application]]:
        """Applet classes by catalog name that this extension adds."""
        return {}

    def install(self, services: CardServices) -> None:
        """Register handlers, ISD-R functions and the runtime with an opened card's services."""

    def provision(self, store: Store) -> None:
        """Write this extension's part of a new card (``card/eid`` is already stored)."""

    def check(self, store: Store, refuse: Refuse) -> None:
        """Refuse a state file whose records of this extension are unusable (after REQUIRED)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
