"""AIDs of the eUICC's own security domains: GSMA SGP.02 v4.2 Annex H, SGP.22 v2.5 §2.2.3
(the ISD-R "shall be selectable with the AID defined in SGP.02").

The one definition used by the ISD-R applet, the file system's EF.DIR and the OTA dispatcher.
A card that presents the ISD-R at a vendor AID does so through ``CardConfig.isd_r_aid``.
"""
from __future__ import annotations

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ECASD_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000200")
