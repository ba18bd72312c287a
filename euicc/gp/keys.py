"""Store keys of the GlobalPlatform layer: the card registry (GP Card Spec §6.6), the ISD-R's
SCP03 key sets (GP Amd D), the ARA-M's access rules (GPD_SPE_013) and the card data of GET DATA
(GP Card Spec §H.6)."""
from __future__ import annotations

REGISTRY = "gp/"                      # prefix of the registry entries, by AID
REGISTRY_ORDER = "gp-order"           # the AIDs of the registry, in installation order
ISDR_SCP03 = "isdr/scp03/"            # prefix of the ISD-R's SCP03 key sets, by KVN
ISDR_SCP03_I = "isdr/scp03-i"         # the ISD-R's SCP03 "i" parameter
ARAM_RULES = "aram/rules"
ARAM_REFRESH_TAG = "aram/refresh-tag"
IIN = "card/iin"                      # Issuer Identification Number ('42')
CIN = "card/cin"                      # Card Image Number ('45')


def registry_entry(aid: bytes) -> str:
    """The registry entry of `aid`."""
    return REGISTRY + bytes(aid).hex().upper()
