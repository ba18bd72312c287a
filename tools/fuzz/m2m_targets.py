"""Fuzz target for ES5 (GSMA SGP.02 v4.2 §4.1.1): the fuzzer's bytes are the secured data (the
remote APDU script, ETSI TS 102 226 §5.1 compact or §5.2 expanded) of a correctly ciphered and
checksummed SCP80 Command Packet (TS 102 225 §5.1) to the ISD-R TAR '000001' (SGP.02 Annex H),
delivered as SMS-PP download ENVELOPEs (TS 102 223 §7.1.1, concatenated per TS 23.040 when long)
through ``Card.transmit`` only.  The fuzzer thus reaches ES5 (INSTALL, DELETE, STORE DATA DGIs,
GET STATUS, GET DATA) behind the crypto.

Host side: the packet, the SMS-DELIVERs and the ENVELOPE come from tools.ota (host code written
from the specs), the PoR is deciphered and verified by tools.ota too; nothing here calls the
card's SCP80 code.  The card is the default card (``euicc.provisioning``), whose ISD-R holds the
documented test key set KVN 01 (AES KIc / AES-CMAC KID, euicc.m2m.personalization) and one
enabled profile in ISD-P '...1000'; set-up adds a second, Disabled profile in ISD-P '...2000'
(through the card's profile services, as a download would leave it) so enable / disable / delete
paths are reachable.  The clock is fixed, so no rollback timer fires between inputs.

Checked on every input, beyond tools.fuzz.invariants (every ENVELOPE / GET RESPONSE / FETCH):

* the last ENVELOPE carries a PoR (SPI '16 19': PoR always, CC, ciphered, in the response) with
  status '00', a valid CC and the packet's counter: the packet is correct, so it must be accepted;
* the key set's counter in the store equals the packet's counter afterwards (TS 102 225 §5.1.1);
* every R-APDU in the response script ends in a valid status word (SGP.02's '69E1' included);
* when no command of the script succeeded, nothing but the counter changed (GP §11: a failed
  command leaves the card as it was);
* SGP.02 §2.2.1 / §3.18: at most one Enabled profile, at most one with the Fall-Back Attribute,
  at most one with the Emergency attribute, never both on one profile.
"""
from __future__ import annotations

from euicc import tlv
from euicc.card import Card
from euicc.composition import open_card
from euicc.fs import default_fs
from euicc.fs.filesystem import FileSystem
from euicc.m2m.records import ISDR_SCP80
from euicc.m2m.runtime import M2mRuntime
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import fsid_of
from euicc.profiles.model import ProfileRecord, iccid_bytes
from tools.fuzz.card_targets import CardDriver, join_chunks, split_chunks
from tools.fuzz.invariants import (
    SUCCESS_SW1,
    InvariantViolation,
    StateWatch,
    snapshot,
    state_changes,
    valid_sw,
)
from tools.ota import packet as ota
from tools.ota import transport
from tools.smsr import es5
from tools.smsr.pki_files import DEFAULT_CARD_KEYSET
from tools.smsr.settings import aid_for_tar

ISDR_TAR = bytes.fromhex("000001")                    # SGP.02 Annex H
SPI = bytes.fromhex("1619")       # counter higher, CC, ciphered; PoR always, CC, ciphered, in the response
KEYSET = DEFAULT_CARD_KEYSET                          # the default card's documented ISD-R key set 01
COUNTER_KEY = ISDR_SCP80 + "01"
FIRST_ISDP = aid_for_tar(bytes.fromhex("000010"))
SECOND_ISDP = aid_for_tar(bytes.fromhex("000020"))
SECOND_ICCID = "8988100000000000011"
TERMINAL_PROFILE = bytes.fromhex("801000000AFFFFFFFFFFFFFFFFFFFF")
SGP02_SW = frozenset({0x69E1})                          # SGP.02 v4.2 §4.1.1: POL1 forbids the action
MAX_SCRIPT = 2048                                       # bytes of secured data per input
FIXED_NOW = 1_000_000.0


