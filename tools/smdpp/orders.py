"""Profile download orders of the test SM-DP+ (GSMA SGP.22 v2.5 §3.1.1, ES2+.DownloadOrder /
ConfirmOrder as an operator would have issued them): a Matching ID, the Unprotected Profile
Package, the metadata, an optional Confirmation Code and an optional EID binding.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import asn1tools

from euicc.asn1 import saip
from tools.smdpp.bpp import EnterpriseOrder, NotificationTarget, ProfileMetadata

# Order states (§3.1.1 / ES2+ "Released", "Downloaded", "Installed", "Error").
RELEASED, DOWNLOADED, INSTALLED, FAILED, CANCELLED = "Released", "Downloaded", "Installed", "Error", "Cancelled"


class UppError(ValueError):
    """The file is not a usable Unprotected Profile Package."""


def upp_iccid(upp: bytes) -> str:
    """ICCID digits from the SAIP ProfileHeader (TCA SAIP v3.3.1 §8.3: plain BCD, 'F' filler)."""
    try:
        kind, header = saip().decode_with_length("ProfileElement", upp)[0]
    except (asn1tools.Error, ValueError, KeyError, IndexError) as exc:
        raise UppError(f"cannot decode the first profile element: {exc}") from None
    if kind != "header":
        raise UppError("the first profile element is not a ProfileHeader")
    return header["iccid"].hex().upper().rstrip("F")


def iccid_ef_coding(digits: str) -> bytes:
    """ICCID as coded in EF.ICCID (TS 102 221 §13.2, SGP.22 ``Iccid``): BCD, nibbles swapped,
    padded with 'F' to 20 digits."""
    if not 18 <= len(digits) <= 20 or not digits.isdigit():
        raise UppError(f"bad ICCID {digits!r}")
    padded = digits.ljust(20, "F")
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, 20, 2))


def hash_confirmation_code(code: str, transaction_id: bytes) -> bytes:
    """SGP.22 §3.1.3 / ES10b.PrepareDownload: hashCc = SHA256(SHA256(code) || transactionId)."""
    return hashlib.sha256(hashlib.sha256(code.encode()).digest() + transaction_id).digest()


@dataclass(frozen=True)
class DeviceChangePolicy:
    """How the operator lets a profile move to another Device (SGP.22 v3.1 DeviceChangeData): the
    old Device deletes it, Profile Recovery stays open for ``recovery_days``, ``message`` is the
    serviceProviderMessageForDc, ``encrypt``: the DeviceChangeData goes encrypted when the eUICC
    offers a key for it (tools.smdpp.device_change)."""

    delete_old_profile: bool = False
    recovery_days: int | None = None
    message: str | None = None
    encrypt: bool = True


@dataclass
class ProfileOrder:
    """One download order and what happened to it."""

    matching_id: str
    upp: bytes
    metadata: ProfileMetadata
    confirmation_code: str | None = None
    eid: str | None = None
    use_ppk: bool = False
    cc_attempts_left: int = 3
    state: str = RELEASED
    result: dict = field(default_factory=dict)
    device_change: DeviceChangePolicy | None = None     # SGP.22 v3.1 Device Change allowed


def order_from_upp(matching_id: str, upp: bytes, *, service_provider_name: str = "Test SM-DP+",
                   profile_name: str | None = None, profile_class: int | None = None,
                   notification_address: str | None = None, confirmation_code: str | None = None,
                   eid: str | None = None, use_ppk: bool = False, ppr_ids: tuple[str, ...] = (),
                   metadata_iccid: str | None = None, profile_owner: bytes | None = None,
                   service_provider_message: str | None = None,
                   enterprise: EnterpriseOrder | None = None, device_change: DeviceChangePolicy | None = None,
                   device_change_address: str | None = None, rpm_configuration: dict | None = None,
                   pcmp_address: str | None = None) -> ProfileOrder:
    """An order whose metadata comes from the UPP (ICCID) and the arguments. With
    ``notification_address`` every event (install/enable/disable/delete) is to be notified there.
    ``ppr_ids`` are the profile policy rules announced in the metadata (§2.9.1); ``metadata_iccid``
    announces another ICCID than the package's (test only: the eUICC must refuse the mismatch);
    ``profile_owner`` is the operator's MCC/MNC (``OperatorID.mccMnc``) the RAT is matched against;
    ``enterprise`` makes it an Enterprise Profile (SGP.22 v3.1, v3 sessions only); ``device_change``
    allows Device Change through ``device_change_address`` (v3.1 deviceChangeConfiguration requestToDp);
    ``rpm_configuration`` (v3.1 'BA', :func:`tools.smdpp.rpm.rpm_configuration`) names the SM-DP+s
    that may manage the profile remotely, and then RPM events are notified too; ``pcmp_address`` is the
    PCMP of the profile's v3.1 lprConfiguration (what RPM contactPcmp answers)."""
    iccid = metadata_iccid or upp_iccid(upp)
    targets = ()
    if notification_address:
        rpm_events = (("notificationRpmEnable", "notificationRpmDisable", "notificationRpmDelete")
                      if rpm_configuration is not None else ())
        targets = (NotificationTarget(("notificationInstall", "notificationEnable", "notificationDisable",
                                       "notificationDelete", *rpm_events), notification_address),)
    meta = ProfileMetadata(iccid_ef_coding(iccid), service_provider_name, profile_name or f"Profile {iccid}",
                           profile_class, targets, tuple(ppr_ids), profile_owner,
                           service_provider_message=service_provider_message, enterprise=enterprise,
                           device_change_address=device_change_address if device_change else None,
                           rpm_configuration=rpm_configuration, pcmp_address=pcmp_address)
    return ProfileOrder(matching_id, upp, meta, confirmation_code, eid, use_ppk, device_change=device_change)


def load_upp(path: Path) -> bytes:
    data = Path(path).read_bytes()
    upp_iccid(data)
    return data
