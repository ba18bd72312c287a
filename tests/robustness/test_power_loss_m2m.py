"""Power loss at every write of the SGP.02 (M2M) operations, driven over the air by the host SM-SR /
SM-DP of tests/m2m/host.py through Card.transmit (issue #6 item 3):

- SM-SR change (SGP.02 v4.2 §3.8 / §5.6): ES5.EstablishISDRKeySet, and separately
  ES5.FinaliseISDRhandover;
- ES5 (§4.1.1) CreateISDP, EnableProfile, DisableProfile, DeleteProfile;
- ES8 (§4.1.3): EstablishISDPKeySet and DownloadAndInstallation over SCP03t into an ISD-P;
- one SCP80 Command Packet (ETSI TS 102 225 §5.1.1 counter) alone and with an ES5 effect.

Method (as test_power_loss.py): count the physical writes W of the uninterrupted run, then for every
N in 1..W (see ``cut_points``: inside the one large commit of the profile installation a sample,
unless EUICC_POWERCUT_EXHAUSTIVE=1) replay the same run on a fresh copy and cut the power at write N.  The card's randomness
and the host's ephemeral key and challenges are fixed, so a replay takes the reference run's path
and the state after the cut can be compared exactly: it must be the state the reference run had
committed before the APDU during which power failed (GP Card Spec §6.6 atomicity: the card's
commit per APDU is all-or-nothing) or after it.  Then the re-opened card is checked for meaning:
consistent (conftest.consistency_violations: at most one enabled profile, no half-installed or
half-deleted profile), notifications consistent (unique sequence numbers, none above the stored
counter), the SM-SR can still reach the ISD-R (old key set, or new one, never neither), and an
SCP80 packet is accepted at most once across the cut (its counter never goes back).

About the counter (TS 102 225 §5.1.1): the card stores the new counter in the same atomic commit
as the effects of the commands the packet carried.  A cut before that commit leaves the packet
unprocessed *and* unanswered (no PoR left the card), so accepting it once more afterwards is not
a replay; a packet that was answered is refused when sent again.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.card import Card
from euicc.composition import open_card
from euicc.crypto.ecka import Curve, EckaKeyPair
from euicc.m2m.personalization import personalize
from euicc.m2m.records import OtaKeySet, SmsrAddress
from euicc.m2m.runtime import M2mRuntime
from euicc.nvm import PowerCut
from tests.m2m import host
from tests.m2m.conftest import DEK, KIC, KID, SMSR_DIGITS, add_profile
from tests.vectors import TS48_V7
from tools.fuzz.invariants import snapshot
from tools.ota import packet as ota
from tools.ota import transport

from .conftest import consistency_violations
from .test_power_loss import PowerFailure

GET_EID = bytes.fromhex("80CA005A00")
FALLBACK_TAR, THIRD_TAR, NEW_TAR = 0x20, 0x21, 0x30
CLOCK = 1000.0
BASE_COUNTER = 1               # the SM-SR's next SCP80 counter on a base state
LARGE_COMMIT, EDGE, STRIDE = 64, 8, 32
FAR_COUNTER = 10_000           # a counter above anything a run used (reachability probes)


class FixedRandom:
    """The card runtime's random source, reproducible: a replay draws the same challenge RC."""

    def __init__(self) -> None:
        self.drawn = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self.drawn += 1
            out += hashlib.sha256(b"power-loss-m2m" + self.drawn.to_bytes(4, "big")).digest()
        return out[:n]


@dataclass
class Secrets:
    """Host-side keys fixed for the module, so that every replay sends the same bytes."""

    pki: host.Pki = field(default_factory=host.Pki)
    ephemeral: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    host_challenge: bytes = bytes.fromhex("0102030405060708")
    new_smsr_keys: tuple[bytes, bytes, bytes] | None = None    # set by the finalise base


class Rig:
    """One card on a state file with the terminal and the SM-SR in front of it.

    ``trace`` (when not None) records (store.writes, committed state) after every APDU.
    """

    def __init__(self, path: Path, counter: int = BASE_COUNTER) -> None:
        self.card = open_card(path, m2m=M2mRuntime(clock=lambda: CLOCK, random=FixedRandom()))
        self.trace: list[tuple[int, dict]] | None = None
        self.terminal = host.Terminal(self)            # the terminal sends through self.transmit
        self.terminal.terminal_profile()
        self.smsr = host.OtaServer(self.terminal, ota.OtaKeyset(0x01, ota.AES, KIC, ota.AES, KID), counter)

    def transmit(self, apdu: bytes) -> bytes:
        response = self.card.transmit(apdu)
        if self.trace is not None:
            self.trace.append((self.card.store.writes, snapshot(self.card.store)))
        return response

    def server(self, kvn: int, keys: tuple[bytes, bytes, bytes], counter: int) -> host.OtaServer:
        return host.OtaServer(self.terminal, ota.OtaKeyset(kvn, ota.AES, keys[0], ota.AES, keys[1]), counter)

    def close(self) -> None:
        self.card.store.fault_hook = None
        self.card.close()


