"""SCP03 key sets of a Security Domain in the persistent store (GP Card Spec v2.3 §7.2, §11.1.8;
GP Amd D §6.1): Key-ENC, Key-MAC, Key-DEK (key IDs 01, 02, 03) of one AES length under one key
version number, with the sequence counter of the pseudo-random card challenge (Amd D §6.2.2.1).

The ISD-R's key sets (:func:`isd_r`) are test keys chosen at card creation:
:data:`DEFAULT_ISDR_KEY_SET`, KVN '30' with the GlobalPlatform test key '40 41 .. 4F' as ENC, MAC
and DEK (the default of GlobalPlatformPro's ``gp`` tool), unless replaced (``euicc-emu keys``,
PUT KEY).  Its SCP03 "i" parameter (:func:`isd_r_settings`) is '70' (S8 mode, pseudo-random card
challenge, R-MAC and R-ENC support) or '71' for S16 mode.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from euicc.crypto.kdf import AES_KEY_LENGTHS
from euicc.crypto.scp03 import IParameter, Scp03KeySet, Scp03Settings, key_check_value
from euicc.gp import keys as gp_keys
from euicc.nvm import Store

KEY_ID_ENC, KEY_ID_MAC, KEY_ID_DEK = 0x01, 0x02, 0x03
AES_KEY_TYPE = 0x88                      # GP CS §11.1.8 Table 11-16: AES
SCP03_KVNS = range(0x30, 0x40)           # GP CS §11.1.8 Table 11-15 / Amd D §6.1: SCP03 key sets
I_PARAMETER_S8 = (IParameter.PSEUDO_RANDOM_CHALLENGE | IParameter.R_MAC_SUPPORT
                  | IParameter.R_ENCRYPTION_SUPPORT)
I_PARAMETER_S16 = I_PARAMETER_S8 | IParameter.S16_MODE
#: INITIALIZE UPDATE key diversification data (Amd D §7.1.2): GP leaves it to the issuer; ten
#: '00' bytes as a sysmoEUICC1 ISD-R answers (pySim's SCP03 traces, tests/gp/test_isd_r_traces.py)
KEY_DIVERSIFICATION_DATA = bytes(10)


@dataclass(frozen=True, slots=True)
class Scp03Keys:
    """One SCP03 key set (GP Amd D §6.1) and its sequence counter (Amd D §6.2.2.1).

    A key deleted on its own (DELETE 'D0' 'D2', GP CS §11.2.2.3.2) is ``b""``: the set is then
    incomplete and no secure channel opens with it until PUT KEY adds the key again.
    """
    RECORD_TYPE: ClassVar[str] = "Scp03Keys"   # its stable id in the store (euicc.nvm_codec.Codec)

    kvn: int
    enc: bytes
    mac: bytes
    dek: bytes
    sequence_counter: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.kvn <= 0xFF or len({len(k) for k in self.keys() if k}) > 1:
            raise ValueError("an SCP03 key set holds AES keys of one length")
        if any(k and len(k) not in AES_KEY_LENGTHS for k in self.keys()):
            raise ValueError("an SCP03 key is an AES-128/192/256 key")

    def keys(self) -> tuple[bytes, bytes, bytes]:
        """Key-ENC, Key-MAC, Key-DEK: key IDs 01, 02, 03."""
        return self.enc, self.mac, self.dek

    @property
    def complete(self) -> bool:
        return all(self.keys())

    def key_set(self) -> Scp03KeySet:
        """The card-side session's view of this (complete) key set."""
        return Scp03KeySet(self.kvn, self.enc, self.mac, self.dek, self.sequence_counter)

    def key_information(self) -> bytes:
        """'C0' Key Information Data of each key (GP CS §11.3.3.1 Table 11-27): KID, KVN, type, length."""
        return b"".join(bytes((0xC0, 4, kid, self.kvn, AES_KEY_TYPE, len(key)))
                        for kid, key in enumerate(self.keys(), KEY_ID_ENC) if key)

    def describe(self) -> dict:
        """For ``euicc-emu info`` / ``keys list``: these are test keys, shown in clear."""
        return {"kvn": f"{self.kvn:02X}", "enc": self.enc.hex().upper(), "mac": self.mac.hex().upper(),
                "dek": self.dek.hex().upper(),
                "kcv": [key_check_value(k).hex().upper() if k else "" for k in self.keys()],
                "sequence_counter": self.sequence_counter}


GP_TEST_KEY = bytes(range(0x40, 0x50))
DEFAULT_ISDR_KEY_SET = Scp03Keys(0x30, GP_TEST_KEY, GP_TEST_KEY, GP_TEST_KEY)


class Scp03Store:
    """The SCP03 key sets stored under ``prefix`` (one record per KVN)."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def all(self) -> dict[int, Scp03Keys]:
        return {v.kvn: v for v in (self.store.get(k) for k in self.store.keys(self.prefix)) if v}

    def get(self, kvn: int) -> Scp03Keys | None:
        return self.store.get(f"{self.prefix}{kvn:02X}")

    def put(self, keys: Scp03Keys) -> None:
        self.store.put(f"{self.prefix}{keys.kvn:02X}", keys)

    def delete(self, kvn: int) -> None:
        self.store.delete(f"{self.prefix}{kvn:02X}")

    def key_sets(self) -> dict[int, Scp03KeySet]:
        """The complete key sets, for a secure channel session."""
        return {kvn: keys.key_set() for kvn, keys in self.all().items() if keys.complete}

    def save_counter(self, key_set: Scp03KeySet) -> None:
        """Persist the sequence counter after an INITIALIZE UPDATE (Amd D §6.2.2.1)."""
        stored = self.get(key_set.kvn)
        if stored is not None and stored.sequence_counter != key_set.sequence_counter:
            self.store.put(f"{self.prefix}{key_set.kvn:02X}",
                           replace(stored, sequence_counter=key_set.sequence_counter))

    def key_information(self) -> bytes:
        """Value of the Key Information Template 'E0' (GP CS §11.3.3.1), key sets by KVN."""
        return b"".join(self.all()[kvn].key_information() for kvn in sorted(self.all()))


def isd_r(store: Store) -> Scp03Store:
    return Scp03Store(store, gp_keys.ISDR_SCP03)


def isd_r_settings(store: Store) -> Scp03Settings:
    """The ISD-R's SCP03 parameters: its "i" parameter and :data:`KEY_DIVERSIFICATION_DATA`."""
    return Scp03Settings(i_parameter=store.get(gp_keys.ISDR_SCP03_I, I_PARAMETER_S8),
                         key_diversification_data=KEY_DIVERSIFICATION_DATA)


def set_isd_r_mode(store: Store, s16: bool) -> None:
    store.put(gp_keys.ISDR_SCP03_I, int(I_PARAMETER_S16 if s16 else I_PARAMETER_S8))


def provision_isd_r(store: Store) -> None:
    """A new card's ISD-R key set: :data:`DEFAULT_ISDR_KEY_SET` (documented test keys)."""
    keys = isd_r(store)
    if not keys.all():
        keys.put(DEFAULT_ISDR_KEY_SET)


def describe_isd_r(store: Store) -> dict:
    """The ISD-R's SCP03 configuration and test keys, for ``euicc-emu info`` / ``keys list``."""
    i_parameter = isd_r_settings(store).i_parameter
    return {"i": f"{i_parameter:02X}", "mode": "S16" if i_parameter & IParameter.S16_MODE else "S8",
            "key_sets": [keys.describe() for _, keys in sorted(isd_r(store).all().items())]}
