"""Store keys of the card itself; each package builds the rest in its own ``keys`` module
(euicc.fs.keys, euicc.gp.keys, euicc.profiles.keys, euicc.rsp.keys, euicc.m2m.records)."""
from __future__ import annotations

EID = "card/eid"                      # SGP.29 EID, 16 bytes
CARD_VERSION = "card/version"         # version of what the card holds (euicc.provisioning)
