"""GSMA SGP.02 v4.2 (M2M remote provisioning), card side: ES5 (SM-SR -> ISD-R), ES8 (SM-DP ->
ISD-P through the ISD-R), POL1, Fall-Back, notifications and SM-SR change.

Everything reaches the card through the remote management layer (:mod:`euicc.ota.secured_packet`,
SMS-PP today) with the routes of :mod:`euicc.m2m.ota_routes`; it plugs into the card kernel as
:class:`euicc.m2m.extension.M2mExtension`, whose 'D1' envelope handler is that layer; the
persistent records of this package are listed in :data:`PERSISTENT_TYPES` for the store codec.
"""
from __future__ import annotations

from euicc.m2m.records import PERSISTENT_TYPES

__all__ = ["PERSISTENT_TYPES"]
