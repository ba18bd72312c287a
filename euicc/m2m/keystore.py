"""Key sets of the ISD-R (SCP80, SGP.02 §2.2.1.1; SCP81 PSK-TLS, GP Amd B §3.3.2) and of the ISD-Ps (SCP80 of the profile's
remote management, SCP03 of ES8), with the per-key-set replay counter of TS 102 225 §5.1.1.

A :class:`Scp80Keys` is the :class:`euicc.crypto.scp80.KeyProvider` of one owner; the counter
is persisted by the caller only after a packet passed every check.
"""
from __future__ import annotations

from dataclasses import replace

from euicc.crypto.scp80 import CounterState, KeyUsage
from euicc.gp import key_store
from euicc.m2m.records import ISDR_SCP80, ISDR_SCP81, OtaKeySet, PskKeySet, isdp_key
from euicc.nvm import Store


class Scp80Keys:
    """The SCP80 key sets stored under ``prefix`` (``m2m/isdr/scp80/`` or an ISD-P's)."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    @classmethod
    def isdr(cls, store: Store) -> "Scp80Keys":
        return cls(store, ISDR_SCP80)

    @classmethod
    def isdp(cls, store: Store, aid: bytes) -> "Scp80Keys":
        return cls(store, isdp_key(aid, "scp80/"))

    def get(self, kvn: int) -> OtaKeySet | None:
        return self.store.get(f"{self.prefix}{kvn:02X}")

    def kvns(self) -> list[int]:
        return sorted(int(k[len(self.prefix):], 16) for k in self.store.keys(self.prefix))

    def put(self, keyset: OtaKeySet) -> None:
        self.store.put(f"{self.prefix}{keyset.kvn:02X}", keyset)

    def delete(self, kvn: int) -> None:
        self.store.delete(f"{self.prefix}{kvn:02X}")

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None:
        """KeyProvider (TS 102 225 §5.1.2: KIc/KID b8-b5 = KVN)."""
        keyset = self.get(kvn)
        if keyset is None:
            return None
        return (keyset.kic if usage == KeyUsage.KIC else keyset.kid) or None

    def key_type(self, kvn: int) -> int | None:
        """KeyProvider: the key set's algorithm family (TS 102 225 §5.1.2: the algorithm is the key set's)."""
        keyset = self.get(kvn)
        return keyset.key_type if keyset else None

    def counter(self, kvn: int) -> CounterState:
        keyset = self.get(kvn)
        return CounterState(keyset.counter if keyset else 0)

    def set_counter(self, kvn: int, counter: CounterState) -> None:
        keyset = self.get(kvn)
        if keyset is not None and keyset.counter != counter.value:
            self.put(replace(keyset, counter=counter.value))


class Scp03Store(key_store.Scp03Store):
    """SCP03 key sets of one ISD-P (KVN '30'-'3F', SGP.02 §2.2.2)."""

    def __init__(self, store: Store, aid: bytes) -> None:
        super().__init__(store, isdp_key(aid, "scp03/"))


class PskKeys:
    """The ISD-R's SCP81 key sets (GP Amd B §3.3.2), one record per KVN."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, kvn: int) -> PskKeySet | None:
        return self.store.get(f"{ISDR_SCP81}{kvn:02X}")

    def kvns(self) -> list[int]:
        return sorted(int(k[len(ISDR_SCP81):], 16) for k in self.store.keys(ISDR_SCP81))

    def put(self, keyset: PskKeySet) -> None:
        self.store.put(f"{ISDR_SCP81}{keyset.kvn:02X}", keyset)

    def delete(self, kvn: int) -> None:
        self.store.delete(f"{ISDR_SCP81}{kvn:02X}")
