"""Stateful model test of ES5 over SCP80 (hypothesis): random sequences of SGP.02 v4.2 platform
management against a small reference model written from the specifications, not from card code.

Model (SGP.02 v4.2):

* §4.1.1.1 CreateISDP: a new ISD-P without a profile ('6A80' when the AID exists);
* §4.1.1.2 EnableProfile: '6A88' unknown ISD-P, '6985' no profile or already Enabled, '69E1' when
  POL1 of the Enabled profile forbids disabling; the previous profile becomes Disabled;
* §4.1.1.3 DisableProfile: the Fall-Back profile is enabled instead; '6985' target not Enabled,
  holding the Fall-Back Attribute or no Fall-Back profile; '69E1' POL1 of the target;
* §4.1.1.4 DeleteProfile: '6985' Enabled or Fall-Back, '69E1' POL1 "deletion not allowed"; an
  ISD-P without a profile is always deletable;
* §4.1.1.7 SetFallBackAttribute / SetEmergencyProfileAttribute: one holder each, never the same
  profile ('6985');
* §3.15 / §4.1.1.12 notifications: every switch queues a profile-change notification ('02',
  next sequence number, the newly Enabled ISD-P, rollback to the previous one; a newer switch
  clears older rollbacks); confirming removes it ('6A88' unknown) and deletes the previous
  profile when its POL1 says "delete when disabled" and it is still Disabled and not Fall-Back;
* ETSI TS 102 225 §5.1.1 counters (SPI '16': process if higher): a replayed or lower counter is
  refused with PoR '02', a wrong KID value with '01', an unknown key set with a non-zero PoR,
  and a refused packet changes nothing at all; an accepted one stores its counter.

POL1 coding and the Emergency DGI are the card's documented defaults [U: SPEC_NOTES §8.1/§8.2]:
'01' disable not allowed, '02' delete not allowed, '04' delete when disabled; DGI '3A09'.
After every step the model is compared with the card's store (read-only, public get/keys API);
the ``audit`` rule compares it with GET STATUS over SCP80 (GP §11.4, SGP.02 Table 28 '53').
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from euicc import tlv
from euicc.composition import open_card
from euicc.m2m.runtime import M2mRuntime
from tests.m2m import host
from tests.m2m.conftest import add_profile, set_attributes
from tools.fuzz.m2m_targets import KEYSET, expanded_response
from tools.ota import packet as ota
from tools.ota import transport
from tools.smsr import es5
from tools.smsr.settings import aid_for_tar

FIRST = aid_for_tar(bytes.fromhex("000010"))            # the default card's enabled profile
PRELOADED = {aid_for_tar(bytes.fromhex("000020")): "8988100000000000011",
             aid_for_tar(bytes.fromhex("000021")): "8988100000000000029"}
CREATABLE = [aid_for_tar(bytes.fromhex(t)) for t in ("000030", "000031")]
UNKNOWN = aid_for_tar(bytes.fromhex("000077"))
SPI = bytes.fromhex("1619")       # counter higher, CC, ciphered; PoR always, CC, ciphered, in the response
NOT_ALLOWED_DISABLE, NOT_ALLOWED_DELETE, DELETE_WHEN_DISABLED = 0x01, 0x02, 0x04
PROFILE_CHANGE = 0x02
LCS_ENABLED, LCS_DISABLED, LCS_SELECTABLE = 0x3F, 0x1F, 0x07
POR_OK, POR_CC_FAILED, POR_COUNTER_LOW = 0x00, 0x01, 0x02
WRONG_KID = ota.OtaKeyset(KEYSET.kvn, KEYSET.kic_algorithm, KEYSET.kic, KEYSET.kid_algorithm, bytes(16))


def deliver(terminal: host.Terminal, apdus: list[bytes], counter: int, keyset: ota.OtaKeyset = KEYSET,
            **kw) -> ota.ResponsePacket:
    """One expanded script (TS 102 226 §5.2) in an SCP80 Command Packet to the ISD-R TAR, sent as
    SMS-PP ENVELOPEs; the PoR from the last ENVELOPE's response, decoded with the right keys."""
    packet = ota.build_command_packet(keyset, SPI, host.ISDR_TAR, transport.expanded_script(apdus),
                                      counter=counter, **kw)
    data, sw = b"", 0
    for tpdu in transport.sms_deliver_tpdus(packet, "4477001122", counter & 0xFF):
        data, sw = terminal.send(transport.envelope_apdu(tpdu))
    assert sw == 0x9000 and data, f"ENVELOPE answered {data.hex()} {sw:04X}"
    return ota.decode_response_packet(KEYSET, SPI, data)


