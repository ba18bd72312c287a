"""Throughput of full USIM authentications (not a test: run ``python tests/auth/bench_aka.py``).

Each iteration is one complete 3G AKA as the AUTHENTICATE handler will run it: f2345, f1,
SQN array check and the new state.  AUTNs are prepared beforehand with the host-side
osmo-auc-gen formula (SQN xor AK || AMF || MAC) so only card-side work is timed.
"""
from __future__ import annotations

import os
import time

from euicc.auth.aka import authenticate
from euicc.auth.milenage import Milenage
from euicc.auth.sqn import SqnPolicy, SqnState
from euicc.auth.tuak import Tuak
from euicc.auth.xor_test import XorTestAlgorithm


def _challenges(alg, count: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(count):
        rand = os.urandom(16)
        sqn = ((i + 1) << 5).to_bytes(6, "big")
        ak = alg.f2345(rand)[3]
        out.append((rand, bytes(a ^ b for a, b in zip(sqn, ak)) + b"\x80\x00"
                    + alg.f1(rand, sqn, b"\x80\x00")))
    return out


def bench(name: str, alg, count: int) -> None:
    policy = SqnPolicy()
    state = SqnState.initial(policy)
    work = _challenges(alg, count)
    start = time.perf_counter()
    for rand, autn in work:
        state = authenticate(alg, rand, autn, state, policy).state
    elapsed = time.perf_counter() - start
    print(f"{name:10s} {count / elapsed:10.0f} authentications/s")


if __name__ == "__main__":
    bench("Milenage", Milenage(os.urandom(16), os.urandom(16)), 20000)
    bench("XOR", XorTestAlgorithm(bytes(range(16))), 20000)
    bench("TUAK", Tuak(os.urandom(16), os.urandom(32)), 1000)
