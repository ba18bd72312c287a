"""File structure templates by OID: TCA eUICC Profile Package (SAIP) v3.3.1 §9 / Annex A.

A template (one OID, one ``ProfileElement`` alternative) defines the files a PE creates: FID,
structure, size, SFI, the EF.ARR record of its access rule and the default contents.  A PE may
override any of these with its own ``Fcp`` and fill commands (SAIP §8.3).  Templates are declarative
data, one module per template group; :data:`TEMPLATES` maps each supported OID to its template.

Default contents use the TCA notation: ``'FF...FF'`` fills the file (each record of a record EF)
with 'FF'; ``'07FF...FF'`` starts with '07'; ``'FF...FF07'`` ends with '07'; a plain hex string is
the exact contents.  Where the spec leaves a value to the package (``size``/``records`` None, a
range of FIDs = ``fid`` None), the PE must supply it or the package is refused.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .base import (ADF_KIND, BT, CY, DF_KIND, LF, MF_KIND, ROOT_CSIM, ROOT_ISIM, ROOT_MF, ROOT_NONE,
                   ROOT_USIM, TR, FileTemplate, Template, expand_default)
from . import csim, isim, mf, telecom, usim

__all__ = ["ADF_KIND", "BT", "CY", "DF_KIND", "LF", "MF_KIND", "ROOT_CSIM", "ROOT_ISIM", "ROOT_MF",
           "ROOT_NONE", "ROOT_USIM", "TEMPLATES", "TR", "FileTemplate", "Template", "expand_default"]


def _registry() -> Mapping[str, Template]:
    out: dict[str, Template] = {}
    for module in (mf, telecom, usim, isim, csim):
        for template in module.TEMPLATES:
            out[template.oid] = template
    return MappingProxyType(out)


TEMPLATES: Mapping[str, Template] = _registry()