@dataclass
class Isdp:
    profile: bool
    enabled: bool = False
    fallback: bool = False
    emergency: bool = False
    pol1: int = 0


@dataclass(frozen=True)
class Note:
    seq: int
    kind: int
    aid: bytes
    rollback_to: bytes
    delete_on_confirm: bytes


@dataclass
class Model:
    isdps: dict[bytes, Isdp] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    last_seq: int = 0
    counter: int = 0

    def enabled(self) -> bytes:
        return next(a for a, i in self.isdps.items() if i.enabled)

    def holder(self, attribute: str) -> bytes | None:
        return next((a for a, i in self.isdps.items() if getattr(i, attribute)), None)

    def lookup(self, aid: bytes) -> tuple[Isdp | None, int | None]:
        """§4.1.1: the ISD-P, or the refusal of a function that needs its profile."""
        isdp = self.isdps.get(aid)
        if isdp is None:
            return None, 0x6A88
        return isdp, (None if isdp.profile else 0x6985)

    def switch(self, to: bytes, previous: bytes) -> None:
        self.isdps[previous].enabled, self.isdps[to].enabled = False, True
        self.last_seq += 1
        doomed = previous if self.isdps[previous].pol1 & DELETE_WHEN_DISABLED else b""
        self.notes = [replace(n, rollback_to=b"") for n in self.notes]
        self.notes.append(Note(self.last_seq, PROFILE_CHANGE, to, previous, doomed))

    def move(self, attribute: str, aid: bytes) -> None:
        for isdp in self.isdps.values():
            setattr(isdp, attribute, False)
        setattr(self.isdps[aid], attribute, True)


