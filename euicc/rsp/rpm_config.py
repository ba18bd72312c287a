"""RPM configuration of a profile and the authorisation of an RPM command: SGP.22 v3.1 §3.7
(Remote Profile Management), ``RpmConfiguration`` (Profile Metadata 'BA', kept with the profile,
changed by an RPM updateMetadata).

An RPM command on a profile is authorised when the profile's metadata carries an
``rpmConfiguration`` whose ``managingDpList`` names the SM-DP+ of the RSP session (the OID of its
CERT.DPauth.SIG) and, when ``rpmType`` is present, sets the command's bit; when ``allowedCiPKId``
is present, the session's CI (euiccCiPKIdToBeUsed) must be that one.  A profile without an
``rpmConfiguration`` cannot be managed remotely.

[U] The v3.1 text of these rules could not be read here; two points are this card's settings:
an entry without ``rpmType`` allows every command (:data:`RPM_TYPE_ABSENT_ALLOWS_ALL`), and
updateMetadata, which has no ``RpmType`` bit, needs the entry only, restricted to the tags of the
entry's ``tagList`` when present.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from euicc import tlv
from euicc.profiles.model import ProfileRecord
from euicc.rsp import der, metadata

#: RpmType bits (first octet of the BIT STRING) of the commands that have one.
RPM_TYPE_BIT = {"enable": 0x80, "disable": 0x40, "delete": 0x20, "listProfileInfo": 0x10, "contactPcmp": 0x08}
RPM_TYPE_ABSENT_ALLOWS_ALL = True
"""[U] A managingDpList entry without rpmType authorises every RPM command."""


@dataclass(frozen=True)
class Manager:
    """The RSP session's SM-DP+ as RPM sees it: its OID (CERT.DPauth.SIG) and the CI in use."""

    smdp_oid: str
    ci_pkid: bytes


def configuration(rec: ProfileRecord) -> dict[str, Any] | None:
    """The profile's ``RpmConfiguration``, or None."""
    return metadata.stored(rec.metadata).get("rpmConfiguration")


def _entry(config: dict[str, Any] | None, manager: Manager) -> dict[str, Any] | None:
    if config is None:
        return None
    allowed_ci = config.get("allowedCiPKId")
    if allowed_ci is not None and bytes(allowed_ci) != manager.ci_pkid:
        return None
    return next((e for e in config["managingDpList"]
                 if der.canonical_oid(e["managingDpOid"]) == manager.smdp_oid), None)


def authorised(rec: ProfileRecord, manager: Manager, command: str) -> bool:
    """May ``manager`` run RPM ``command`` (an RpmCommand alternative name) on ``rec``?"""
    entry = _entry(configuration(rec), manager)
    if entry is None:
        return False
    if command not in RPM_TYPE_BIT:
        return True
    if "rpmType" not in entry:
        return RPM_TYPE_ABSENT_ALLOWS_ALL
    return bool(der.bits_to_int(entry["rpmType"]) & RPM_TYPE_BIT[command])


def updatable_tags(rec: ProfileRecord, manager: Manager) -> bytes | None:
    """The tags ``manager`` may update on ``rec`` (its entry's tagList), None for any."""
    entry = _entry(configuration(rec), manager)
    return None if entry is None else entry.get("tagList")


def owner_oid(rec: ProfileRecord) -> str | None:
    """``profileOwnerOid`` of the profile's RPM configuration (ListProfileInfo search), or None."""
    config = configuration(rec)
    return None if config is None else der.canonical_oid(config["profileOwnerOid"])


def tags_of(tag_list: bytes) -> list[bytes]:
    """The tags (as encoded) of a tag list ('5C' value); malformed -> tlv.TlvError."""
    out, i = [], 0
    while i < len(tag_list):
        _, j = tlv.read_tag(tag_list, i)
        out.append(bytes(tag_list[i:j]))
        i = j
    return out
