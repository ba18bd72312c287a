"""SQN freshness verification in the USIM, 3GPP TS 33.102 Annex C.

SQN = SEQ || IND, IND being the ``ind_bits`` least significant bits (Annex C.1.2/C.3.2).
The USIM keeps an array SEQ_MS(0..a-1), a = 2^ind_bits, all zero initially (Annex C.2.2).
A received SQN is accepted only if, in this order:

1. wrap-around protection (Annex C.2.1): SEQ - SEQ_MS <= delta, SEQ_MS being the highest
   SEQ accepted anywhere in the array;
2. age limit (Annex C.2.2, optional): SEQ_MS - SEQ < L;
3. freshness (Annex C.2.2): SEQ > SEQ_MS(IND); on success SEQ_MS(IND) := SEQ.

Otherwise the USIM reports a synchronisation failure carrying SQN_MS, "the highest previously
accepted sequence number anywhere in the array" (SEQ_MS || its IND).  Before anything was
accepted (all entries zero) SQN_MS is 0.

:class:`SqnState` is an immutable value: :func:`verify_freshness` returns a new state which
the caller persists atomically together with the rest of the AUTHENTICATE outcome.

Defaults ([U] to confirm against the clause text): ``ind_bits`` = 5 (a = 32, the array size
of SAIP ``sqnInit``), ``delta`` = 2^28 and ``age_limit`` L = 2^28 (the SAIP ``sqnDelta`` and
``sqnAgeLimit`` defaults).  ``age_limit=None`` disables the optional L check.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc.auth.errors import AuthParameterError

SQN_BITS = 48


@dataclass(frozen=True)
class SqnPolicy:
    """Configuration of the SQN check (Annex C.2): IND length, delta, optional limit L."""

    ind_bits: int = 5
    delta: int = 1 << 28
    age_limit: int | None = 1 << 28

    def __post_init__(self) -> None:
        if not 0 <= self.ind_bits <= 10:
            raise AuthParameterError("IND length must be 0..10 bits")
        if not 0 < self.delta < (1 << self.seq_bits):
            raise AuthParameterError("delta out of range")
        if self.age_limit is not None and not 0 < self.age_limit < (1 << self.seq_bits):
            raise AuthParameterError("age limit L out of range")

    @property
    def seq_bits(self) -> int:
        return SQN_BITS - self.ind_bits

    @property
    def array_size(self) -> int:
        """a = 2^ind_bits entries SEQ_MS(0..a-1)."""
        return 1 << self.ind_bits

    def split(self, sqn: int) -> tuple[int, int]:
        """(SEQ, IND) of a 48-bit SQN."""
        return sqn >> self.ind_bits, sqn & (self.array_size - 1)


@dataclass(frozen=True)
class SqnState:
    """The array SEQ_MS(0..a-1) of Annex C.2.2 (SEQ values, without IND)."""

    seq_ms: tuple[int, ...]

    @classmethod
    def initial(cls, policy: SqnPolicy, seq_init: tuple[int, ...] | None = None) -> "SqnState":
        """All-zero array (Annex C.2.2), or the profile's initial SEQ values (SAIP sqnInit)."""
        values = tuple(seq_init) if seq_init is not None else (0,) * policy.array_size
        state = cls(values)
        state.check(policy)
        return state

    @classmethod
    def from_octets(cls, policy: SqnPolicy, seq_init: list[bytes]) -> "SqnState":
        """From SAIP ``sqnInit`` (one 6-octet SEQ per IND, "numbers do not include the index")."""
        if any(len(v) != 6 for v in seq_init):
            raise AuthParameterError("sqnInit entries are 6 octets")
        return cls.initial(policy, tuple(int.from_bytes(v, "big") for v in seq_init))

    def check(self, policy: SqnPolicy) -> None:
        """Raise :class:`AuthParameterError` if this array does not fit ``policy``."""
        if len(self.seq_ms) != policy.array_size:
            raise AuthParameterError(f"SQN array must have {policy.array_size} entries")
        if self.seq_ms and not 0 <= min(self.seq_ms) <= max(self.seq_ms) < 1 << policy.seq_bits:
            raise AuthParameterError("SEQ value out of range")

    def highest(self) -> tuple[int, int]:
        """(SEQ_MS, IND) of the highest accepted SEQ; the highest IND wins a tie."""
        seq = max(self.seq_ms)
        return seq, len(self.seq_ms) - 1 - self.seq_ms[::-1].index(seq)

    def sqn_ms(self, policy: SqnPolicy) -> int:
        """SQN_MS = SEQ_MS || IND of the highest accepted SEQ; 0 before any acceptance."""
        seq, ind = self.highest()
        return (seq << policy.ind_bits) | ind if seq else 0


def verify_freshness(sqn: int, state: SqnState, policy: SqnPolicy) -> SqnState | None:
    """Annex C.2: the updated state if ``sqn`` is accepted, ``None`` for a sync failure."""
    if not 0 <= sqn < (1 << SQN_BITS):
        raise AuthParameterError("SQN is 48 bits")
    state.check(policy)
    seq, ind = policy.split(sqn)
    seq_ms, _ = state.highest()
    if seq - seq_ms > policy.delta:
        return None
    if policy.age_limit is not None and seq_ms - seq >= policy.age_limit:
        return None
    if seq <= state.seq_ms[ind]:
        return None
    values = list(state.seq_ms)
    values[ind] = seq
    return SqnState(tuple(values))
