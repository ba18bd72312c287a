"""Stateful model test of ONE card driven by every interface at once (hypothesis): logical
channels, file selection, READ/UPDATE BINARY, PIN1, ES10c (SGP.22) and ES5 over SCP80 (SGP.02),
against a small reference model written from the specifications, not from the card code.

The card is the default card (``euicc.provisioning``: ISD-R key set 01, first profile Enabled in
ISD-P '...1000') with the SGP.02 runtime on a fixed clock (no rollback timer fires) and a second,
Disabled profile in ISD-P '...2000' holding the Fall-Back Attribute (SGP.02 §3.18), POL1 0.

Expected behaviour, by clause:

* TS 102 221 §11.1.17 MANAGE CHANNEL (lowest free number, '6881' closing a closed one), reset
  closes all; §8.4 / §11.1.1 SELECT by FID (P1 '00') and by path from the MF (P1 '08');
  §11.1.3/§11.1.4 READ/UPDATE BINARY ('6986' without a current EF, '6982' access condition);
  EF.PL (TS 102 221 §13.5: read ALW, update PIN1), EF.ICCID (§13.2: read ALW, update ADM) holding
  the enabled profile's ICCID; §11.1.9 VERIFY ('63Cx', '6983' blocked, empty data: status),
  §11.1.12 ENABLE VERIFICATION ('6985' already enabled), §11.1.13 UNBLOCK (10 PUK tries; enables
  and verifies the PIN).  Both profiles start with PIN1 '0000' disabled, PUK1 '11111111'
  (TS.48 / euicc.fs.default_fs.Subscription).
* SGP.22 v2.5 §5.7.16 EnableProfile (0 ok, 1 not found, 2 not Disabled; the Enabled one is
  disabled), §5.7.17 DisableProfile (2 not Enabled; then no profile is Enabled), §5.7.15
  GetProfilesInfo: STORE DATA to the ISD-R selected on a logical channel (§5.7.2).  The profiles
  carry no notificationConfigurationInfo, so ListNotification stays empty (§2.4.2).
* SGP.02 v4.2 §4.1.1.2 EnableProfile ('6A88' unknown, '6985' already Enabled), §4.1.1.3
  DisableProfile (the Fall-Back profile is enabled instead; '6985' not Enabled / Fall-Back),
  §3.15: every ES5 switch queues one notification; ETSI TS 102 225 §5.1.1: a replayed counter
  gets PoR '02', a wrong KID value PoR '01', and changes nothing; an accepted packet stores its
  counter, which never goes backwards.

Where SGP.22 and SGP.02 meet on one card and neither defines the outcome, the model expects:

1. ES10c follows SGP.22 only: SGP.02 attributes (Fall-Back, POL1) are not consulted, so an ES10
   DisableProfile of the Fall-Back profile succeeds and leaves no profile Enabled, and an ES10
   switch queues no SGP.02 notification (SGP.02 §3.15 / §4.1.1.2 define them for ES5 and
   eUICC-initiated switches; ES10 is not an SGP.02 interface).  euicc.rsp.es10c documents the
   SGP.22 rules only.
2. A profile switch, from either side, takes effect at once and every channel's file selection
   starts again at the MF (the card's documented decision, ``euicc.session.CardSession._bind_fs``);
   the terminal answers the REFRESH (TS 102 223 §6.4.7) but does not reset the card.
3. PIN verification status is per profile and lasts for the card session (volatile, TS 102 221
   §9.5.1; ``euicc.fs.pin.PinService``): a PIN verified in one profile never satisfies another's.
4. File and PIN rules run only while a profile is Enabled (the eUICC's own file system without a
   profile is not modelled).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from euicc.composition import open_card
from euicc.m2m.runtime import M2mRuntime
from tests.m2m import host
from tests.m2m.conftest import add_profile, set_attributes
from tools.fuzz.m2m_targets import KEYSET, expanded_response
from tools.lpa.es10 import Es10Client
from tools.lpa.transport import Es10Transport
from tools.ota import packet as ota
from tools.smdpp.orders import iccid_ef_coding
from tools.smsr import es5
from tools.smsr.settings import aid_for_tar

from .conftest import consistency_violations
from .test_state_machine import PinModel, pad
from .test_state_machine_m2m import (
    FIRST,
    POR_CC_FAILED,
    POR_COUNTER_LOW,
    POR_OK,
    UNKNOWN,
    WRONG_KID,
    deliver,
)

SECOND = aid_for_tar(bytes.fromhex("000020"))
SECOND_ICCID = "8988100000000000011"
SECOND_FULL_ICCID = "89881000000000000114"          # with its Luhn check digit (ITU-T E.118)
UNKNOWN_ICCID = iccid_ef_coding("8900100000000000999")
ISDR = "A0000005591010FFFFFFFF8900000100"
ECASD = bytes.fromhex("A0000005591010FFFFFFFF8900000200")     # SGP.02 Annex H; GET STATUS lists it too
ARA_M = bytes.fromhex("A00000015141434C00")                   # GPD_SPE_013 ARA-M: listed too
# EF.PL as personalised (TS 102 221 §13.5, "en"): the SAIP test profile's 6 bytes, default_fs's 10
INITIAL_PL = {FIRST: bytes.fromhex("656EFFFFFFFF"), SECOND: bytes.fromhex("656E") + b"\xff" * 8}
PIN_VALUES = ["0000", "1234"]
PUK_VALUES = ["11111111", "00000000"]
MAX_OPEN = 4                          # channels the rules open (the invariant needs a free one)
LCS_ENABLED, LCS_DISABLED = 0x3F, 0x1F


def cla(ch: int, proprietary: bool = False) -> str:
    """ISO 7816-4 §5.4.1 class byte of channel `ch`."""
    base = 0x80 if proprietary else 0x00
    return f"{(base | ch) if ch < 4 else (base | 0x40 | (ch - 4)):02X}"


@dataclass
class Profile:
    iccid: bytes
    pl: bytes
    enabled: bool = False
    fallback: bool = False
    pin: PinModel = field(default_factory=lambda: PinModel("0000", False, PUK_VALUES[0], True))


@dataclass
class Model:
    profiles: dict[bytes, Profile] = field(default_factory=dict)
    channels: dict[int, str | None] = field(default_factory=lambda: {0: None})   # None: MF
    verified: set[bytes] = field(default_factory=set)     # ISD-P AIDs whose PIN1 is verified
    counter: int = 0
    sgp02_notifications: int = 0

    def enabled(self) -> bytes | None:
        return next((a for a, p in self.profiles.items() if p.enabled), None)

    def switch(self, to: bytes | None, previous: bytes | None) -> None:
        """A profile switch: new states; every EF selection starts again at the MF (decision 2)."""
        if previous is not None:
            self.profiles[previous].enabled = False
        if to is not None:
            self.profiles[to].enabled = True
        self.channels = {ch: ("ISDR" if sel == "ISDR" else None) for ch, sel in self.channels.items()}

    def attempt(self, value: str) -> str:
        """TS 102 221 §11.1.9 VERIFY / §11.1.12 on the enabled profile's PIN1."""
        aid = self.enabled()
        want = self.profiles[aid].pin.verify(value)
        if want == "9000":
            self.verified.add(aid)
        elif want != "6983":
            self.verified.discard(aid)
        return want


