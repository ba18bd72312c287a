"""Profile benchmarks (issue #4): medians of SAIP package install time, Milenage AUTHENTICATE
operations per second through ``Card.transmit``, and the size of a card holding 8 profiles.

    python -m tools.bench.profile_bench [--rounds 5]

Targets: a TS.48 package installs in < 100 ms; >= 2,000 AUTHENTICATEs per second.  A script,
not a test; it reads the TS.48 packages from the reference data folder's profiles/
(``EUICC_REFERENCE_DIR`` or ``../shared/reference``, see tools.reference_data).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from euicc.auth.milenage import Milenage
from euicc.card import Card
from euicc.composition import open_card
from euicc.nvm import Store
from euicc.nvm_codec import Codec
from euicc.profiles.installer import install_profile
from euicc.profiles.manager import fsid_of
from euicc.profiles.model import ProfileRecord
from tools.profile_builder.builder import ProfileParameters, build_upp
from tools.reference_data import require_reference

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")


def profiles() -> Path:
    return require_reference("the profile benchmark") / "profiles"


def install_times(rounds: int) -> dict[str, float]:
    from euicc import state_layout
    from euicc.composition import make_extensions
    out = {}
    for path in sorted(profiles().glob("*/*.der")):
        data, times = path.read_bytes(), []
        for _ in range(rounds):
            store = Store(None, Codec(state_layout.record_types(make_extensions())))
            start = time.perf_counter()
            with store.transaction():
                install_profile(store, "bench", data)
            times.append(time.perf_counter() - start)
        out[path.name] = statistics.median(times) * 1000
    return out


def install_into(card: Card, upp: bytes, enable: bool = False) -> None:
    profiles = card.services.profiles
    with card.store.transaction():
        aid = profiles.create_isdp()
        done = install_profile(card.store, fsid_of(aid), upp)
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=done.iccid, fsid=fsid_of(aid)))
        if enable:
            profiles.enable(aid)
    card.reset()


def authenticate_rate(seconds: float) -> float:
    """Milenage AUTHENTICATEs per second in-process (fresh SQN each time, vectors precomputed)."""
    card = open_card(None)
    install_into(card, build_upp(ProfileParameters(iccid="8900100000000000999",
                                                   imsi="001010000000999", k=K, opc=OPC)), True)
    card.transmit(bytes.fromhex("00A4040C07A0000000871002"))
    alg, rand, amf = Milenage(K, OPC), bytes(range(16)), b"\x80\x00"
    _, _, _, ak = alg.f2345(rand)
    n = int(seconds * 5000)
    apdus = []
    for i in range(1, n + 1):
        sqn = (i << 5).to_bytes(6, "big")
        autn = bytes(a ^ b for a, b in zip(sqn, ak)) + amf + alg.f1(rand, sqn, amf)
        apdus.append(bytes.fromhex("0088008122") + b"\x10" + rand + b"\x10" + autn)
    start = time.perf_counter()
    for apdu in apdus:
        if card.transmit(apdu)[-2] != 0x61:
            raise RuntimeError("AUTHENTICATE failed")
    return n / (time.perf_counter() - start)


def eight_profiles() -> tuple[int, float]:
    """(state file bytes, process max RSS MiB) for a card with 8 installed TS.48-like profiles."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "card.state"
        card = open_card(state)
        packages = sorted(profiles().glob("pysim-unique/*.der"))[:7]
        for path in packages:
            install_into(card, path.read_bytes())
        install_into(card, (profiles() / "ts48-v7" / "TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV.der")
                     .read_bytes())
        size = state.stat().st_size
        card.close()
    return size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    for name, ms in install_times(args.rounds).items():
        print(f"install {name:58s} median {ms:7.1f} ms  (target < 100 ms)")
    print(f"AUTHENTICATE (Milenage, Card.transmit): {authenticate_rate(args.seconds):,.0f}/s "
          "(target >= 2,000/s)")
    size, rss = eight_profiles()
    print(f"card with 8 profiles: state file {size / 1024:,.0f} KiB, max RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
