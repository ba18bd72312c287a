"""TUAK (TS 35.231) against TS 35.233 test sets 1-6; Keccak-f[1600] against hashlib SHA-3."""
from __future__ import annotations

import hashlib
import os

import pytest

from euicc.auth.errors import AuthParameterError
from euicc.auth.keccak import keccak_f1600
from euicc.auth.tuak import Tuak, compute_topc
from tests.vectors import cases, section

h = bytes.fromhex
TS35233_SETS = section("tuak_ts35233")["test_sets"]


def _sponge(message: bytes, rate: int, suffix: int, out_len: int) -> bytes:
    """FIPS 202 §4 sponge (pad10*1 with domain suffix) over the module's permutation."""
    padded = bytearray(message + bytes([suffix]))
    padded += bytes(-len(padded) % rate)
    padded[-1] |= 0x80
    state = bytes(200)
    for i in range(0, len(padded), rate):
        block = bytes(padded[i:i + rate]) + bytes(200 - rate)
        state = keccak_f1600(bytes(a ^ b for a, b in zip(state, block)))
    out = b""
    while len(out) < out_len:
        out += state[:rate]
        state = keccak_f1600(state)
    return out[:out_len]


@pytest.mark.parametrize("length", [0, 1, 135, 136, 137, 300])
def test_keccak_permutation_via_sha3(length):
    msg = os.urandom(length)
    assert _sponge(msg, 136, 0x06, 32) == hashlib.sha3_256(msg).digest()
    assert _sponge(msg, 72, 0x06, 64) == hashlib.sha3_512(msg).digest()
    assert _sponge(msg, 168, 0x1F, 400) == hashlib.shake_128(msg).digest(400)


def test_keccak_iterations_compose():
    s = os.urandom(200)
    assert keccak_f1600(s, 2) == keccak_f1600(keccak_f1600(s))
    with pytest.raises(ValueError):
        keccak_f1600(bytes(199))


def _tuak(t):
    it = t["keccak_iterations"]
    topc = compute_topc(h(t["K"]), h(t["TOP"]), it)
    return topc, Tuak(h(t["K"]), topc, mac_len=len(t["f1"]) // 2, res_len=len(t["f2"]) // 2,
                      ck_len=len(t["f3"]) // 2, ik_len=len(t["f4"]) // 2, iterations=it)


def test_ts35233_has_six_test_sets():
    assert len(TS35233_SETS) == 6


@pytest.mark.parametrize("t", cases(TS35233_SETS, lambda t: f"set{t['test_set']}"))
def test_ts35233_all_functions(t):
    topc, alg = _tuak(t)
    rand, sqn, amf = h(t["RAND"]), h(t["SQN"]), h(t["AMF"])
    assert topc.hex() == t["TOPc"]
    assert alg.f1(rand, sqn, amf).hex() == t["f1"]
    assert alg.f1star(rand, sqn, amf).hex() == t["f1*"]
    res, ck, ik, ak = alg.f2345(rand)
    assert (res.hex(), ck.hex(), ik.hex(), ak.hex()) == (t["f2"], t["f3"], t["f4"], t["f5"])
    assert alg.f5star(rand).hex() == t["f5*"]


def test_from_top():
    t = TS35233_SETS[5]  # two Keccak iterations
    alg = Tuak.from_top(h(t["K"]), h(t["TOP"]), mac_len=32, res_len=32, ck_len=32, ik_len=32,
                        iterations=2)
    assert alg.f5star(h(t["RAND"])).hex() == t["f5*"]


@pytest.mark.parametrize("kwargs", [
    {"k": bytes(24), "topc": bytes(32)},
    {"k": bytes(16), "topc": bytes(16)},
    {"k": bytes(16), "topc": bytes(32), "mac_len": 4},
    {"k": bytes(16), "topc": bytes(32), "res_len": 2},
    {"k": bytes(16), "topc": bytes(32), "ck_len": 8},
    {"k": bytes(16), "topc": bytes(32), "ik_len": 24},
    {"k": bytes(16), "topc": bytes(32), "iterations": 0},
    {"k": bytes(16), "topc": bytes(32), "iterations": 256},
])
def test_bad_configuration_rejected(kwargs):
    with pytest.raises(AuthParameterError):
        Tuak(**kwargs)


def test_bad_inputs_rejected():
    alg = Tuak(bytes(16), bytes(32))
    with pytest.raises(AuthParameterError):
        alg.f2345(bytes(8))
    with pytest.raises(AuthParameterError):
        alg.f1(bytes(16), bytes(7), bytes(2))
    with pytest.raises(AuthParameterError):
        compute_topc(bytes(16), bytes(31))
