"""Store keys of a file system and of what a profile keeps with it: every ``fs/<fsid>/...`` key
is built here (euicc.state_layout gives each one's type).

A file system is one profile's (or the no-profile one's, euicc.profiles.manager): deleting a
profile deletes every key under :func:`root`.  AIDs are upper-case hex, key references and key
identifiers two hex digits.
"""
from __future__ import annotations


def _aid(aid: bytes) -> str:
    return bytes(aid).hex().upper()


def root(fsid: str) -> str:
    """Prefix of every key of file system `fsid`."""
    return f"fs/{fsid}/"


def nodes(fsid: str) -> str:
    """Prefix of the file descriptors, by file path (TS 102 221 §8)."""
    return f"fs/{fsid}/n/"


def contents(fsid: str) -> str:
    """Prefix of the file contents, by file path."""
    return f"fs/{fsid}/d/"


def adfs(fsid: str) -> str:
    """The AIDs of the ADFs, in creation order."""
    return f"fs/{fsid}/adfs"


def pin(fsid: str, ref: int) -> str:
    """A PIN or ADM key by key reference (TS 102 221 §9.5.1)."""
    return f"fs/{fsid}/pin/{ref:02X}"


def aka(fsid: str, aid: bytes) -> str:
    """The authentication subscription of the NAA `aid` (euicc.auth.subscription)."""
    return f"fs/{fsid}/aka/{_aid(aid)}"


def cdma(fsid: str) -> str:
    """The PE-CDMAParameter values (SAIP §8.5.2)."""
    return f"fs/{fsid}/cdma"


def registry(fsid: str, aid: bytes | None = None) -> str:
    """The profile's registry entry of `aid` (SAIP §8.6); without `aid`, their prefix."""
    return f"fs/{fsid}/registry/" + ("" if aid is None else _aid(aid))


def sd_keys(fsid: str, sd_aid: bytes) -> str:
    """Prefix of the keys of the profile's security domain `sd_aid` (SAIP §8.6 keyList)."""
    return f"fs/{fsid}/keys/{_aid(sd_aid)}/"


def sd_key(fsid: str, sd_aid: bytes, kvn: int, kid: int) -> str:
    """One key of a profile's security domain, by key version number and key identifier."""
    return f"{sd_keys(fsid, sd_aid)}{kvn:02X}{kid:02X}"


def scp80_counters(fsid: str, sd_aid: bytes) -> str:
    """Prefix of the SCP80 counters of the profile's security domain `sd_aid` (TS 102 225)."""
    return f"fs/{fsid}/scp80-counter/{_aid(sd_aid)}/"


def sd_perso(fsid: str, sd_aid: bytes) -> str:
    """The sdPersoData of the profile's security domain `sd_aid` (SAIP §8.6)."""
    return f"fs/{fsid}/sd-perso/{_aid(sd_aid)}"


def sd_toolkit(fsid: str, sd_aid: bytes) -> str:
    """The UICC toolkit parameters of the profile's security domain (TS 102 226 §8.2.1.3.2.1)."""
    return f"fs/{fsid}/sd-toolkit/{_aid(sd_aid)}"


def rfm(fsid: str, aid: bytes | None = None) -> str:
    """The PE-RFM values of the RFM instance `aid` (SAIP §8.8); without `aid`, their prefix."""
    return f"fs/{fsid}/rfm/" + ("" if aid is None else _aid(aid))


def application(fsid: str, index: int | None = None) -> str:
    """The `index`-th PE-Application record (SAIP §8.7); without `index`, their prefix."""
    return f"fs/{fsid}/applications/" + ("" if index is None else str(index))
