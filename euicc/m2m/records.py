"""Persistent records of the SGP.02 card side and where they live in the store: this package's
key module (every ``m2m/...`` key is named here).

Per-ISD-P data lives under ``isdp/<AID hex>/`` (euicc.profiles.keys.isdp) so that deleting the
ISD-P (:meth:`euicc.profiles.manager.ProfileManager.delete`) removes it with the profile.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from euicc.gp.key_store import Scp03Keys   # an ISD-P's SCP03 key set, as ES8 key establishment creates it
from euicc.profiles.keys import isdp

__all__ = ["LAYOUT", "PERSISTENT_TYPES", "REQUIRED", "OtaKeySet", "PendingNotification", "PskKeySet", "SmsrAddress",
           "isdp_key"]


@dataclass(frozen=True, slots=True)
class OtaKeySet:
    """One SCP80 key set (TS 102 225 §5.1.2/§5.1.3): KIc, KID, DEK, its 5-byte counter and its GP
    key type (:class:`euicc.crypto.scp80.KeyType`; SGP.02 ISD-R key sets are AES, CRT '80 01 88')."""
    RECORD_TYPE: ClassVar[str] = "OtaKeySet"   # its stable id in the store (euicc.nvm_codec.Codec)

    kvn: int
    kic: bytes
    kid: bytes
    dek: bytes = b""
    counter: int = 0
    key_type: int = 0x88


@dataclass(frozen=True, slots=True)
class PskKeySet:
    """One SCP81 key set of the ISD-R (GP Amd B §3.3.2, SGP.02 §2.4.4; KVN '40'-'4F'): key ID 01
    the TLS pre-shared key (GP key type '85'), key ID 02 the AES DEK that ciphers the keys a PUT KEY
    sent in its session carries (WHTY's FinaliseISDRhandover deletes SCP81 keys 01-02)."""
    RECORD_TYPE: ClassVar[str] = "PskKeySet"   # its stable id in the store (euicc.nvm.Codec)

    kvn: int
    psk: bytes
    dek: bytes = b""


@dataclass(frozen=True, slots=True)
class PendingNotification:
    """A notification to the SM-SR waiting for ES5.HandleNotificationConfirmation (SGP.02 §3.15).

    ``rollback_to`` is the ISD-P AID enabled before a profile switch (empty: no rollback);
    ``created`` / ``last_sent`` are clock milliseconds; ``sends`` counts SEND SHORT MESSAGEs.
    """
    RECORD_TYPE: ClassVar[str] = "PendingNotification"   # its stable id in the store (euicc.nvm_codec.Codec)

    seq: int
    kind: int
    isdp_aid: bytes
    created: int
    sends: int = 0
    last_sent: int = -1
    rollback_to: bytes = b""
    delete_on_confirm: bytes = b""   # ISD-P whose POL1 asks deletion when disabled


@dataclass(frozen=True, slots=True)
class SmsrAddress:
    """The SM-SR SMS address of ES5.UpdateSMSRAddressingParameters (TS 23.040 §9.1.2.5)."""
    RECORD_TYPE: ClassVar[str] = "SmsrAddress"   # its stable id in the store (euicc.nvm_codec.Codec)

    toa: int
    digits: str


PERSISTENT_TYPES = (OtaKeySet, PskKeySet, PendingNotification, SmsrAddress)

ISDR_SCP80 = "m2m/isdr/scp80/"
ISDR_SCP81 = "m2m/isdr/scp81/"
ECASD_KEY = "m2m/ecasd/ecka"           # (curve OID, private scalar)
ECASD_CERT = "m2m/ecasd/cert"          # CERT.ECASD.ECKA, GP format '7F21'
CI_KEY = "m2m/ci"                      # (curve OID, uncompressed point) of PK.CI.ECDSA
SMSR_ADDRESS = "m2m/smsr-address"
SMSR_HTTPS = "m2m/smsr-https"         # GP Amd B triggering parameters of the SM-SR's last push
NOTIFICATIONS = "m2m/notifications"
NOTIFICATION_SEQ = "m2m/notification-seq"
DECLARED = "m2m/declared"              # the eUICC declaration (type 01) was confirmed
FALLBACK_RETURN = "m2m/fallback/return-to"   # (ISD-P AID, clock ms of the activation or last try)

#: Store-key rules of the SGP.02 records (euicc.state_layout; per ISD-P: es5, es8, keystore).
LAYOUT: tuple[tuple[str, Any], ...] = (
    ("isdp/*/scp03/*", Scp03Keys),
    ("isdp/*/scp80/*", OtaKeySet),
    ("isdp/*/package", bytes),
    ("isdp/*/connectivity", bytes),
    ("isdp/*/token-key", bytes),
    ("isdp/*/reserved-nvm", int),
    ("m2m/isdr/scp80/*", OtaKeySet),
    ("m2m/isdr/scp81/*", PskKeySet),
    (ECASD_KEY, tuple[str, bytes]),
    (ECASD_CERT, bytes),
    (CI_KEY, tuple[str, bytes]),
    (SMSR_ADDRESS, SmsrAddress),
    (SMSR_HTTPS, bytes),
    (NOTIFICATIONS, tuple[PendingNotification, ...]),
    (NOTIFICATION_SEQ, int),
    (DECLARED, bool),
    (FALLBACK_RETURN, tuple[bytes, int]),
)

#: Records every card with the SGP.02 extension holds (euicc.m2m.personalization).
REQUIRED = (ECASD_KEY, ECASD_CERT, CI_KEY)


def isdp_key(aid: bytes, item: str) -> str:
    """The SGP.02 data `item` of the ISD-P `aid` (e.g. ``scp80/``, ``token-key``)."""
    return isdp(aid) + item
