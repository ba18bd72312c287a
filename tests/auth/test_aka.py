"""USIM-side AKA (TS 33.102 §6.3.3/§6.3.5, c2/c3 of §6.8.1.2) against published answers
and against osmo-auc-gen (libosmocore) as an independent network-side implementation."""
from __future__ import annotations

import random

import pytest

from euicc.auth.aka import (AkaSuccess, MacFailure, SyncFailure, authenticate, c2, c3,
                            compute_auts, gsm_context)
from euicc.auth.errors import AuthParameterError
from euicc.auth.milenage import Milenage
from euicc.auth.sqn import SqnPolicy, SqnState
from euicc.auth.tuak import Tuak
from tests.vectors import cases, section

h = bytes.fromhex
USIM_EXAMPLES = section("milenage_usim_authenticate_examples")
TS35233_SETS = section("tuak_ts35233")["test_sets"]
SINGLE = SqnPolicy(ind_bits=0)  # one array entry: SQN_MS is the last accepted SQN


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


@pytest.mark.parametrize("case", cases(USIM_EXAMPLES["cases"], lambda c: f"SQN{c['SQN']}"))
def test_usim_examples(case):
    alg = Milenage(h(case["K"]), h(case["OPc"]))
    rand, autn = h(case["RAND"]), h(case["AUTN"])
    gsm = gsm_context(alg, rand)
    assert (gsm.sres.hex(), gsm.kc.hex()) == (case["SRES"], case["Kc"])
    result = authenticate(alg, rand, autn, SqnState.initial(SINGLE), SINGLE)
    if int(case["SQN"], 16) == 0:
        # Annex C.2.2: SEQ must exceed SEQ_MS(i), which starts at zero.
        assert isinstance(result, SyncFailure)
        return
    assert isinstance(result, AkaSuccess)
    assert result.sqn == int(case["SQN"], 16)
    assert (result.res.hex(), result.ck.hex(), result.ik.hex(), result.kc.hex()) == (
        case["RES"], case["CK"], case["IK"], case["Kc"])
    assert result.state.seq_ms == (result.sqn,)


def test_resync_auts_vector(auc_gen):
    v = USIM_EXAMPLES["resync_auts"]
    alg = Milenage(h(v["K"]), h(v["OPc"]))
    state = SqnState.initial(SINGLE, (int(v["SQN_MS"], 16),))
    # A stale challenge (SQN 5 < SQN_MS 23) produced by the network-side implementation.
    stale = auc_gen("-3", "-a", "milenage", "-k", v["K"], "-o", v["OPc"], "-r", v["RAND"],
                    "-s", "5", "-f", "0000")
    result = authenticate(alg, h(v["RAND"]), h(stale["AUTN"]), state, SINGLE)
    assert isinstance(result, SyncFailure)
    assert result.auts.hex() == v["AUTS"]


@pytest.mark.parametrize("seed", range(6))
def test_milenage_against_osmo_auc_gen(auc_gen, seed):
    rnd = random.Random(seed)
    k, opc, rand = (bytes(rnd.getrandbits(8) for _ in range(16)) for _ in range(3))
    amf = rnd.choice(["8000", "0000", "b9b9"])
    seq, ind = rnd.randrange(2, 1 << 27), rnd.randrange(32)
    sqn = (seq << 5) | ind
    out = auc_gen("-3", "-a", "milenage", "-k", k.hex(), "-o", opc.hex(), "-r", rand.hex(),
                  "-s", str(sqn), "-f", amf)
    alg, policy = Milenage(k, opc), SqnPolicy()
    state = SqnState.initial(policy, tuple([seq - 1] * 32))
    ok = authenticate(alg, rand, h(out["AUTN"]), state, policy)
    assert isinstance(ok, AkaSuccess) and ok.sqn == sqn
    assert (ok.res.hex(), ok.ck.hex(), ok.ik.hex(), ok.kc.hex()) == (
        out["RES"], out["CK"], out["IK"], out["Kc"])
    gsm = gsm_context(alg, rand)
    assert (gsm.sres.hex(), gsm.kc.hex()) == (out["SRES"], out["Kc"])
    # Replaying the same challenge on the updated card: resync, and the network side
    # recovers the card's SQN_MS from AUTS.
    replay = authenticate(alg, rand, h(out["AUTN"]), ok.state, policy)
    assert isinstance(replay, SyncFailure)
    back = auc_gen("-3", "-a", "milenage", "-k", k.hex(), "-o", opc.hex(), "-r", rand.hex(),
                   "-A", replay.auts.hex())
    assert int(back["SQN.MS"]) == ok.state.sqn_ms(policy) == sqn


