"""A NAA's authentication parameters as the card stores them (SAIP PE-AKAParameter, TS 31.102 §7.1).

One :class:`AkaSubscription` per ADF (USIM, ISIM), under ``fs/<fsid>/aka/<AID hex>``; the SQN
array is part of it, so the new array is committed with the AUTHENTICATE that accepted an SQN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from euicc.auth.aka import AkaAlgorithm
from euicc.auth.milenage import DEFAULT_CONSTANTS, DEFAULT_ROTATIONS, Milenage
from euicc.auth.sqn import SqnPolicy, SqnState
from euicc.auth.tuak import Tuak
from euicc.auth.xor_test import DEFAULT_RES_LEN, XorTestAlgorithm

MILENAGE, TUAK, XOR_TEST = "milenage", "tuak", "xor"


@dataclass(frozen=True, slots=True)
class AkaSubscription:
    """Algorithm, keys, options and SQN state of one NAA."""
    RECORD_TYPE: ClassVar[str] = "AkaSubscription"   # its stable id in the store (euicc.nvm_codec.Codec)

    algorithm: str                       # milenage, tuak or xor
    k: bytes
    opc: bytes = b""                     # Milenage OPc, TUAK TOPc
    rotations: tuple[int, ...] = DEFAULT_ROTATIONS
    constants: tuple[bytes, ...] = DEFAULT_CONSTANTS
    mac_len: int = 8                     # TUAK output lengths and iterations
    res_len: int = 0                     # 0: the algorithm's default RES length
    ck_len: int = 16
    ik_len: int = 16
    iterations: int = 1
    ind_bits: int = 5                    # SQN management (TS 33.102 Annex C)
    delta: int = 1 << 28
    age_limit: int | None = 1 << 28
    seq_ms: tuple[int, ...] = ()         # SEQ_MS array; () = all zero

    def algorithm_params(self) -> tuple:
        """What :meth:`algorithm_set` is built from (everything but the SQN state)."""
        return (self.algorithm, self.k, self.opc, self.rotations, self.constants, self.mac_len,
                self.res_len, self.ck_len, self.ik_len, self.iterations)

    def policy(self) -> SqnPolicy:
        return SqnPolicy(self.ind_bits, self.delta, self.age_limit)

    def sqn_state(self) -> SqnState:
        return SqnState.initial(self.policy(), self.seq_ms or None)

    def algorithm_set(self) -> AkaAlgorithm:
        if self.algorithm == MILENAGE:
            return Milenage(self.k, self.opc, self.rotations, self.constants)
        if self.algorithm == TUAK:
            return Tuak(self.k, self.opc, mac_len=self.mac_len, res_len=self.res_len or 8,
                        ck_len=self.ck_len, ik_len=self.ik_len, iterations=self.iterations)
        if self.algorithm == XOR_TEST:
            return XorTestAlgorithm(self.k, self.res_len or DEFAULT_RES_LEN)
        raise ValueError(f"unknown algorithm {self.algorithm!r}")

