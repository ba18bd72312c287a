"""The CAT engine through Card.transmit: TS 102 221 §7.4.2, §11.2; TS 102 223 §6.4.7, §6.6."""
from euicc.card import Card
from euicc.composition import open_card
from euicc.cat.proactive import ProactiveCommand, refresh

TERMINAL_PROFILE = bytes.fromhex("8010000003FFFFFF")
STATUS = bytes.fromhex("80F2000C00")


def tx(card: Card, hexstr: str) -> str:
    return card.transmit(bytes.fromhex(hexstr.replace(" ", ""))).hex().upper()


def test_no_proactive_command_before_terminal_profile():
    card = open_card(None)
    assert not card.session.cat.submit(refresh())
    assert tx(card, "80F2000C00") == "9000"


def test_refresh_is_announced_fetched_and_answered():
    card = open_card(None)
    assert tx(card, "8010000003FFFFFF") == "9000"
    results = []
    cmd = ProactiveCommand(0x01, 0x09, on_result=lambda result, whole: results.append(result))
    assert card.session.cat.submit(cmd)
    # D0 09 | 81 03 <number=01> <REFRESH=01> <eUICC profile state change=09> | 82 02 81 82
    expected = "D009810301010982028182"
    assert tx(card, "80F2000C00") == "910B"          # 9000 becomes 91XX, XX = length
    assert tx(card, "8012000000") == "6C0B"          # T=0: wrong Le on a case-2 command
    assert tx(card, "801200000B") == expected + "9000"
    assert tx(card, "801200000B") == expected + "9000"   # not yet answered: same command again
    # TERMINAL RESPONSE with other command details is refused
    assert tx(card, "801400000C 810301020982028281830100") == "6A80"
    assert tx(card, "801400000C 810301010982028281830100") == "9000"
    assert results == [b"\x00"]
    assert tx(card, "80F2000C00") == "9000"
    assert tx(card, "8012000000") == "6985"          # nothing to fetch
    assert tx(card, "801400000C 810301010982028281830100") == "6985"


def test_reset_forgets_proactive_state():
    card = open_card(None)
    tx(card, "8010000003FFFFFF")
    card.session.cat.submit(refresh())
    card.reset()
    assert tx(card, "80F2000C00") == "9000"


def test_envelope_routing():
    card = open_card(None)
    assert tx(card, "80C2000003D60100") == "9000"    # unrequested event: acknowledged
    assert tx(card, "80C2000003D10100") == "6A80"    # no SMS-PP handler registered
    assert tx(card, "80C2000002D105") == "6A80"      # malformed BER-TLV
    assert tx(card, "00C2000003D60100") == "6E00"    # interindustry class
    seen = []
    card.services.envelope_handlers[0xD1] = lambda ctx, tag, value: seen.append(value) or b"\xAB"
    assert tx(card, "80C2000004D1028100") == "6101"
    assert tx(card, "80C0000001") == "AB9000"
    assert seen == [bytes.fromhex("8100")]


def test_refresh_stays_behind_commands_queued_after_it():
    """TS 102 223 §6.4.7: a REFRESH resets the session; an SMS queued later must go first."""
    card = open_card(None)
    tx(card, "8010000004FFFFFFBF")   # byte 4: SEND SHORT MESSAGE (b2), no PROVIDE LOCAL INFO (b7)
    cat = card.session.cat
    assert cat.submit(refresh())
    assert cat.submit(ProactiveCommand(0x13, 0x00, 0x83, b""))       # SEND SHORT MESSAGE
    assert tx(card, "801200000B").startswith("D009810301130082028183")
    assert tx(card, "801400000C 810301130082028281830100") == "910B"
    assert tx(card, "801200000B").startswith("D009810302010982028182")


def test_held_refresh_waits_for_the_release():
    """A REFRESH submitted while held is accepted but not announced ('9000'); the release queues it
    behind what was queued meanwhile.  Holds nest: only the last release lets it go."""
    card = open_card(None)
    tx(card, "8010000004FFFFFFBF")
    cat = card.session.cat
    cat.hold_refresh()
    cat.hold_refresh()
    assert cat.submit(refresh()) and cat.refresh_pending
    assert tx(card, "80F2000C00") == "9000"                          # nothing to fetch yet
    assert cat.submit(ProactiveCommand(0x13, 0x00, 0x83, b""))       # SEND SHORT MESSAGE
    cat.release_refresh()
    assert tx(card, "801200000B").startswith("D009810301130082028183")
    assert tx(card, "801400000C 810301130082028281830100") == "9000"  # still held by the other hold
    cat.release_refresh()
    assert tx(card, "80F2000C00") == "910B"
    assert tx(card, "801200000B") == "D009810302010982028182" + "9000"


def test_reset_forgets_held_refresh():
    card = open_card(None)
    tx(card, "8010000003FFFFFF")
    card.session.cat.hold_refresh()
    card.session.cat.submit(refresh())
    card.reset()
    tx(card, "8010000003FFFFFF")
    assert not card.session.cat.refresh_pending
    assert card.session.cat.submit(refresh()) and tx(card, "80F2000C00") == "910B"
