"""Store keys of profiles and of their ISD-Ps: the profile records, the active file system and
the ``isdp/<AID>/`` namespace of per-ISD-P data (SGP.22 §2.2.3, SGP.02 §2.2.2).

Deleting an ISD-P deletes every key under :func:`isdp` (euicc.profiles.manager).  The packages
that keep data there (euicc.rsp, euicc.m2m) build their keys on :func:`isdp`.
"""
from __future__ import annotations

ACTIVE_FS = "card/active-fs"          # the fsid of the file system the terminal sees
PROFILES = "profile/"                 # prefix of the profile records
PORT_FS = "card/port-fs/"             # prefix: the fsid each further eSIM port shows (euicc.ports)


def port_fs(index: int) -> str:
    """The fsid shown by the `index`-th profile port after the first (which uses ACTIVE_FS)."""
    return f"{PORT_FS}{index}"


def profile(isdp_aid: bytes) -> str:
    """The profile record of the ISD-P `isdp_aid`."""
    return PROFILES + bytes(isdp_aid).hex().upper()


def isdp(aid: bytes) -> str:
    """Prefix of every key kept for the ISD-P `aid`."""
    return f"isdp/{bytes(aid).hex().upper()}/"


def reserved_nvm(isdp_aid: bytes) -> str:
    """The NVM quota reserved for an ISD-P when it was created (GP Amd C 'EF' {'83'}; SGP.02
    CreateISDP), counted by the card's resources (euicc.gp.card_resources)."""
    return isdp(isdp_aid) + "reserved-nvm"