# -- the operations (host side, from the specs) ------------------------------------------------
def create_isdp(aid: bytes) -> bytes:
    """INSTALL [for install and make selectable] of an ISD-P (SGP.02 §4.1.1.1, GP §11.5)."""
    params = bytes.fromhex("C90481020370")
    data = (bytes([16]) + host.ELF + bytes([16]) + host.MODULE + bytes([16]) + aid
            + bytes.fromhex("0380C000") + bytes([len(params)]) + params + b"\x00")
    return bytes([0x80, 0xE6, 0x0C, 0x00, len(data)]) + data + b"\x00"


def dgi_aid(tag: int, aid: bytes) -> bytes:
    return host.store_data(host.dgi(tag, host.ber(0x4F, aid)))


def delete_isdp(aid: bytes) -> bytes:
    data = host.ber(0x4F, aid)
    return bytes([0x80, 0xE4, 0x00, 0x40, len(data)]) + data + b"\x00"


def key_agreement(smsr: host.OtaServer, secrets: Secrets, signer, cert: bytes, kvn: int,
                  prefix: list[bytes] = ()) -> tuple[host.OffCardKeyAgreement, bytes]:
    """GP Amd E scenario #3 (SGP.02 §3.1.2 / §3.10): certificate, then CRT + ePK + signature."""
    answers = smsr.run(list(prefix) + [host.store_data(host.dgi(0x3A01, cert), p1=0x09)])
    assert all(sw == 0x9000 for _, sw in answers), answers
    rc = dict(host.parse_tlvs(answers[-1][0]))[0x85]
    offcard = host.OffCardKeyAgreement(signer, host.point(secrets.pki.ecasd), kvn, ephemeral=secrets.ephemeral)
    (response, sw), = smsr.run([host.store_data(offcard.second_store_data(rc), p1=0x89, p2=0x01)])
    assert sw == 0x9000, hex(sw)
    return offcard, response


def establish_isdr_key_set(rig: Rig, secrets: Secrets) -> tuple[bytes, bytes, bytes]:
    pki = secrets.pki
    offcard, response = key_agreement(rig.smsr, secrets, pki.smsr, pki.cert(pki.smsr, 0x02), 0x02)
    _, keys = offcard.keys(response)
    return tuple(keys)


def finalise_handover(rig: Rig, secrets: Secrets) -> None:
    new = rig.server(0x02, secrets.new_smsr_keys, 1)
    assert new.one(bytes.fromhex("80E4000005F203010103")) == (b"", 0x9000)


def es8_download(rig: Rig, secrets: Secrets) -> None:
    """CreateISDP, EstablishISDPKeySet, then the TS.48 package over SCP03t (SGP.02 §4.1.3.3)."""
    pki, aid = secrets.pki, host.isdp_aid(NEW_TAR)
    install_perso = bytes.fromhex("80E62000160000") + bytes([16]) + aid + bytes.fromhex("00000000")
    assert rig.smsr.one(create_isdp(aid)) == (b"\x00", 0x9000)
    offcard, response = key_agreement(rig.smsr, secrets, pki.smdp, pki.cert(pki.smdp, 0x01), 0x30,
                                      prefix=[install_perso])
    _, (enc, mac, _dek) = offcard.keys(response)
    sd = host.Scp03tHost(enc, mac, host_challenge=secrets.host_challenge)

    def scp03t(items: list[bytes]) -> list[tuple[int, bytes]]:
        data, _ = rig.smsr.deliver(rig.smsr.packet(host.ber(0xAA, b"".join(items)), tar=aid[12:15]))
        return host.parse_tlvs(host.parse_tlvs(rig.smsr.por(data).data)[0][1])[1:]

    (tag, value), = scp03t([sd.initialize_update()])
    assert scp03t([sd.external_authenticate(host.ber(tag, value), aid)]) == [(0x85, b"")]
    package = ts48_package()
    chunks = [package[i:i + 900] for i in range(0, len(package), 900)]
    for start in range(0, len(chunks), 2):
        assert scp03t([sd.data(c) for c in chunks[start:start + 2]]) == [(0x86, b"")] * len(chunks[start:start + 2])


def ts48_package() -> bytes:
    return TS48_V7.read_bytes()


