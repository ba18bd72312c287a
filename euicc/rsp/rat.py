"""Rules Authorisation Table and Profile Policy Rules: SGP.22 v2.5 §2.9 (PPR, RAT) and §5.7.22
(GetRAT).

The RAT is stored as the DER of ``RulesAuthorisationTable`` under :data:`euicc.rsp.keys.RAT`.  The eUICC
manufacturer sets it; the default (:data:`DEFAULT_RAT`, a setting) allows PPR1 and PPR2 for any
operator.  In ``mccMnc`` a nibble 'E' matches any digit (§2.9.2.2 [R]).  A profile whose PPRs
are not all allowed for its profileOwner by one rule is refused at StoreMetadata (pprNotAllowed).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.nvm import Store
from euicc.profiles.model import PPR1, PPR2
from euicc.rsp import der
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context

WILDCARD_NIBBLE = 0xE
DEFAULT_RAT: list[dict] = [{
    "pprIds": der.int_to_bits(PPR1 | PPR2, 4),
    "allowedOperators": [{"mccMnc": b"\xee\xee\xee"}],
    "pprFlags": (b"", 0),
}]


def load(store: Store) -> list[dict]:
    stored = store.get(rsp_keys.RAT)
    return DEFAULT_RAT if stored is None else der.decode_stored("RulesAuthorisationTable", stored)


def _nibbles_match(pattern: bytes, value: bytes) -> bool:
    if len(pattern) != len(value):
        return False
    for p, v in zip(pattern, value):
        for shift in (4, 0):
            pn, vn = (p >> shift) & 0xF, (v >> shift) & 0xF
            if pn != WILDCARD_NIBBLE and pn != vn:
                return False
    return True


def _operator_matches(allowed: dict, owner: dict) -> bool:
    if not _nibbles_match(allowed["mccMnc"], owner["mccMnc"]):
        return False
    return all(allowed.get(g) is None or allowed[g] == owner.get(g) for g in ("gid1", "gid2"))


def pprs_allowed(store: Store, ppr: int, owner: dict | None) -> bool:
    """§2.9.2.2: every PPR set (ppr1, ppr2) must be allowed for the profile owner by a rule."""
    wanted = ppr & (PPR1 | PPR2)
    if not wanted:
        return True
    if owner is None:
        return False
    for rule in load(store):
        if wanted & ~der.bits_to_int(rule["pprIds"]):
            continue
        if any(_operator_matches(op, owner) for op in rule["allowedOperators"]):
            return True
    return False


def get_rat(ctx: Context, data: bytes) -> bytes:
    """ES10b.GetRAT BF43 (§5.7.22)."""
    der.decode("GetRatRequest", data)
    return der.encode("GetRatResponse", {"rat": load(ctx.store)})


FUNCTIONS = {0xBF43: get_rat}