def test_mac_failure():
    case = USIM_EXAMPLES["cases"][1]
    alg = Milenage(h(case["K"]), h(case["OPc"]))
    state = SqnState.initial(SINGLE)
    autn = h(case["AUTN"])
    for bad in (autn[:15] + bytes([autn[15] ^ 1]),   # MAC bit flipped
                autn[:6] + b"\x80\x00" + autn[8:],    # AMF changed
                bytes([autn[0] ^ 0x80]) + autn[1:]):  # concealed SQN changed
        assert authenticate(alg, h(case["RAND"]), bad, state, SINGLE) == MacFailure()


@pytest.mark.parametrize("t", cases(TS35233_SETS, lambda t: f"set{t['test_set']}"))
def test_tuak_aka_from_ts35233(t):
    n = t["keccak_iterations"]
    alg = Tuak(h(t["K"]), h(t["TOPc"]), mac_len=len(t["f1"]) // 2, res_len=len(t["f2"]) // 2,
               ck_len=len(t["f3"]) // 2, ik_len=len(t["f4"]) // 2, iterations=n)
    rand, sqn = h(t["RAND"]), h(t["SQN"])
    autn = _xor(sqn, h(t["f5"])) + h(t["AMF"]) + h(t["f1"])  # TS 33.102 §6.3.2
    policy = SqnPolicy()
    seq = int.from_bytes(sqn, "big") >> 5
    ok = authenticate(alg, rand, autn, SqnState.initial(policy, tuple([seq - 1] * 32)), policy)
    assert isinstance(ok, AkaSuccess)
    assert (ok.res.hex(), ok.ck.hex(), ok.ik.hex()) == (t["f2"], t["f3"], t["f4"])
    if len(ok.ck) == 16 and len(ok.ik) == 16:
        assert ok.kc == _xor(_xor(ok.ck[:8], ok.ck[8:]), _xor(ok.ik[:8], ok.ik[8:]))
    else:
        assert ok.kc is None
    replay = authenticate(alg, rand, autn, ok.state, policy)
    assert isinstance(replay, SyncFailure)
    assert len(replay.auts) == 6 + alg.mac_len
    assert _xor(replay.auts[:6], h(t["f5*"])) == sqn  # SQN_MS xor f5*(RAND)


def test_c2_c3_by_definition():
    res16 = bytes(range(1, 17))
    words = [int.from_bytes(res16[i:i + 4], "big") for i in range(0, 16, 4)]
    assert int.from_bytes(c2(res16), "big") == words[0] ^ words[1] ^ words[2] ^ words[3]
    assert c2(b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"  # XRES* = RES || 0...
    assert c2(bytes(range(6))) == bytes([0 ^ 4, 1 ^ 5, 2, 3])
    ck, ik = bytes(range(16)), bytes(range(16, 32))
    assert c3(ck, ik) == bytes(ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8] for i in range(8))
    with pytest.raises(AuthParameterError):
        c2(bytes(32))
    with pytest.raises(AuthParameterError):
        c2(bytes(3))
    with pytest.raises(AuthParameterError):
        c3(bytes(32), bytes(16))


def test_auts_matches_definition():
    alg = Milenage(bytes(range(16)), bytes(16))
    rand, sqn_ms = bytes(16), 0x123456789ABC
    auts = compute_auts(alg, rand, sqn_ms)
    sqn_bytes = sqn_ms.to_bytes(6, "big")
    assert auts == _xor(sqn_bytes, alg.f5star(rand)) + alg.f1star(rand, sqn_bytes, bytes(2))


def test_bad_lengths():
    alg, state = Milenage(bytes(16), bytes(16)), SqnState.initial(SINGLE)
    with pytest.raises(AuthParameterError):
        authenticate(alg, bytes(15), bytes(16), state, SINGLE)
    with pytest.raises(AuthParameterError):
        authenticate(alg, bytes(16), bytes(17), state, SINGLE)
    tuak16 = Tuak(bytes(16), bytes(32), mac_len=16)
    with pytest.raises(AuthParameterError):
        authenticate(tuak16, bytes(16), bytes(16), state, SINGLE)  # needs 8 + 16 octets
    with pytest.raises(AuthParameterError):
        gsm_context(alg, bytes(8))
    with pytest.raises(AuthParameterError):
        gsm_context(Tuak(bytes(16), bytes(32), ck_len=32), bytes(16))
    with pytest.raises(AuthParameterError):
        authenticate(alg, bytes(16), bytes(16), SqnState((0, 0)), SINGLE)
