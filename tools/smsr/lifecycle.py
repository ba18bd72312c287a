"""The SGP.02 v4.2 life cycle of one eUICC as the test SM-SR, SM-DP and terminal run it, step by step:

1. eUICCCapabilityAudit (§4.1.1.5) - the card's enabled profile;
2. CreateISDP (§4.1.1.1) - a new ISD-P, SELECTABLE;
3. key establishment (ES8.EstablishISDPKeySet, §4.1.3.1) with the ECASD - PERSONALIZED;
4. download and installation of a profile package over SCP03t (§4.1.3.3) - DISABLED;
5. SetFallBackAttribute (§4.1.1.7) on the original profile;
6. EnableProfile (§4.1.1.2) - REFRESH, notification '02' after attachment, confirmed (§4.1.1.12);
7. Fall-Back (§3.18) after the terminal reports location status 'no service' (TS 102 223 §7.5.4) -
   REFRESH, notification '05', confirmed;
8. return from Fall-Back by the SM-SR (ES5.EnableProfile of the new profile), notification confirmed;
9. SM-SR change (§3.8) to a second SM-SR; the first SM-SR's keys are refused afterwards.

:func:`run_life_cycle` records what it saw at each step (:class:`Step`); it checks nothing itself,
so that tests and the benchmark compare the record with the expectations of the spec.  Host code:
no card module is used.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from tools.ota.packet import OtaKeyset
from tools.smdp_m2m.smdp import SmDp
from tools.smsr.eis import Eis
from tools.smsr.gp_certificate import ROLE_SM_DP, ROLE_SM_SR, build_certificate
from tools.smsr.handover import change_smsr
from tools.smsr.smsr import OtaFailure, SmSr
from tools.terminal import cat
from tools.terminal.link import CardLink
from tools.terminal.terminal import Terminal


@dataclass
class Pki:
    """CI, EUM, ECASD, second SM-SR and SM-DP keys with GP-format certificates (SGP.02 §2.3)."""

    ci: ec.EllipticCurvePrivateKey
    eum: ec.EllipticCurvePrivateKey
    ecasd: ec.EllipticCurvePrivateKey
    ecasd_cert: bytes
    smsr2: ec.EllipticCurvePrivateKey
    smsr2_cert: bytes
    smdp: ec.EllipticCurvePrivateKey
    smdp_cert: bytes

    @classmethod
    def create(cls) -> Pki:
        def key() -> ec.EllipticCurvePrivateKey:
            return ec.generate_private_key(ec.SECP256R1())
        ci, eum, ecasd, smsr2, smdp = key(), key(), key(), key(), key()
        ecasd_cert = build_certificate(eum, ecasd.public_key(), serial=b"\x01", ca_id=b"EUM", subject_id=b"ECASD",
                                       role=None)
        smsr2_cert = build_certificate(ci, smsr2.public_key(), serial=b"\x02", ca_id=b"CI", subject_id=b"SMSR2",
                                       role=ROLE_SM_SR)
        smdp_cert = build_certificate(ci, smdp.public_key(), serial=b"\x03", ca_id=b"CI", subject_id=b"SMDP",
                                      role=ROLE_SM_DP)
        return cls(ci, eum, ecasd, ecasd_cert, smsr2, smsr2_cert, smdp, smdp_cert)


@dataclass
class World:
    """A terminal driving the card, the SM-SR behind it and an SM-DP using that SM-SR."""

    terminal: Terminal
    smsr: SmSr
    smdp: SmDp
    pki: Pki


def connect(link: CardLink, keyset: OtaKeyset, pki: Pki) -> World:
    """Start the terminal session (reset, TERMINAL PROFILE) with the first SM-SR as its network."""
    terminal = Terminal(link)
    smsr = SmSr(Eis(), keyset)
    smsr.attach(terminal)
    terminal.start()
    return World(terminal, smsr, SmDp(pki.smdp, pki.smdp_cert, smsr), pki)


@dataclass(frozen=True)
class Step:
    """What one step left behind: ISD-P states by AID (audit), notification types the SM-SR got
    (and confirmed) during the step, card resets (REFRESH) during the step."""

    name: str
    states: dict[bytes, str]
    notifications: tuple[tuple[int, bytes | None], ...] = ()
    resets: int = 0


@dataclass
class LifeCycle:
    """The record of :func:`run_life_cycle`."""

    original: bytes = b""
    isdp: bytes = b""
    steps: list[Step] = field(default_factory=list)
    old_smsr_refused: OtaFailure | None = None
    new_smsr: SmSr | None = None

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def run_life_cycle(world: World, profile: bytes) -> LifeCycle:
    """Run the nine steps of the module docstring against the card behind ``world``."""
    smsr, smdp, terminal = world.smsr, world.smdp, world.terminal
    record = LifeCycle()

    def states(sr: SmSr) -> dict[bytes, str]:
        return {e.aid: e.state for e in sr.audit()}

    def done(name: str, sr: SmSr, resets_before: int, attach: bool = False) -> None:
        if attach:
            terminal.location_status(cat.NORMAL_SERVICE)
        notes = tuple((n.type, n.isdp_aid) for n in sr.confirm_all()) if attach else ()
        record.steps.append(Step(name, states(sr), notes, terminal.record.resets - resets_before))

    audit = states(smsr)
    record.original = next(aid for aid, state in audit.items() if state == "ENABLED")
    record.steps.append(Step("audit", audit))
    resets = terminal.record.resets
    record.isdp = smsr.create_isdp()
    done("CreateISDP", smsr, resets)
    ecasd = smdp.ecasd_public_key(smsr.eis.ecasd_certificate, world.pki.eum.public_key())
    smdp.establish_isdp_keyset(record.isdp, ecasd)
    done("EstablishISDPKeySet", smsr, resets)
    smdp.download_profile(record.isdp, profile)
    done("DownloadAndInstallation", smsr, resets)
    smsr.set_fallback_attribute(record.original)
    done("SetFallBackAttribute", smsr, resets)
    resets = terminal.record.resets
    smsr.enable_profile(record.isdp)
    done("EnableProfile", smsr, resets, attach=True)
    resets = terminal.record.resets
    terminal.location_status(cat.NO_SERVICE)
    done("Fall-Back", smsr, resets, attach=True)
    resets = terminal.record.resets
    smsr.enable_profile(record.isdp)
    done("ReturnFromFallBack", smsr, resets, attach=True)
    resets = terminal.record.resets
    new = change_smsr(smsr, world.pki.smsr2, world.pki.smsr2_cert, ecasd)
    record.new_smsr = new
    done("SM-SR change", new, resets)
    try:
        smsr.audit()
    except OtaFailure as refused:
        record.old_smsr_refused = refused
    return record
