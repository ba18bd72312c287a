"""AIDs of the eUICC's own security domains, as GSMA SGP.02 v4.2 Annex H defines them and SGP.22
v2.5 §2.2.1 / §2.2.2 uses them for the ISD-R and the ECASD.

The one definition used by the ISD-R and ECASD applets, the file system's EF.DIR and the OTA
dispatcher.  A card that presents the ISD-R at a vendor AID (some removable eUICCs do, and LPAs
probe a list of them) does so through ``CardConfig.isd_r_aid``; inside the card the ISD-R keeps
this AID.
"""
from __future__ import annotations

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ECASD_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000200")
