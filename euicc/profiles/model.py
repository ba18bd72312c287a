"""A profile on the eUICC and its ISD-P: SGP.22 v2.5 §2.2.4 / §2.4 (metadata, states),
SGP.02 v4.2 §2.2.2 / §3.x (ISD-P life cycle, Fall-Back and Emergency attributes, POL1).

A :class:`ProfileRecord` is stored under ``profile/<ISD-P AID hex>``; the profile's files, PINs
and keys live under ``fs/<fsid>/`` (see euicc.fs).  The ISD-P itself is a GP registry entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

# SGP.22 ProfileInfo profileState
STATE_DISABLED, STATE_ENABLED = 0, 1
# SGP.22 ProfileInfo profileClass
CLASS_TEST, CLASS_PROVISIONING, CLASS_OPERATIONAL = 0, 1, 2
# SGP.22 PprIds bits (§2.4.1.1): ppr1 = disabling not allowed, ppr2 = deletion not allowed
PPR1, PPR2 = 0x40, 0x20
# SGP.02 v4.2 §2.4.4 POL1 rules
POL1_DISABLE_NOT_ALLOWED = 0x01
POL1_DELETE_NOT_ALLOWED = 0x02
POL1_DELETE_WHEN_DISABLED = 0x04


class ProfileErrorCode(IntEnum):
    """Why a profile operation was refused (mapped to ES10c results and SGP.02 status words)."""

    ICCID_OR_AID_NOT_FOUND = 1
    NOT_IN_DISABLED_STATE = 2
    DISALLOWED_BY_POLICY = 3
    WRONG_PROFILE_REENABLING = 4
    CAT_BUSY = 5
    NOT_ENOUGH_MEMORY = 6
    ALREADY_EXISTS = 7
    FALLBACK_PROFILE = 8
    NOT_IN_ENABLED_STATE = 9


class ProfileError(Exception):
    def __init__(self, code: ProfileErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """One installed profile (SGP.22 ProfileInfo; SGP.02 ISD-P attributes)."""
    RECORD_TYPE: ClassVar[str] = "ProfileRecord"   # its stable id in the store (euicc.nvm_codec.Codec)

    isdp_aid: bytes
    iccid: bytes                         # 10 bytes, coded as in EF.ICCID (nibble-swapped BCD)
    fsid: str
    state: int = STATE_DISABLED
    name: str = ""                       # profileName
    provider: str = ""                   # serviceProviderName
    nickname: str = ""                   # profileNickname
    profile_class: int = CLASS_OPERATIONAL
    icon_type: int | None = None
    icon: bytes = b""
    notifications: tuple[tuple[int, str], ...] = ()   # (NotificationEvent bits, address)
    ppr: int = 0                         # PprIds
    smdp_oid: str = ""
    metadata: bytes = b""                # the StoreMetadataRequest as received
    fallback: bool = False               # SGP.02 Fall-Back Attribute
    emergency: bool = False              # SGP.02 Emergency Profile Attribute
    pol1: int = 0                        # SGP.02 POL1 rules


def iccid_digits(iccid: bytes) -> str:
    """The ICCID digits of the nibble-swapped coding ('F' padding removed)."""
    return "".join(f"{b & 0xF:X}{b >> 4:X}" for b in iccid).rstrip("F")


def iccid_bytes(digits: str) -> bytes:
    s = digits + "F" * (20 - len(digits))
    return bytes.fromhex("".join(s[i + 1] + s[i] for i in range(0, 20, 2)))
