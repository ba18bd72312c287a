"""On-card applications, one class per AID.

Adding an applet means adding one module here with one :class:`euicc.applet.Applet` subclass that
declares its ``APPLET_ID`` and sets ``AID`` (and ``INSTALL_BY_DEFAULT`` when every new card should
carry it) or, for a network access application living in an ADF, ``ADF_PREFIX``: :func:`catalog`
finds it by walking this package.  The applet id is what a card's GP registry entries keep
(``RegistryEntry.applet``), so it never changes; modules and classes may be renamed.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from euicc.applet import Applet


@cache
def catalog() -> dict[str, type[Applet]]:
    """The applet classes of this package by applet id, e.g. ``{"isd_r": IsdR, ...}``."""
    classes = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        classes += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                    if issubclass(cls, Applet) and cls.__module__ == module.__name__
                    and (cls.AID or cls.ADF_PREFIX)]
    return by_applet_id(classes)


def by_applet_id(classes: list[type[Applet]]) -> dict[str, type[Applet]]:
    """`classes` by the ``APPLET_ID`` each declares itself; a class without its own id, or two
    classes with one id, are a defect (``TypeError``)."""
    found: dict[str, type[Applet]] = {}
    for cls in classes:
        applet_id = vars(cls).get("APPLET_ID")
        if not isinstance(applet_id, str) or not applet_id:
            raise TypeError(f"applet {cls.__qualname__} declares no APPLET_ID")
        if found.setdefault(applet_id, cls) is not cls:
            raise TypeError(f"applets {cls.__qualname__} and {found[applet_id].__qualname__} "
                            f"both declare the applet id {applet_id!r}")
    return found
