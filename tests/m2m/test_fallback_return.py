"""Return from Fall-Back (SGP.02 v4.2, SPEC_NOTES §2.7): after the Fall-Back mechanism (§3.18) the
eUICC goes back to the profile it disabled once ``fallback_return_after`` has passed (the next
EVENT DOWNLOAD is the terminal's signal), notified as a profile change ('02') that the SM-SR must
confirm within the validity period or it is rolled back; an ES5 EnableProfile / DisableProfile by
the SM-SR ends the Fall-Back state.  Expectations from the spec text, checked through APDUs."""
from __future__ import annotations

from dataclasses import replace

import pytest

from euicc.m2m.settings import M2mSettings
from tests.m2m import host
from tests.m2m.conftest import add_profile
from tests.m2m.test_notifications import NO_SERVICE, NORMAL, confirm, notifications

AFTER = M2mSettings().fallback_return_after


def enabled(card) -> bytes:
    return card.services.profiles.enabled().isdp_aid


def es5(aid: bytes, dgi: int) -> bytes:
    return host.store_data(host.dgi(dgi, host.ber(0x4F, aid)))


def user_activity(terminal) -> int:
    """EVENT DOWNLOAD - User activity (TS 102 223 §7.5.5): event '04', no other data."""
    env = host.ber(0xD6, host.ber(0x99, b"\x04") + host.ber(0x82, b"\x82\x81"))
    return terminal.send(bytes([0x80, 0xC2, 0, 0, len(env)]) + env)[1]


@pytest.fixture
def fell_back(card, terminal, first_isdp):
    """The first profile lost its network: the Fall-Back profile ('...0020') is enabled."""
    card.store.put("m2m/declared", True)
    fallback = add_profile(card, 0x20, "8988100000000000011", fallback=True)
    terminal.location_status(NO_SERVICE)
    assert enabled(card) == fallback
    terminal.take(0x01)
    return fallback


def test_default_return_time_is_an_hour():
    assert AFTER == 3600.0


def confirm_all(smsr, terminal) -> list[bytes]:
    """Attach (the notifications go out), confirm each; their types."""
    terminal.location_status(NORMAL)
    sent = notifications(terminal)
    for note in sent:
        assert confirm(smsr, int.from_bytes(note[0x4E], "big"))[1] == 0x9000
    return [n[0x4D] for n in sent]


def test_returns_after_the_configured_time(smsr, card, terminal, clock, first_isdp, fell_back):
    assert confirm_all(smsr, terminal) == [b"\x05"]
    clock.now += AFTER - 1
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back and notifications(terminal) == []
    clock.now += 1
    assert terminal.location_status(NORMAL) == 0x9000
    assert enabled(card) == first_isdp
    assert terminal.take(0x01)                                  # REFRESH for the switch
    (note,) = notifications(terminal)
    assert note[0x4D] == b"\x02" and note[0x2F] == first_isdp
    assert confirm(smsr, int.from_bytes(note[0x4E], "big"))[1] == 0x9000
    clock.now += 10 * AFTER
    terminal.location_status(NORMAL)
    assert enabled(card) == first_isdp and notifications(terminal) == []


def test_an_unregistered_event_is_ignored(card, terminal, clock, first_isdp, fell_back):
    """TS 102 223 §7.5: the card asked for location status only; user activity is acknowledged
    and changes nothing, even when the return is due."""
    assert terminal.events == b"\x03"
    clock.now += AFTER
    assert user_activity(terminal) == 0x9000
    assert enabled(card) == fell_back
    assert not terminal.take(0x01)


def test_the_terminal_timer_is_the_signal(card, terminal, clock, first_isdp, fell_back):
    """TIMER MANAGEMENT (TS 102 223 §6.4.21) armed for the return; its expiration ('D7', §7.4)
    brings the profile back without any event."""
    armed = terminal.timers()
    assert armed and armed[-1][1] == AFTER                      # timer value 01:00:00
    clock.now += AFTER
    assert terminal.timer_expiration(armed[-1][0]) == 0x9000
    assert enabled(card) == first_isdp
    assert terminal.take(0x01)                                  # REFRESH for the switch


def test_unconfirmed_return_is_rolled_back_and_tried_again(card, terminal, clock, first_isdp, fell_back):
    clock.now += AFTER
    terminal.location_status(NORMAL)
    assert enabled(card) == first_isdp
    clock.now += M2mSettings().validity_period + 1              # no confirmation from the SM-SR
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back
    assert (b"\x03", fell_back) in [(n[0x4D], n.get(0x2F)) for n in notifications(terminal)]
    clock.now += AFTER - M2mSettings().validity_period - 2      # counted from the failed try
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back
    clock.now += 2
    terminal.location_status(NORMAL)
    assert enabled(card) == first_isdp


def test_no_service_after_the_return_falls_back_again(card, terminal, clock, first_isdp, fell_back):
    clock.now += AFTER
    terminal.location_status(NORMAL)
    assert enabled(card) == first_isdp
    terminal.location_status(NO_SERVICE)
    assert enabled(card) == fell_back


def test_smsr_enable_ends_the_fallback_state(smsr, card, terminal, clock, first_isdp, fell_back):
    third = add_profile(card, 0x30, "8988100000000000029")
    assert smsr.one(es5(third, 0x3A03))[1] == 0x9000            # EnableProfile
    assert smsr.one(es5(third, 0x3A04))[1] == 0x9000            # DisableProfile -> Fall-Back profile
    assert enabled(card) == fell_back
    assert confirm_all(smsr, terminal) == [b"\x05", b"\x02", b"\x02"]
    clock.now += 10 * AFTER
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back                           # no return to the first profile


def test_smsr_may_enable_the_disabled_profile_itself(smsr, card, terminal, clock, first_isdp, fell_back):
    assert smsr.one(es5(first_isdp, 0x3A03))[1] == 0x9000
    assert enabled(card) == first_isdp
    terminal.location_status(NO_SERVICE)                        # the mechanism still works afterwards
    assert enabled(card) == fell_back


def test_no_return_to_a_deleted_profile(smsr, card, terminal, clock, first_isdp, fell_back):
    assert smsr.one(bytes([0x80, 0xE4, 0x00, 0x40, 18]) + host.ber(0x4F, first_isdp) + b"\x00")[1] == 0x9000
    clock.now += AFTER
    assert terminal.location_status(NORMAL) == 0x9000
    assert enabled(card) == fell_back


def test_moving_the_fallback_attribute_cancels_the_return(smsr, card, terminal, clock, first_isdp, fell_back):
    assert smsr.one(es5(first_isdp, 0x3A05))[1] == 0x9000       # SetFallBackAttribute elsewhere
    clock.now += AFTER
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back


@pytest.mark.parametrize("settings", [replace(M2mSettings(), fallback_return_after=None)])
def test_return_only_by_the_smsr_when_disabled(card, terminal, clock, first_isdp, fell_back):
    clock.now += 100 * 3600
    terminal.location_status(NORMAL)
    assert enabled(card) == fell_back