class Es5Machine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.card = open_card(None, m2m=M2mRuntime(clock=lambda: 1000.0))   # no rollback timer fires
        self.terminal = host.Terminal(self.card)
        self.terminal.terminal_profile()
        self.model = Model()
        self.highest_counter = 0

    # -- host side ------------------------------------------------------------------------------
    def deliver(self, apdus: list[bytes], counter: int | None = None,
                keyset: ota.OtaKeyset = KEYSET, **kw) -> ota.ResponsePacket:
        """One expanded script in one Command Packet to the ISD-R TAR; the decoded PoR."""
        return deliver(self.terminal, apdus, self.model.counter + 1 if counter is None else counter, keyset, **kw)

    def run(self, apdu: bytes) -> tuple[bytes, int]:
        """One ES5 command in a correctly secured packet: (data, SW); the counter advances."""
        por = self.deliver([apdu])
        assert por.status == POR_OK and por.checksum_valid, por
        self.model.counter += 1
        _, responses = expanded_response(por.data)
        (r,) = responses
        return r[:-2], int.from_bytes(r[-2:], "big")

    def aids(self) -> st.SearchStrategy[bytes]:
        return st.sampled_from(sorted(self.model.isdps) + [UNKNOWN])

    # -- set-up ---------------------------------------------------------------------------------
    @initialize(pol1s=st.lists(st.sampled_from([0, 1, 2, 4, 6]), min_size=3, max_size=3))
    def start(self, pol1s: list[int]) -> None:
        """The default card's profile (Enabled) and two Disabled ones, POL1 as the SM-DP set it."""
        self.model.isdps[FIRST] = Isdp(profile=True, enabled=True)
        for aid, iccid in PRELOADED.items():
            add_profile(self.card, int.from_bytes(aid[12:15], "big"), iccid)
            self.model.isdps[aid] = Isdp(profile=True)
        for aid, pol1 in zip(sorted(self.model.isdps), pol1s):
            set_attributes(self.card, aid, pol1=pol1)
            self.model.isdps[aid].pol1 = pol1

    # -- ES5 ------------------------------------------------------------------------------------
    @rule(aid=st.sampled_from(CREATABLE))
    def create_isdp(self, aid: bytes) -> None:
        data, sw = self.run(es5.create_isdp(aid))
        if aid in self.model.isdps:
            assert sw == 0x6A80
        else:
            assert (data, sw) == (b"\x00", 0x9000)
            self.model.isdps[aid] = Isdp(profile=False)

    @rule(data=st.data())
    def enable(self, data) -> None:
        aid = data.draw(self.aids())
        _, sw = self.run(es5.enable_profile(aid))
        isdp, want = self.model.lookup(aid)
        if want is None and isdp.enabled:
            want = 0x6985
        current = self.model.enabled()
        if want is None and self.model.isdps[current].pol1 & NOT_ALLOWED_DISABLE:
            want = 0x69E1
        assert sw == (want or 0x9000)
        if want is None:
            self.model.switch(aid, current)
        self.terminal.take(0x01)   # the REFRESH of a switch (TS 102 223 §6.4.7)

    @rule(data=st.data())
    def disable(self, data) -> None:
        aid = data.draw(self.aids())
        _, sw = self.run(es5.disable_profile(aid))
        isdp, want = self.model.lookup(aid)
        fallback = self.model.holder("fallback")
        if want is None and (not isdp.enabled or isdp.fallback or fallback is None):
            want = 0x6985
        if want is None and isdp.pol1 & NOT_ALLOWED_DISABLE:
            want = 0x69E1
        assert sw == (want or 0x9000)
        if want is None:
            self.model.switch(fallback, aid)
        self.terminal.take(0x01)

    @rule(data=st.data())
    def delete(self, data) -> None:
        aid = data.draw(self.aids())
        reply, sw = self.run(es5.delete_profile(aid))
        isdp = self.model.isdps.get(aid)
        want = 0x6A88 if isdp is None else None
        if want is None and isdp.profile and (isdp.enabled or isdp.fallback):
            want = 0x6985
        if want is None and isdp.profile and isdp.pol1 & NOT_ALLOWED_DELETE:
            want = 0x69E1
        assert sw == (want or 0x9000)
        if want is None:
            assert reply == b"\x00"          # GP §11.2.3: one '00' byte
            del self.model.isdps[aid]

    @rule(data=st.data(), attribute=st.sampled_from(["fallback", "emergency"]))
    def set_attribute(self, data, attribute: str) -> None:
        aid = data.draw(self.aids())
        command = es5.set_fallback_attribute if attribute == "fallback" else es5.set_emergency_profile_attribute
        _, sw = self.run(command(aid))
        isdp, want = self.model.lookup(aid)
        other = "emergency" if attribute == "fallback" else "fallback"
        if want is None and getattr(isdp, other):
            want = 0x6985
        assert sw == (want or 0x9000)
        if want is None:
            self.model.move(attribute, aid)

    @rule(data=st.data())
    def confirm(self, data) -> None:
        seq = data.draw(st.sampled_from([n.seq for n in self.model.notes] + [self.model.last_seq + 7]))
        reply, sw = self.run(es5.confirm_notification(seq))
        note = next((n for n in self.model.notes if n.seq == seq), None)
        if note is None:
            assert sw == 0x6A88
            return
        assert sw == 0x9000
        self.model.notes.remove(note)
        deleted = []
        doomed = self.model.isdps.get(note.delete_on_confirm)
        if doomed is not None and doomed.profile and not doomed.enabled and not doomed.fallback:
            del self.model.isdps[note.delete_on_confirm]
            deleted.append(note.delete_on_confirm)
        assert reply == tlv.tlv(0x80, b"".join(tlv.tlv(0x4F, a) for a in deleted))

    @rule(aid=st.sampled_from([FIRST, *PRELOADED, *CREATABLE, UNKNOWN]))
    def audit(self, aid: bytes) -> None:
        """eUICCCapabilityAudit: GET STATUS of one ISD-P (GP §11.4.2; '6A88' when absent)."""
        reply, sw = self.run(es5.get_status(aid))
        isdp = self.model.isdps.get(aid)
        if isdp is None:
            assert sw == 0x6A88
            return
        assert sw == 0x9000
        (entry,) = es5.parse_get_status(reply)
        want = LCS_SELECTABLE if not isdp.profile else LCS_ENABLED if isdp.enabled else LCS_DISABLED
        assert (entry.aid, entry.lifecycle) == (aid, want)
        if isdp.profile:
            assert entry.attributes == int(isdp.fallback) | int(isdp.emergency) << 1

    # -- transport and security -----------------------------------------------------------------
    @rule()
    def reset(self) -> None:
        self.card.reset()
        self.terminal.terminal_profile()

    @rule(back=st.integers(min_value=0, max_value=3), data=st.data())
    def replayed_counter(self, back: int, data) -> None:
        """A counter not higher than the stored one: PoR '02', nothing changes."""
        aid = data.draw(self.aids())
        por = self.deliver([es5.enable_profile(aid), es5.delete_profile(aid)],
                           counter=max(0, self.model.counter - back))
        assert por.status == POR_COUNTER_LOW and por.data == b""

    @rule(jump=st.integers(min_value=2, max_value=1000))
    def higher_counter(self, jump: int) -> None:
        """Any higher counter is accepted (SPI '10' mode) and becomes the stored one."""
        por = self.deliver([es5.get_data_extended_card_resources()], counter=self.model.counter + jump)
        assert por.status == POR_OK and por.counter == self.model.counter + jump
        self.model.counter += jump

    @rule(unknown_kvn=st.booleans(), data=st.data())
    def wrong_kid(self, unknown_kvn: bool, data) -> None:
        """A wrong KID value ('01', RC/CC/DS failed) or a KID naming an absent key set: refused."""
        aid = data.draw(self.aids())
        script = [es5.enable_profile(aid)]
        if unknown_kvn:
            por = self.deliver(script, kid=0x22)
            assert por.status != POR_OK
        else:
            por = self.deliver(script, keyset=WRONG_KID)
            assert por.status == POR_CC_FAILED

    # -- after every step -----------------------------------------------------------------------
    @invariant()
    def store_matches_model(self) -> None:
        store = self.card.store
        records = {r.isdp_aid: r for r in (store.get(k) for k in store.keys("profile/"))}
        got = {a: (r.state == 1, r.fallback, r.emergency, r.pol1) for a, r in records.items()}
        want = {a: (i.enabled, i.fallback, i.emergency, i.pol1) for a, i in self.model.isdps.items() if i.profile}
        assert got == want
        isdps = {e.aid for e in (store.get(k) for k in store.keys("gp/")) if e.elf == es5_elf()}
        assert isdps == set(self.model.isdps)

    @invariant()
    def notifications_match(self) -> None:
        got = [(n.seq, n.kind, n.isdp_aid, n.rollback_to, n.delete_on_confirm)
               for n in self.card.store.get("m2m/notifications", ())]
        assert got == [(n.seq, n.kind, n.aid, n.rollback_to, n.delete_on_confirm) for n in self.model.notes]

    @invariant()
    def counter_matches(self) -> None:
        keyset = self.card.store.get("m2m/isdr/scp80/01")
        assert keyset.counter == self.model.counter >= self.highest_counter
        self.highest_counter = keyset.counter


def es5_elf() -> bytes:
    """The ISD-P executable load file (SGP.02 Annex H '...0D00')."""
    return aid_for_tar(bytes.fromhex("00000D"))


Es5Machine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestEs5StateMachine = Es5Machine.TestCase
