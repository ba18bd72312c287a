"""Store keys of Remote SIM Provisioning (SGP.22): the eUICC's RSP identity, the Rules
Authorisation Table, the SM-DP+ and SM-DS addresses, pending notifications, CRLs, and the
ISD-P's SM-DP+ proprietary data."""
from __future__ import annotations

from typing import Any

from euicc.profiles.keys import isdp
from euicc.state_layout import Plain

IDENTITY = "ecasd/identity"           # the eUICC's key and certificates (euicc.rsp.identity)
RAT = "rsp/rat"                       # SGP.22 §2.9.2.1
DEFAULT_DP_ADDRESS = "rsp/default-dp-address"   # SGP.22 §5.7.4
ROOT_DS_ADDRESS = "rsp/root-ds-address"
NOTIFICATION_SEQ = "rsp/notification-seq"
NOTIFICATIONS = "rsp/notification/"   # prefix of the pending notifications (SGP.22 §2.6.7)
CRLS = "rsp/crl/"                     # prefix of the revoked serial numbers, by CI (SGP.22 §4.6)
PROFILE_RECOVERY = "rsp/profile-recovery/"   # SGP.22 v3.1 Profile Recovery records, by ICCID


def notification(seq: int) -> str:
    """The pending notification with sequence number `seq`."""
    return f"{NOTIFICATIONS}{seq:010d}"


def crl(ci_pkid: bytes) -> str:
    """The certificates revoked by the CI whose key identifier is `ci_pkid`."""
    return CRLS + bytes(ci_pkid).hex().upper()


def profile_recovery(iccid: bytes) -> str:
    """The Profile Recovery record of the profile ``iccid`` (euicc.rsp.device_change)."""
    return PROFILE_RECOVERY + bytes(iccid).hex().upper()


def dp_proprietary(isdp_aid: bytes) -> str:
    """The SM-DP+ proprietary data of a profile (SGP.22 §5.5.1 dpProprietaryData)."""
    return isdp(isdp_aid) + "dp-proprietary"


#: Store-key rules of the SGP.22 records (euicc.state_layout; the RSP extension's rows).
LAYOUT: tuple[tuple[str, Any], ...] = (
    (IDENTITY, Plain),
    ("isdp/*/dp-proprietary", bytes),
    (RAT, bytes),
    (DEFAULT_DP_ADDRESS, str),
    (ROOT_DS_ADDRESS, str),
    (NOTIFICATION_SEQ, int),
    (NOTIFICATIONS + "*", bytes),
    (CRLS + "*", tuple[int, ...]),
    (PROFILE_RECOVERY + "*", Plain),
)