class MixedMachine(RuleBasedStateMachine):
    """One card, every interface, one model."""

    def __init__(self) -> None:
        super().__init__()
        self.card = open_card(None, m2m=M2mRuntime(clock=lambda: 1000.0))
        self.terminal = host.Terminal(self.card)
        self.terminal.terminal_profile()
        self.es10 = Es10Client(Es10Transport(self.transmit, terminal_capability=False))
        self.model = Model()
        self.highest_counter = 0

    # -- host side ------------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        """The terminal: plays the proactive session (REFRESH answered, no reset) on '91xx'."""
        response = self.card.transmit(apdu)
        if response[-2] == 0x91:
            self.terminal.fetch_all(int.from_bytes(response[-2:], "big"))
            response = response[:-2] + b"\x90\x00"
        return response

    def tx(self, apdu: str) -> str:
        return self.transmit(bytes.fromhex(apdu)).hex().upper()

    def on_isdr(self, ch: int) -> Es10Client:
        """SELECT the ISD-R on channel `ch` (SGP.22 §5.7.2); the ES10 client then uses it."""
        got = self.tx(cla(ch) + "A4040010" + ISDR + "00")
        assert got[:2] in ("61", "90"), got
        self.es10.transport.channel = ch
        return self.es10

    def deliver(self, apdus: list[bytes], counter: int | None = None,
                keyset: ota.OtaKeyset = KEYSET) -> ota.ResponsePacket:
        """One expanded script in an SCP80 Command Packet to the ISD-R TAR; the decoded PoR."""
        return deliver(self.terminal, apdus, self.model.counter + 1 if counter is None else counter, keyset)

    def es5(self, apdu: bytes) -> tuple[bytes, int]:
        """One ES5 command in a correct packet: (data, SW); the counter advances."""
        por = self.deliver([apdu])
        assert por.status == POR_OK and por.checksum_valid, por
        self.model.counter += 1
        _, (response,) = expanded_response(por.data)
        return response[:-2], int.from_bytes(response[-2:], "big")

    def aids(self) -> st.SearchStrategy[bytes]:
        return st.sampled_from([FIRST, SECOND] * 3 + [UNKNOWN])

    def pin_ch(self, data) -> int:
        return data.draw(st.sampled_from(sorted(self.model.channels)))

    # -- set-up ---------------------------------------------------------------------------------
    @initialize()
    def start(self) -> None:
        first = self.card.services.profiles.enabled()
        assert first.isdp_aid == FIRST
        add_profile(self.card, 0x20, SECOND_ICCID)
        set_attributes(self.card, SECOND, fallback=True)
        self.model.profiles[FIRST] = Profile(first.iccid, INITIAL_PL[FIRST], enabled=True)
        self.model.profiles[SECOND] = Profile(iccid_ef_coding(SECOND_FULL_ICCID), INITIAL_PL[SECOND],
                                              fallback=True)

    # -- channels -------------------------------------------------------------------------------
    @precondition(lambda self: len(self.model.channels) < MAX_OPEN)
    @rule()
    def open_channel(self) -> None:
        free = min(n for n in range(1, 20) if n not in self.model.channels)
        assert self.tx("0070000001") == f"{free:02X}9000"
        self.model.channels[free] = None

    @rule(ch=st.integers(1, MAX_OPEN))
    def close_channel(self, ch: int) -> None:
        got = self.tx(f"007080{ch:02X}00")
        assert got == ("9000" if ch in self.model.channels else "6881"), (ch, got)
        self.model.channels.pop(ch, None)

    @rule()
    def reset(self) -> None:
        self.card.reset()
        self.terminal.terminal_profile()
        self.model.channels, self.model.verified = {0: None}, set()

    # -- selection and files --------------------------------------------------------------------
    def select(self, ch: int, name: str, by_path: bool) -> None:
        c, fid = cla(ch), "2F05" if name == "EF.PL" else "2FE2"
        if by_path:
            got = [self.tx(c + "A4080C02" + fid)]
        else:
            got = [self.tx(c + "A4000C023F00"), self.tx(c + "A4000C02" + fid)]
        assert got == ["9000"] * len(got), (name, got)
        self.model.channels[ch] = name

    @precondition(lambda self: self.model.enabled() is not None)
    @rule(data=st.data(), name=st.sampled_from(["EF.PL", "EF.ICCID"]), by_path=st.booleans())
    def select_file(self, data, name: str, by_path: bool) -> None:
        self.select(self.pin_ch(data), name, by_path)

    def file_channels(self) -> list[int]:
        return sorted(ch for ch, sel in self.model.channels.items() if sel != "ISDR")

    @precondition(lambda self: self.model.enabled() is not None)
    @rule(data=st.data())
    def read(self, data) -> None:
        ch = data.draw(st.sampled_from(self.file_channels()))
        name, profile = self.model.channels[ch], self.model.profiles[self.model.enabled()]
        if name is None:
            assert self.tx(cla(ch) + "B0000001") == "6986"
            return
        want = profile.pl if name == "EF.PL" else profile.iccid
        got = self.tx(cla(ch) + f"B00000{len(want):02X}")
        assert got == want.hex().upper() + "9000", (ch, name, got)

    @precondition(lambda self: self.model.enabled() is not None)
    @rule(data=st.data(), fill=st.binary(min_size=1, max_size=6))
    def update(self, data, fill: bytes) -> None:
        ch = data.draw(st.sampled_from(self.file_channels()))
        name, aid = self.model.channels[ch], self.model.enabled()
        profile = self.model.profiles[aid]
        got = self.tx(cla(ch) + f"D60000{len(fill):02X}" + fill.hex())
        if name is None:
            assert got == "6986"
            return
        allowed = name == "EF.PL" and (not profile.pin.enabled or aid in self.model.verified)
        assert got == ("9000" if allowed else "6982"), (ch, name, got)
        if allowed:
            profile.pl = fill + profile.pl[len(fill):]

    # -- PIN1 of the enabled profile ------------------------------------------------------------
    @precondition(lambda self: self.model.enabled() is not None)
    @rule(data=st.data(), value=st.sampled_from(PIN_VALUES))
    def verify(self, data, value: str) -> None:
        ch = data.draw(st.sampled_from(self.file_channels()))
        assert self.tx(cla(ch) + "20000108" + pad(value)) == self.model.attempt(value)

    @precondition(lambda self: self.model.enabled() is not None)
    @rule(value=st.sampled_from(PIN_VALUES))
    def enable_pin(self, value: str) -> None:
        pin = self.model.profiles[self.model.enabled()].pin
        got = self.tx("0028000108" + pad(value))
        if pin.enabled:
            assert got == "6985"
            return
        want = self.model.attempt(value)
        assert got == want
        pin.enabled = pin.enabled or want == "9000"

    @precondition(lambda self: self.model.enabled() is not None)
    @rule(puk=st.sampled_from(PUK_VALUES), new=st.sampled_from(PIN_VALUES))
    def unblock(self, puk: str, new: str) -> None:
        aid = self.model.enabled()
        pin = self.model.profiles[aid].pin
        got = self.tx("002C000110" + puk.encode().hex() + pad(new))
        want = pin.unblock(puk, new)
        if want == "9000":
            self.model.verified.add(aid)
        assert got == want

    # -- ES10c on a logical channel -------------------------------------------------------------
    def es10_channel(self, data) -> int:
        """An open logical channel other than the basic one (one is opened when none is)."""
        if len(self.model.channels) == 1:
            self.open_channel()
        ch = data.draw(st.sampled_from(sorted(set(self.model.channels) - {0})))
        self.model.channels[ch] = "ISDR"
        return ch

    @rule(data=st.data())
    def es10_enable(self, data) -> None:
        aid = data.draw(self.aids())
        profile = self.model.profiles.get(aid)
        iccid = profile.iccid if profile else UNKNOWN_ICCID
        got = self.on_isdr(self.es10_channel(data)).enable_profile(("iccid", iccid))
        want = 1 if profile is None else 2 if profile.enabled else 0
        assert got == want, (aid.hex(), got)
        if want == 0:
            self.model.switch(aid, self.model.enabled())

    @rule(data=st.data())
    def es10_disable(self, data) -> None:
        aid = data.draw(self.aids())
        profile = self.model.profiles.get(aid)
        iccid = profile.iccid if profile else UNKNOWN_ICCID
        got = self.on_isdr(self.es10_channel(data)).disable_profile(("iccid", iccid))
        want = 1 if profile is None else 0 if profile.enabled else 2
        assert got == want, (aid.hex(), got)
        if want == 0:
            self.model.switch(None, aid)

    # -- ES5 over SCP80 -------------------------------------------------------------------------
    @rule(data=st.data())
    def es5_enable(self, data) -> None:
        aid = data.draw(self.aids())
        _, sw = self.es5(es5.enable_profile(aid))
        profile = self.model.profiles.get(aid)
        want = 0x6A88 if profile is None else 0x6985 if profile.enabled else 0x9000
        assert sw == want, (aid.hex(), hex(sw))
        if want == 0x9000:
            self.model.switch(aid, self.model.enabled())
            self.model.sgp02_notifications += 1

    @rule(data=st.data())
    def es5_disable(self, data) -> None:
        aid = data.draw(self.aids())
        _, sw = self.es5(es5.disable_profile(aid))
        profile = self.model.profiles.get(aid)
        want = 0x6A88 if profile is None else 0x6985 if not profile.enabled or profile.fallback else 0x9000
        assert sw == want, (aid.hex(), hex(sw))
        if want == 0x9000:
            self.model.switch(SECOND, aid)
            self.model.sgp02_notifications += 1

    @rule(back=st.integers(0, 3), data=st.data())
    def es5_replayed(self, back: int, data) -> None:
        """TS 102 225 §5.1.1: a counter not higher than the stored one, PoR '02', no effect."""
        aid = data.draw(self.aids())
        por = self.deliver([es5.enable_profile(aid), es5.disable_profile(aid)],
                           counter=max(0, self.model.counter - back))
        assert por.status == POR_COUNTER_LOW and por.data == b"", por

    @rule(data=st.data())
    def es5_wrong_kid(self, data) -> None:
        """TS 102 225 §5.1.1 / §5.1.2: a wrong KID value, PoR '01' (RC/CC/DS failed), no effect."""
        aid = data.draw(self.aids())
        por = self.deliver([es5.enable_profile(aid)], keyset=WRONG_KID)
        assert por.status == POR_CC_FAILED, por

    # -- after every step -----------------------------------------------------------------------
    @invariant()
    def at_most_one_enabled_and_store_consistent(self) -> None:
        assert sum(p.enabled for p in self.model.profiles.values()) <= 1
        assert consistency_violations(self.card) == []
        if self.model.channels[0] is not None:  # consistency_violations selected the MF on channel 0
            self.select(0, self.model.channels[0], by_path=False)

    @invariant()
    def es10_view_matches(self) -> None:
        """GetProfilesInfo and ListNotification on a channel opened for the check and closed."""
        data = self.tx("0070000001")
        assert data[-4:] == "9000", data
        ch = int(data[:2], 16)
        client = self.on_isdr(ch)
        got = {p["iccid"]: p["profileState"] for p in client.get_profiles_info()}
        assert got == {p.iccid: int(p.enabled) for p in self.model.profiles.values()}
        assert client.list_notifications() == []
        assert self.tx(f"007080{ch:02X}00") == "9000"

    @invariant()
    def es5_audit_matches(self) -> None:
        """eUICCCapabilityAudit: GET STATUS of all ISD-Ps over SCP80 (GP §11.4.2, SGP.02 §4.1.1)."""
        reply, sw = self.es5(es5.get_status())
        assert sw == 0x9000
        got = {e.aid: (e.lifecycle, e.attributes) for e in es5.parse_get_status(reply)
               if e.aid not in (ECASD, ARA_M)}
        assert got == {a: (LCS_ENABLED if p.enabled else LCS_DISABLED, int(p.fallback))
                       for a, p in self.model.profiles.items()}

    @invariant()
    def pin_counters_match(self) -> None:
        """VERIFY / UNBLOCK with no data (TS 102 221 §11.1.9 / §11.1.13): '63Cx', '6983' or '9000'."""
        aid = self.model.enabled()
        if aid is None:
            return
        pin = self.model.profiles[aid].pin
        got = self.tx("0020000100")
        if aid in self.model.verified or not pin.enabled:
            want = "9000"
        else:
            want = "6983" if pin.retries == 0 else f"63C{pin.retries:X}"
        assert got == want, (got, want)
        assert self.tx("002C000100") == ("6983" if pin.puk_retries == 0 else f"63C{pin.puk_retries:X}")

    @invariant()
    def counter_and_notifications_match(self) -> None:
        counter = self.card.store.get("m2m/isdr/scp80/01").counter
        assert counter == self.model.counter >= self.highest_counter
        self.highest_counter = counter
        assert len(self.card.store.get("m2m/notifications", ())) == self.model.sgp02_notifications


MixedMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestMixedStateMachine = MixedMachine.TestCase