def run_packet(apdus: list[bytes]) -> Callable[[Rig, Secrets], object]:
    def op(rig: Rig, secrets: Secrets) -> object:
        data, sw = rig.smsr.deliver(rig.smsr.packet(transport.expanded_script(apdus), counter=BASE_COUNTER))
        assert sw == 0x9000 and rig.smsr.por(data).status == 0
    return op


def one(apdu: bytes) -> Callable[[Rig, Secrets], object]:
    def op(rig: Rig, secrets: Secrets) -> object:
        assert rig.smsr.one(apdu)[1] == 0x9000
    return op


# name -> (base state, operation, packet replayed after the cut or None)
SCENARIOS: dict[str, tuple[str, Callable[[Rig, Secrets], object], list[bytes] | None]] = {
    "m2m_establish_isdr_key_set": ("base", establish_isdr_key_set, None),
    "m2m_finalise_isdr_handover": ("handover", finalise_handover, None),
    "m2m_create_isdp": ("base", one(create_isdp(host.isdp_aid(NEW_TAR))), None),
    "m2m_enable_profile": ("base", one(dgi_aid(0x3A03, host.isdp_aid(THIRD_TAR))), None),
    "m2m_disable_profile": ("base", lambda rig, s: one(dgi_aid(0x3A04, first_isdp(rig)))(rig, s), None),
    "m2m_delete_profile": ("base", one(delete_isdp(host.isdp_aid(THIRD_TAR))), None),
    "m2m_es8_download": ("base", es8_download, None),
    "m2m_scp80_counter": ("base", run_packet([GET_EID]), [GET_EID]),
    "m2m_scp80_set_fallback": ("base", run_packet([dgi_aid(0x3A05, host.isdp_aid(THIRD_TAR))]),
                               [dgi_aid(0x3A05, host.isdp_aid(THIRD_TAR))]),
}


def first_isdp(rig: Rig) -> bytes:
    (record,) = [r for r in rig.card.services.profiles.records() if r.isdp_aid[12:15] not in
                 (FALLBACK_TAR.to_bytes(3, "big"), THIRD_TAR.to_bytes(3, "big"))]
    return record.isdp_aid


# -- base states -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def secrets() -> Secrets:
    return Secrets()


@pytest.fixture(scope="module")
def bases(tmp_path_factory, secrets) -> dict[str, Path]:
    """'base': a personalised M2M card (ISD-R key set 01), its enabled first profile, a disabled
    Fall-Back profile (TAR 20) and a disabled third profile (TAR 21); 'handover': plus the new
    SM-SR's key set 02 from EstablishISDRKeySet."""
    folder = tmp_path_factory.mktemp("m2m-power")
    base, handover = folder / "base.state", folder / "handover.state"
    card = open_card(base)
    pki = secrets.pki
    with card.store.transaction():
        ecasd = EckaKeyPair.from_private_value(Curve.NIST_P256,
                                               pki.ecasd.private_numbers().private_value.to_bytes(32, "big"))
        personalize(card.store, keysets=(OtaKeySet(0x01, KIC, KID, DEK),), ecasd=ecasd,
                    ecasd_cert=pki.cert(pki.ecasd, 0x03, issuer=pki.eum), ci_curve=Curve.NIST_P256,
                    ci_point=host.point(pki.ci), smsr_address=SmsrAddress(0x91, SMSR_DIGITS))
    add_profile(card, FALLBACK_TAR, "8988100000000000011", fallback=True)
    add_profile(card, THIRD_TAR, "8988100000000000029")
    card.close()
    shutil.copyfile(base, handover)
    rig = Rig(handover)
    secrets.new_smsr_keys = establish_isdr_key_set(rig, secrets)
    rig.close()
    return {"base": base, "handover": handover}


def cut_points(marks: list[int]) -> list[int]:
    """Every write N, except inside one APDU's commit of more than ``LARGE_COMMIT`` rows (the
    profile installation: one SQLite transaction, rolled back as a whole wherever the cut falls),
    where the first and last ``EDGE`` rows and every ``STRIDE``-th are cut, unless
    EUICC_POWERCUT_EXHAUSTIVE is set (the long campaign: every row)."""
    exhaustive = bool(os.environ.get("EUICC_POWERCUT_EXHAUSTIVE"))
    points = []
    for low, high in zip(marks, marks[1:]):
        rows = range(low + 1, high + 1)
        if exhaustive or len(rows) <= LARGE_COMMIT:
            points += rows
        else:
            points += [n for i, n in enumerate(rows) if i < EDGE or i >= len(rows) - EDGE or i % STRIDE == 0]
    return points


