"""The card kernel and its extension ports (euicc.extension, euicc.context, euicc.volatile): a card
opened with no extension, with one, a command's origin, typed volatile records and the runtimes
injected when a card is opened.  Expected answers come from the specifications (TS 102 221,
GP Card Spec, SGP.22 §5.7.7) and the host helpers, not from the card's code."""
from __future__ import annotations

import pytest

from applets import catalog
from euicc.applet import Applet
from euicc.card import Card
from euicc.composition import open_card
from euicc.context import Origin
from euicc.m2m.runtime import M2mRuntime
from euicc.nvm import StateFileError
from euicc.rsp.runtime import RspRuntime
from euicc.volatile import Lifetime, Volatile, VolatileState
from tests.core.helpers import ISD_R_AID, Terminal, h, parse_tlv

SELECT_ISD_R = "00A4040010" + ISD_R_AID.hex() + "00"
GET_EUICC_CHALLENGE = "80E2910003BF2E0000"       # SGP.22 §5.7.7, STORE DATA last block (§5.7.2)
PROBE_AID = bytes.fromhex("F0000000000001")


class Probe(Applet):
    """Records the origin of each command it processes (INS 'CA')."""

    AID = PROBE_AID
    INSTALL_BY_DEFAULT = True
    INS = frozenset({0xCA})
    seen: list[Origin] = []

    def process(self, ctx, cmd) -> bytes:
        Probe.seen.append(ctx.origin)
        return b""


def test_a_card_without_extensions_is_a_uicc_with_a_bare_isd_r():
    """No ES10: STORE DATA to the ISD-R is '6A81' (function not supported); the FCI has no 'E0'."""
    card = Card.open(None, applets=catalog(), extensions=[], first_profile="minimal")
    term = Terminal(card)
    assert term.send("00A40004023F00").sw == 0x9000
    fci = term.send(SELECT_ISD_R)
    assert fci.sw == 0x9000
    tags = [t for t, _ in parse_tlv(dict(parse_tlv(fci.data))[0x6F])]
    assert 0x84 in tags and 0xA5 in tags and 0xE0 not in tags
    assert term.send(GET_EUICC_CHALLENGE).sw == 0x6A81
    card.close()


def test_an_sms_pp_download_without_the_m2m_extension_is_refused():
    """No 'D1' handler: ENVELOPE (TS 102 221 §11.2.2) with an unsupported download is '6A80'."""
    card = open_card(None, extensions=["rsp"], first_profile="minimal")
    # 'D1' { '82' device identities: network -> UICC (TS 102 223 §8.7) }
    assert Terminal(card).send("80C2000006D10482028381").sw == 0x6A80
    card.close()


def test_the_origin_is_the_terminal_for_commands_and_ota_for_a_script():
    Probe.seen = []
    card = Card.open(None, applets={"probe": Probe}, extensions=[], first_profile="minimal")
    term = Terminal(card)
    assert term.send("00A4040007" + PROBE_AID.hex()).sw == 0x9000
    assert term.send("00CA000000").sw == 0x9000
    entry = card.services.registry.get(PROBE_AID)
    responses = card.session.execute(card.session.applet(entry), [h("00CA000000")], Origin.OTA_SMS)
    assert responses == [h("9000")]
    assert Probe.seen == [Origin.TERMINAL, Origin.OTA_SMS]
    card.close()


class Once(VolatileState):
    LIFETIME = Lifetime.POWER_CYCLE


class PerChannel(VolatileState):
    LIFETIME = Lifetime.CHANNEL


def test_volatile_records_are_typed_and_live_where_their_lifetime_says():
    cycle = Volatile(Lifetime.POWER_CYCLE)
    record = cycle.put(Once())
    assert cycle.get(Once) is record and cycle.get(PerChannel) is None
    with pytest.raises(TypeError):
        cycle.put(PerChannel())
    assert cycle.pop(Once) is record and cycle.get(Once) is None


def test_a_reset_forgets_the_power_cycle_records():
    card = open_card(None, first_profile="minimal")
    card.session.volatile.put(Once())
    card.reset()
    assert card.session.volatile.get(Once) is None
    card.close()


def test_the_rsp_runtime_given_at_opening_makes_the_euicc_challenge():
    """GetEUICCChallenge (SGP.22 §5.7.7): BF2E { 80 euiccChallenge (16 bytes) }."""
    card = open_card(None, first_profile="minimal", rsp=RspRuntime(random=lambda n: bytes(range(n))))
    term = Terminal(card)
    term.send(SELECT_ISD_R)
    answer = term.send(GET_EUICC_CHALLENGE)
    assert answer.sw == 0x9000 and answer.data == h("BF2E12 8010") + bytes(range(16))
    card.close()


def test_a_runtime_for_an_extension_the_card_does_not_have_is_an_error():
    with pytest.raises(ValueError, match="m2m"):
        open_card(None, extensions=["rsp"], m2m=M2mRuntime())


def test_a_state_file_with_records_of_a_missing_extension_is_refused(tmp_path):
    path = tmp_path / "card.state"
    open_card(path, extensions=["rsp", "m2m"], first_profile="minimal").close()
    before = path.read_bytes()
    with pytest.raises(StateFileError) as refused:
        open_card(path, extensions=["rsp"])
    assert str(refused.value).startswith(f"{path}: holds records this card does not know ('m2m/")
    assert "\n" not in str(refused.value)
    assert path.read_bytes() == before
    card = open_card(path, extensions=["m2m", "rsp"])   # the order does not matter
    card.close()
