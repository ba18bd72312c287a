"""GSMA SGP.02 v4.2 (M2M remote provisioning), card side: ES5 (SM-SR -> ISD-R), ES8 (SM-DP ->
ISD-P through the ISD-R), POL1, Fall-Back, notifications and SM-SR change.

It plugs into the card kernel as :class:`euicc.m2m.extension.M2mExtension`; everything reaches
the card through the SMS-PP OTA path of :mod:`euicc.ota.dispatcher`; the persistent records of this
package are listed in :data:`PERSISTENT_TYPES` for the store codec.
"""
from __future__ import annotations

from euicc.m2m.records import PERSISTENT_TYPES

__all__ = ["PERSISTENT_TYPES"]
