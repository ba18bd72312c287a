"""MILENAGE (TS 35.206) against TS 35.208 test sets 1-6 and an independent reference."""
from __future__ import annotations

import os
import random

import pytest
from Crypto.Cipher import AES

from euicc.auth.errors import AuthParameterError
from euicc.auth.milenage import DEFAULT_CONSTANTS, DEFAULT_ROTATIONS, Milenage, compute_opc
from tests.vectors import cases, section

h = bytes.fromhex
TS35208_SETS = section("milenage_ts35208")["test_sets"]


def test_ts35208_has_six_test_sets():
    assert [t["test_set"] for t in TS35208_SETS] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("t", cases(TS35208_SETS, lambda t: f"set{t['test_set']}"))
def test_ts35208_all_functions(t):
    k, rand, sqn, amf = h(t["K"]), h(t["RAND"]), h(t["SQN"]), h(t["AMF"])
    assert compute_opc(k, h(t["OP"])).hex() == t["OPc"]
    m = Milenage(k, h(t["OPc"]))
    assert m.f1(rand, sqn, amf).hex() == t["f1"]
    assert m.f1star(rand, sqn, amf).hex() == t["f1*"]
    res, ck, ik, ak = m.f2345(rand)
    assert (res.hex(), ck.hex(), ik.hex(), ak.hex()) == (t["f2"], t["f3"], t["f4"], t["f5"])
    assert m.f5star(rand).hex() == t["f5*"]


def test_from_op_equals_from_opc():
    t = TS35208_SETS[0]
    a = Milenage.from_op(h(t["K"]), h(t["OP"]))
    assert a.f1(h(t["RAND"]), h(t["SQN"]), h(t["AMF"])).hex() == t["f1"]


def test_saip_default_constants_are_ts35206_defaults():
    # SAIP AlgoParameter DEFAULTs: rotationConstants '4000204060'H, xoringConstants c1..c5.
    t = TS35208_SETS[2]
    xoring = b"".join(v.to_bytes(16, "big") for v in (0, 1, 2, 4, 8))
    m = Milenage.from_saip(h(t["K"]), h(t["OPc"]), h("4000204060"), xoring)
    assert m.f2345(h(t["RAND"]))[1].hex() == t["f3"]


# ---- independent reference: TS 35.206 §4.1 written over bit strings and pycryptodome AES ----

def _ref_milenage(k, opc, rand, sqn, amf, r, c):
    aes = AES.new(k, AES.MODE_ECB)

    def xor(a, b):
        return bytes(x ^ y for x, y in zip(a, b))

    def rot(x, bits):  # rotate a 128-bit string by `bits` positions towards the MSB
        s = "".join(f"{b:08b}" for b in x)
        s = s[bits:] + s[:bits]
        return bytes(int(s[i:i + 8], 2) for i in range(0, 128, 8))

    temp = aes.encrypt(xor(rand, opc))
    in1 = sqn + amf + sqn + amf
    out1 = xor(aes.encrypt(xor(xor(temp, rot(xor(in1, opc), r[0])), c[0])), opc)
    outs = [xor(aes.encrypt(xor(rot(xor(temp, opc), r[i]), c[i])), opc) for i in range(1, 5)]
    return {"f1": out1[:8], "f1*": out1[8:], "f2": outs[0][8:], "f5": outs[0][:6],
            "f3": outs[1], "f4": outs[2], "f5*": outs[3][:6]}


@pytest.mark.parametrize("seed", range(6))
def test_operator_constants_match_reference(seed):
    rnd = random.Random(seed)
    k, opc, rand = (rnd.randbytes(16) for _ in range(3))
    sqn, amf = rnd.randbytes(6), rnd.randbytes(2)
    r = tuple(rnd.randrange(128) for _ in range(5))  # any bit count, not only multiples of 8
    c = tuple(rnd.randbytes(16) for _ in range(5))
    m = Milenage(k, opc, rotations=r, constants=c)
    ref = _ref_milenage(k, opc, rand, sqn, amf, r, c)
    res, ck, ik, ak = m.f2345(rand)
    assert m.f1(rand, sqn, amf) == ref["f1"]
    assert m.f1star(rand, sqn, amf) == ref["f1*"]
    assert (res, ck, ik, ak) == (ref["f2"], ref["f3"], ref["f4"], ref["f5"])
    assert m.f5star(rand) == ref["f5*"]


def test_default_constants_match_reference():
    k, opc, rand = os.urandom(16), os.urandom(16), os.urandom(16)
    ref = _ref_milenage(k, opc, rand, bytes(6), bytes(2), DEFAULT_ROTATIONS, DEFAULT_CONSTANTS)
    assert Milenage(k, opc).f2345(rand)[2] == ref["f4"]


@pytest.mark.parametrize("kwargs", [
    {"k": bytes(15), "opc": bytes(16)},
    {"k": bytes(16), "opc": bytes(17)},
    {"k": bytes(16), "opc": bytes(16), "rotations": (64, 0, 32, 64)},
    {"k": bytes(16), "opc": bytes(16), "rotations": (64, 0, 32, 64, 128)},
    {"k": bytes(16), "opc": bytes(16), "constants": DEFAULT_CONSTANTS[:4]},
    {"k": bytes(16), "opc": bytes(16), "constants": (bytes(15),) + DEFAULT_CONSTANTS[1:]},
])
def test_bad_configuration_rejected(kwargs):
    with pytest.raises(AuthParameterError):
        Milenage(**kwargs)


def test_bad_inputs_rejected():
    m = Milenage(bytes(16), bytes(16))
    with pytest.raises(AuthParameterError):
        m.f2345(bytes(15))
    with pytest.raises(AuthParameterError):
        m.f1(bytes(16), bytes(5), bytes(2))
    with pytest.raises(AuthParameterError):
        m.f1star(bytes(16), bytes(6), bytes(3))
    with pytest.raises(AuthParameterError):
        compute_opc(bytes(16), b"short")
    with pytest.raises(AuthParameterError):
        Milenage.from_saip(bytes(16), bytes(16), bytes(4), bytes(80))
    with pytest.raises(AuthParameterError):
        Milenage.from_saip(bytes(16), bytes(16), bytes(5), bytes(79))
