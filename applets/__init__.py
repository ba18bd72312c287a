"""On-card applications, one class per AID.

Adding an applet means adding one module here with one :class:`euicc.applet.Applet` subclass that
sets ``AID`` (and ``INSTALL_BY_DEFAULT`` when every new card should carry it) or, for a network
access application living in an ADF, ``ADF_PREFIX``: :func:`catalog` finds it by walking this
package.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from euicc.applet import Applet


@cache
def catalog() -> dict[str, type[Applet]]:
    """Applet classes by catalog name (the module name), e.g. ``{"isd_r": IsdR, ...}``."""
    found: dict[str, type[Applet]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (issubclass(cls, Applet) and cls.__module__ == module.__name__
                    and (cls.AID or cls.ADF_PREFIX)):
                found[info.name] = cls
    return found