def add_disabled_profile(card: Card, aid: bytes = SECOND_ISDP, iccid: str = SECOND_ICCID) -> None:
    """Set-up: a Disabled profile in its own ISD-P with the default file system."""
    profiles = card.services.profiles
    with card.store.transaction():
        profiles.create_isdp(aid)
        default_fs.build(FileSystem(card.store, fsid_of(aid)), default_fs.Subscription(iccid=iccid))
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=iccid_bytes(default_fs.luhn(iccid)),
                                           fsid=fsid_of(aid)))


class M2mCardDriver(CardDriver):
    """A default card with a fixed clock and a second (Disabled) profile; fresh every
    `fresh_every` inputs (tools.fuzz.card_targets.CardDriver)."""

    def _fresh(self) -> None:
        card = open_card(None, self.config, m2m=M2mRuntime(clock=lambda: FIXED_NOW, random=lambda n: b"\x5a" * n))
        add_disabled_profile(card)
        self.card = card
        self.state = StateWatch(card.store)


class Es5Target:
    """Remote APDU scripts to the ISD-R behind a valid SCP80 packet (see module docstring)."""

    def __init__(self, fresh_every: int = 256) -> None:
        self.driver = M2mCardDriver(fresh_every)
        self.card = self.driver.card
        self.counter = 0
        self.self_check()

    # -- card and terminal -------------------------------------------------------------------
    def send(self, apdu: bytes) -> tuple[bytes, int]:
        """One command with GET RESPONSE (TS 102 221 §7.3.1.1.4) and the proactive session
        (FETCH / TERMINAL RESPONSE, TS 102 223 §6) played by the terminal."""
        response = self.driver.transmit(apdu)
        data, sw = response[:-2], int.from_bytes(response[-2:], "big")
        for _ in range(64):
            if sw >> 8 == 0x61:
                more = self.driver.transmit(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
                data, sw = data + more[:-2], int.from_bytes(more[-2:], "big")
            elif sw >> 8 == 0x91:
                self.terminal_response(sw & 0xFF)
                sw = 0x9000
            else:
                return data, sw
        raise InvariantViolation(f"{apdu[:5].hex()}: endless 61xx / 91xx")

    def terminal_response(self, length: int) -> None:
        """FETCH then TERMINAL RESPONSE 'command performed successfully' (TS 102 223 §6.8)."""
        for _ in range(16):
            command = self.driver.transmit(bytes([0x80, 0x12, 0x00, 0x00, length]))
            try:
                details = tlv.find(tlv.unwrap(command[:-2], 0xD0), 0x81)
            except tlv.TlvError as exc:
                raise InvariantViolation(f"FETCH returned {command.hex()}: {exc}") from None
            if details is None:
                raise InvariantViolation(f"proactive command {command.hex()} without command details")
            tr = tlv.tlv(0x81, details) + tlv.tlv(0x82, b"\x82\x81") + tlv.tlv(0x83, b"\x00")
            answer = self.driver.transmit(bytes([0x80, 0x14, 0x00, 0x00, len(tr)]) + tr)
            if answer[-2] != 0x91:
                return
            length = answer[-1]
        raise InvariantViolation("endless proactive session")

    def self_check(self) -> None:
        """The harness's keys and packet form are right: an audit must be accepted."""
        responses = self.deliver(transport.expanded_script([es5.get_data_extended_card_resources()]))
        if not responses or responses[-1][-2:] != b"\x90\x00":
            raise RuntimeError(f"ES5 harness set-up: audit answered {responses}")

    # -- one input -----------------------------------------------------------------------------
    def deliver(self, script: bytes) -> list[bytes]:
        """Send `script` in one packet with the next counter; check the PoR; the R-APDUs."""
        if self.driver.card is not self.card:          # a fresh card: its counter starts at 0
            self.card, self.counter = self.driver.card, 0
        self.counter += 1
        packet = ota.build_command_packet(KEYSET, SPI, ISDR_TAR, script, counter=self.counter)
        tpdus = transport.sms_deliver_tpdus(packet, originator="4477001122", reference=self.counter & 0xFF)
        data, sw = b"", 0
        for number, tpdu in enumerate(tpdus):
            data, sw = self.send(transport.envelope_apdu(tpdu))
            if number < len(tpdus) - 1 and (data or sw != 0x9000):
                raise InvariantViolation(f"SMS part {number + 1}/{len(tpdus)} answered {data.hex()} {sw:04X}")
        if sw != 0x9000 or not data:
            raise InvariantViolation(f"script {script.hex()}: ENVELOPE answered {data.hex()} {sw:04X}, no PoR")
        try:
            por = ota.decode_response_packet(KEYSET, SPI, data)
        except (ValueError, IndexError) as exc:
            raise InvariantViolation(f"script {script.hex()}: PoR {data.hex()} malformed: {exc}") from None
        if por.status != 0 or not por.checksum_valid or por.counter != self.counter:
            raise InvariantViolation(f"script {script.hex()}: valid packet refused, PoR {por}")
        stored = self.driver.card.store.get(COUNTER_KEY)
        if stored is None or stored.counter != self.counter:
            raise InvariantViolation(f"counter {stored} after accepting packet counter {self.counter}")
        return self.responses(script, por.data)

    @staticmethod
    def responses(script: bytes, data: bytes) -> list[bytes]:
        """The R-APDUs of the response script (TS 102 226 §5.1.2 / §5.2.2), each checked."""
        if not data:
            return []
        try:
            executed, responses = (expanded_response(data) if script[:1] in (b"\xAA", b"\xAE")
                                   else (data[0], [data[3:] + data[1:3]]))
        except (tlv.TlvError, IndexError) as exc:
            raise InvariantViolation(f"script {script.hex()}: response {data.hex()} malformed: {exc}") from None
        for r in responses:
            sw = int.from_bytes(r[-2:], "big") if len(r) >= 2 else -1
            if sw < 0 or not (valid_sw(sw) or sw in SGP02_SW):
                raise InvariantViolation(f"script {script.hex()}: R-APDU {r.hex()} has no valid SW")
        if executed > len(responses):                  # compact: earlier commands ran too
            return [b"\x90\x00"] + responses
        return responses

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        script = bytes(data)[:MAX_SCRIPT]
        card = self.driver.card
        card.reset()
        self.send(TERMINAL_PROFILE)
        before = snapshot(card.store)
        responses = self.deliver(script)
        self.driver.logs.check()
        changed = set(state_changes(before, snapshot(card.store))) - {COUNTER_KEY}
        succeeded = any(r[-2] in SUCCESS_SW1 for r in responses)
        if changed and not succeeded:
            raise InvariantViolation(f"script {script.hex()}: no command succeeded but {sorted(changed)} changed")
        check_profiles(card)


def expanded_response(data: bytes) -> tuple[int, list[bytes]]:
    """TS 102 226 §5.2.2: 'AB' L {'80' executed, '23' R-APDU*, ['90' bad format]} or 'AF 80' ...
    '00 00'; returns (executed count, R-APDUs).  (tools.ota.transport's decoder reads one-byte
    lengths only, so the BER-TLV codec decodes here.)"""
    if data[:2] == b"\xAF\x80":
        if data[-2:] != b"\x00\x00":
            raise tlv.TlvError("indefinite response script without end of contents")
        items = tlv.parse(data[2:-2])
    else:
        items = tlv.parse(tlv.unwrap(data, 0xAB))
    responses = [v for t, v in items if t == 0x23]
    counts = [v for t, v in items if t == 0x80]
    if len(counts) > 1 or any(len(c) != 1 for c in counts):
        raise tlv.TlvError("bad number of executed commands")
    return (counts[0][0] if counts else len(responses)), responses


def check_profiles(card: Card) -> None:
    """SGP.02 §2.2.1 / §3.18 attributes, read from the store: at most one of each, never both."""
    records = [card.store.get(k) for k in card.store.keys(profile_keys.PROFILES)]
    for what, count in (("Enabled", sum(r.state == 1 for r in records)),
                        ("Fall-Back", sum(r.fallback for r in records)),
                        ("Emergency", sum(r.emergency for r in records))):
        if count > 1:
            raise InvariantViolation(f"{count} profiles {what}")
    if any(r.fallback and r.emergency for r in records):
        raise InvariantViolation("a profile is both Fall-Back and Emergency")


def es5_seeds() -> list[bytes]:
    """Valid ES5 traffic (SGP.02 §4.1.1, built by tools.smsr.es5) against the harness's card:
    CreateISDP, EnableProfile, DisableProfile, DeleteProfile, eUICCCapabilityAudit, SetFallBack-
    Attribute, SetEmergencyProfileAttribute, UpdateSMSRAddressingParameters, HandleNotification-
    Confirmation, one per script and chained, in the expanded (definite and indefinite length)
    and compact formats (TS 102 226 §5.2.1 / §5.1.1)."""
    third = aid_for_tar(bytes.fromhex("000030"))
    audit = [es5.get_data_ecasd_certificate(), es5.get_data_extended_card_resources(), es5.get_status(),
             es5.get_status(FIRST_ISDP)]
    create, enable = [es5.create_isdp(third)], [es5.enable_profile(SECOND_ISDP)]
    scripts = [
        create, [es5.create_isdp(third, nvm_quota=0x1000)], enable, [es5.enable_profile(FIRST_ISDP)],
        [es5.set_fallback_attribute(FIRST_ISDP), es5.enable_profile(SECOND_ISDP),
         es5.disable_profile(SECOND_ISDP)],
        audit, [es5.set_fallback_attribute(SECOND_ISDP)], [es5.set_emergency_profile_attribute(SECOND_ISDP)],
        [es5.update_smsr_addressing("4477001122")], [es5.confirm_notification(1)],
        [es5.enable_profile(SECOND_ISDP), es5.confirm_notification(2), es5.get_status()],
        [es5.finalise_isdr_handover([(0x01, 0x01, 0x03)])],
        [es5.create_isdp(aid_for_tar(bytes.fromhex("000031"))), es5.delete_profile(third)],
        [es5.delete_profile(SECOND_ISDP)],
    ]
    out = [transport.expanded_script(s) for s in scripts]
    out += [transport.expanded_script(s, indefinite=True) for s in scripts[2:8]]
    compact = [create, enable, audit[1:], [es5.confirm_notification(3), es5.get_status()]]
    out += [transport.compact_script([without_le(a) for a in s]) for s in compact]
    return out


def without_le(apdu: bytes) -> bytes:
    """A case-4 C-APDU as a compact script carries it: no Le (TS 102 226 §5.1.1)."""
    return apdu[:5 + apdu[4]] if len(apdu) > 5 else apdu


# -- ES8: data inside an established SCP03t session ------------------------------------------------
ES8_ISDP = aid_for_tar(bytes.fromhex("000040"))
MAX_SEGMENTS = 8
SEGMENT = 1024   # bytes per '86' TLV, the SM-DP's segment size: one SCP80 packet stays within the
                 # card's 16-part SMS reassembly bound (euicc.ota.sms.Reassembler, '6A80' beyond)


class Es8Target:
    """Profile-package data in '86' TLVs of an SCP03t session with an ISD-P (SGP.02 v4.2 §4.1.3.3,
    §5.5 ES8.DownloadAndInstallation), relayed in SCP80 scripts to the ISD-P's TAR.

    Host side: the test SM-SR and SM-DP of tools.smsr / tools.smdp_m2m with a PKI of their own
    (tools.smsr.lifecycle.Pki) that set-up personalises into the card (CI key, ECASD key and
    certificate, the ISD-R key set), then CreateISDP and ES8.EstablishISDPKeySet once per fresh
    card.  Input: a chunk sequence (``card_targets.split_chunks``); per input a new SCP03t session
    (INITIALIZE UPDATE / EXTERNAL AUTHENTICATE TLVs) carries each chunk (at most ``SEGMENT``
    bytes) in one '86' TLV.

    Checked beyond tools.fuzz.invariants: every packet is accepted (PoR '00', verified by the
    SM-SR), each answer is an SCP03t error TLV (the session then ends) or an '86' whose R-MAC
    verifies, and the SGP.02 profile attributes stay consistent (:func:`check_profiles`).
    """

    def __init__(self, fresh_every: int = 64) -> None:
        from tools.smsr.lifecycle import Pki
        self.pki = Pki.create()
        self.driver = CardDriver(fresh_every)
        self.driver._fresh = self._fresh       # type: ignore[method-assign]
        self._fresh()

    def _fresh(self) -> None:
        from euicc.crypto.ecka import Curve, EckaKeyPair
        from euicc.m2m.personalization import personalize
        from euicc.m2m.records import OtaKeySet
        from tools.smsr.gp_certificate import point_of
        from tools.smsr.lifecycle import connect
        from tools.terminal.link import CallableLink
        card = open_card(None, self.driver.config, m2m=M2mRuntime(clock=lambda: FIXED_NOW))
        ecasd = self.pki.ecasd.private_numbers().private_value.to_bytes(32, "big")
        with card.store.transaction():
            personalize(card.store, keysets=(OtaKeySet(KEYSET.kvn, KEYSET.kic, KEYSET.kid, bytes(16)),),
                        ecasd=EckaKeyPair.from_private_value(Curve.NIST_P256, ecasd),
                        ecasd_cert=self.pki.ecasd_cert, ci_curve=Curve.NIST_P256,
                        ci_point=point_of(self.pki.ci.public_key()))
        self.driver.card = card
        self.driver.state = StateWatch(card.store)
        self.world = connect(CallableLink(self.driver.transmit, card.reset), KEYSET, self.pki)
        self.world.smsr.create_isdp(ES8_ISDP)
        self.world.smdp.establish_isdp_keyset(ES8_ISDP, self.pki.ecasd.public_key())
        self.driver.state = StateWatch(card.store)

    def __call__(self, data: bytes) -> None:
        from tools.smdp_m2m.scp03t import ERROR_TAGS, Scp03tError
        from tools.smsr.smsr import OtaFailure
        self.driver.next_input()
        chunks = [c[:SEGMENT] for c in split_chunks(bytes(data))[:MAX_SEGMENTS] if c]
        if not chunks:
            return
        smdp, smsr = self.world.smdp, self.world.smsr
        try:
            session = smdp.open_scp03t(ES8_ISDP)
            for chunk in chunks:
                items = smsr.send_data(ES8_ISDP, [session.wrap(chunk)]).items
                if any(t in ERROR_TAGS for t, _ in items):
                    break
                session.unwrap(items)
        except (OtaFailure, Scp03tError) as exc:
            raise InvariantViolation(f"ES8 input {bytes(data).hex()}: {exc}") from None
        self.driver.logs.check()
        check_profiles(self.driver.card)


def es8_seeds() -> list[bytes]:
    """Profile package segments (SGP.02 §5.5 / SAIP v2.3 §8): the card's packaged test UPP cut
    into profile elements, whole and in 1024-byte segments, and its first elements alone."""
    from importlib import resources

    from euicc import tlv as ber
    upp = resources.files("euicc.profiles").joinpath("data/default_test_profile.der").read_bytes()
    elements, offset = [], 0
    while offset < len(upp):
        _, offset_value = ber.read_tag(upp, offset)
        length, start = ber.read_length(upp, offset_value)
        elements.append(upp[offset:start + length])
        offset = start + length
    segments = [upp[i:i + 1024] for i in range(0, len(upp), 1024)]
    return [join_chunks(segments[:MAX_SEGMENTS]), join_chunks(elements[:1]), join_chunks(elements[:3]),
            join_chunks(elements[:MAX_SEGMENTS])]