# -- running -----------------------------------------------------------------------------------
def _run(path: Path, scenario: str, secrets: Secrets, at: int, record: bool = False) -> tuple[PowerFailure, Rig]:
    rig = Rig(path)
    rig.trace = [(rig.card.store.writes, snapshot(rig.card.store))] if record else None
    hook = PowerFailure(rig.card.store, at)
    try:
        SCENARIOS[scenario][1](rig, secrets)
    except PowerCut:
        assert hook.cut
    rig.close()
    return hook, rig


def _reachable(server: host.OtaServer) -> bool:
    """Whether the ISD-R answers GET DATA EID under this key set (PoR '00', TS 102 225 §5.2)."""
    data, _ = server.deliver(server.packet(transport.expanded_script([GET_EID])))
    try:
        return server.por(data).status == 0
    except ValueError:
        return False


def _meaning(path: Path, scenario: str, secrets: Secrets, before: dict) -> list[str]:
    """Check the re-opened card for meaning (module docstring); may change the copy's state."""
    rig = Rig(path, FAR_COUNTER)
    card, problems = rig.card, consistency_violations(rig.card)
    store = card.store
    pending = store.get("m2m/notifications", ())
    seqs = [n.seq for n in pending]
    if len(set(seqs)) != len(seqs) or any(s > store.get("m2m/notification-seq", 0) for s in seqs):
        problems.append(f"notification sequence numbers {seqs} vs counter {store.get('m2m/notification-seq')}")
    if store.get("m2m/notification-seq", 0) < before.get("m2m/notification-seq", 0):
        problems.append("notification sequence counter went back")
    old_counter = before["m2m/isdr/scp80/01"].counter
    if (now := store.get("m2m/isdr/scp80/01")) is not None and now.counter < old_counter:
        problems.append(f"SCP80 counter went back from {old_counter} to {now.counter}")
    replay = SCENARIOS[scenario][2]
    if replay is not None:
        stored = store.get("m2m/isdr/scp80/01").counter
        packet = host.OtaServer(rig.terminal, rig.smsr.keyset, BASE_COUNTER).packet(
            transport.expanded_script(replay))
        first = rig.smsr.por(rig.smsr.deliver(packet)[0]).status
        second = rig.smsr.por(rig.smsr.deliver(packet)[0]).status
        if (first, second) != ((0x00 if stored < BASE_COUNTER else 0x02), 0x02):
            problems.append(f"packet sent again after the cut (stored counter {stored}): "
                            f"PoR {first:02X} then {second:02X}")
    has_old, has_new = "m2m/isdr/scp80/01" in store, "m2m/isdr/scp80/02" in store
    old_ok = _reachable(rig.server(0x01, (KIC, KID, DEK), FAR_COUNTER))
    new_ok = secrets.new_smsr_keys is not None and _reachable(rig.server(0x02, secrets.new_smsr_keys, FAR_COUNTER))
    if not (old_ok or new_ok):
        problems.append("no usable ISD-R key set: the SM-SR cannot reach the card")
    if old_ok != has_old:
        problems.append(f"old key set stored {has_old}, usable {old_ok}")
    if scenario.startswith("m2m_establish") or scenario.startswith("m2m_finalise"):
        if new_ok != has_new:
            problems.append(f"new key set stored {has_new}, usable {new_ok}")
    rig.close()
    return problems


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_m2m_power_cut_at_every_write(scenario, bases, secrets, tmp_path, figures):
    base = bases[SCENARIOS[scenario][0]]
    reference = tmp_path / "reference.state"
    shutil.copyfile(base, reference)
    counting, rig = _run(reference, scenario, secrets, 0, record=True)
    trace, start = rig.trace, counting.start
    total = counting.count
    assert total > 0, f"{scenario} wrote nothing"
    assert trace[-1][1] != trace[0][1], f"{scenario} changed nothing"
    assert _meaning(reference, scenario, secrets, trace[0][1]) == []      # the uncut run itself
    violations = []
    points = cut_points([writes - start for writes, _ in trace])
    for n in points:
        path = tmp_path / f"{scenario}-{n}.state"
        shutil.copyfile(base, path)
        hook, _ = _run(path, scenario, secrets, n)
        assert hook.cut, f"{scenario}: cut at write {n} of {total} never happened"
        # the APDU during which the power failed: trace[i-1] before it, trace[i] after it
        i = next(i for i, (writes, _) in enumerate(trace) if writes - start >= n)
        card = open_card(path)
        after = snapshot(card.store)
        card.close()
        problems = [] if after in (trace[i - 1][1], trace[i][1]) else ["state is neither the one before "
                                                                       "nor the one after the interrupted APDU"]
        problems += _meaning(path, scenario, secrets, trace[0][1])
        violations += [f"cut at write {n}/{total}: {p}" for p in problems]
        path.unlink()
    figures.add(scenario, len(points), violations)
    assert not violations, violations[:10]
