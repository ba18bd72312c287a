"""SQN array of TS 33.102 Annex C against the Annex's rules written out in this test."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from euicc.auth.errors import AuthParameterError
from euicc.auth.sqn import SqnPolicy, SqnState, verify_freshness


class AnnexCModel:
    """Annex C.2 as prose-to-code: a list SEQ_MS(i), Δ check, optional L check, array check."""

    def __init__(self, ind_bits, delta, limit, seqs=None):
        self.ind_bits, self.delta, self.limit = ind_bits, delta, limit
        self.seqs = list(seqs) if seqs else [0] * 2 ** ind_bits

    def receive(self, sqn):
        seq, ind = sqn // 2 ** self.ind_bits, sqn % 2 ** self.ind_bits
        top = max(self.seqs)  # SEQ_MS: highest previously accepted SEQ in the array
        if seq - top > self.delta:  # C.2.1: accept only if SEQ - SEQ_MS <= Δ
            return False
        if self.limit is not None and not top - seq < self.limit:  # C.2.2: SEQ_MS - SEQ < L
            return False
        if not seq > self.seqs[ind]:  # C.2.2: fresh iff SEQ > SEQ_MS(IND)
            return False
        self.seqs[ind] = seq
        return True


def _sqn(seq, ind, ind_bits=5):
    return (seq << ind_bits) | ind


def test_defaults():
    p = SqnPolicy()
    assert (p.ind_bits, p.array_size, p.delta, p.age_limit) == (5, 32, 2 ** 28, 2 ** 28)
    s = SqnState.initial(p)
    assert s.seq_ms == (0,) * 32 and s.sqn_ms(p) == 0


def test_fresh_then_replay():
    p = SqnPolicy()
    s = SqnState.initial(p)
    s1 = verify_freshness(_sqn(1, 3), s, p)
    assert s1 is not None and s1.seq_ms[3] == 1 and s.seq_ms[3] == 0  # immutable input
    assert verify_freshness(_sqn(1, 3), s1, p) is None  # replay of the same SQN
    assert verify_freshness(_sqn(0, 3), s1, p) is None  # older in the same slot
    assert s1.sqn_ms(p) == _sqn(1, 3)


def test_seq_zero_never_fresh_on_new_card():
    p = SqnPolicy()
    assert verify_freshness(_sqn(0, 7), SqnState.initial(p), p) is None


def test_out_of_order_across_ind_slots():
    p = SqnPolicy()
    s = verify_freshness(_sqn(10, 1), SqnState.initial(p), p)
    s = verify_freshness(_sqn(5, 2), s, p)  # older SEQ, other IND: still fresh
    assert s is not None and s.seq_ms[1:3] == (10, 5)
    assert s.sqn_ms(p) == _sqn(10, 1)


def test_ind_wrap():
    # The AuC cycles IND 0..31 then 0 again with a higher SEQ.
    p = SqnPolicy()
    s = SqnState.initial(p)
    for ind in range(32):
        s = verify_freshness(_sqn(1, ind), s, p)
        assert s is not None
    assert verify_freshness(_sqn(1, 0), s, p) is None
    s = verify_freshness(_sqn(2, 0), s, p)
    assert s is not None and s.seq_ms[0] == 2 and s.sqn_ms(p) == _sqn(2, 0)


def test_sqn_ms_tie_takes_highest_ind():
    p = SqnPolicy()
    s = SqnState.initial(p, tuple([7] * 32))
    assert s.sqn_ms(p) == _sqn(7, 31)


def test_delta_limit():
    p = SqnPolicy(delta=100, age_limit=None)
    s = SqnState.initial(p, tuple([50] + [0] * 31))
    assert verify_freshness(_sqn(150, 4), s, p) is not None  # SEQ - SEQ_MS = 100 <= Δ
    assert verify_freshness(_sqn(151, 4), s, p) is None      # 101 > Δ


def test_age_limit():
    p = SqnPolicy(delta=1000, age_limit=10)
    s = SqnState.initial(p, tuple([100] + [0] * 31))
    assert verify_freshness(_sqn(91, 5), s, p) is not None  # SEQ_MS - SEQ = 9 < L
    assert verify_freshness(_sqn(90, 5), s, p) is None      # 10 is not < L
    assert verify_freshness(_sqn(1, 5), s, SqnPolicy(delta=1000, age_limit=None)) is not None


def test_zero_ind_bits_single_entry():
    p = SqnPolicy(ind_bits=0)
    s = verify_freshness(23, SqnState.initial(p), p)
    assert s.seq_ms == (23,) and s.sqn_ms(p) == 23


def test_from_saip_octets():
    p = SqnPolicy()
    s = SqnState.from_octets(p, [bytes(5) + bytes([i]) for i in range(32)])
    assert s.seq_ms == tuple(range(32))
    with pytest.raises(AuthParameterError):
        SqnState.from_octets(p, [bytes(6)] * 31)
    with pytest.raises(AuthParameterError):
        SqnState.from_octets(p, [bytes(5)] * 32)


@pytest.mark.parametrize("kwargs", [{"ind_bits": -1}, {"ind_bits": 11}, {"delta": 0},
                                    {"delta": 2 ** 43}, {"age_limit": 0}])
def test_bad_policy(kwargs):
    with pytest.raises(AuthParameterError):
        SqnPolicy(**kwargs)


def test_bad_state_and_sqn():
    p = SqnPolicy()
    with pytest.raises(AuthParameterError):
        SqnState.initial(p, (0,) * 16)
    with pytest.raises(AuthParameterError):
        SqnState.initial(p, (2 ** 43,) + (0,) * 31)
    with pytest.raises(AuthParameterError):
        verify_freshness(2 ** 48, SqnState.initial(p), p)
    with pytest.raises(AuthParameterError):
        verify_freshness(1, SqnState((0,) * 8), p)


@settings(max_examples=150, deadline=None)
@given(ind_bits=st.integers(0, 5), delta=st.integers(1, 64),
       limit=st.one_of(st.none(), st.integers(1, 64)),
       stream=st.lists(st.tuples(st.integers(0, 80), st.integers(0, 31)), max_size=40))
def test_matches_annex_c_model(ind_bits, delta, limit, stream):
    p = SqnPolicy(ind_bits=ind_bits, delta=delta, age_limit=limit)
    model = AnnexCModel(ind_bits, delta, limit)
    state = SqnState.initial(p)
    for seq, ind in stream:
        sqn = (seq << ind_bits) | (ind % 2 ** ind_bits)
        new = verify_freshness(sqn, state, p)
        assert (new is not None) == model.receive(sqn)
        state = new or state
        assert list(state.seq_ms) == model.seqs
