"""TERMINAL PROFILE read bit by bit (TS 102 223 §5.2) and the timer value coding (§8.38): known
answers written from the specification's tables."""
from euicc.cat.terminal_profile import TerminalProfile
from euicc.cat.toolkit import timer_value


def profile(**bytes_by_number: int) -> TerminalProfile:
    """A profile with byte n (from 1) set as given; the others zero."""
    data = bytearray(max(int(k[1:]) for k in bytes_by_number))
    for key, value in bytes_by_number.items():
        data[int(key[1:]) - 1] = value
    return TerminalProfile(bytes(data))


def test_bip_needs_every_class_e_command_and_its_transport():
    bip = profile(b12=0x1F, b13=0xE2, b17=0x01)                # OPEN..GET CHANNEL STATUS; 7 channels; TCP
    assert bip.bip and bip.channels == 7
    assert bip.transport(0x02) and not bip.transport(0x01) and not bip.transport(0x03)
    assert not profile(b12=0x0F, b17=0x07).bip                    # no GET CHANNEL STATUS (b5)
    assert not TerminalProfile(bytes(11)).bip and TerminalProfile(bytes(11)).channels == 0   # short profile


def test_events_need_set_up_event_list():
    assert profile(b5=0x11).event(0x03)                           # b1 SET UP EVENT LIST, b5 location status
    assert not profile(b5=0x10).event(0x03)                       # the event bit alone is not enough
    assert profile(b5=0x01, b6=0x0C).event(0x09) and profile(b5=0x01, b6=0x0C).event(0x0A)
    assert not profile(b5=0x01, b6=0x08).event(0x09) and profile(b5=0x01, b6=0x08).event(0x0A)


def test_commands_timers_and_local_information():
    p = profile(b1=0x20, b3=0x80, b4=0x42, b8=0x01)
    assert p.command(0x01) and p.command(0x13) and p.command(0x26) and p.command(0x27) and p.timers
    assert not profile(b8=0x01).timers                            # no timer expiration (byte 1 b6)
    assert not p.command(0x40) and not p.command(0x99)           # undeclared, unknown


def test_timer_value_is_swapped_bcd():
    assert timer_value(180).hex() == "003000"                      # 00 h 03 min 00 s
    assert timer_value(3661).hex() == "101010"                     # 01 h 01 min 01 s
    assert timer_value(23 * 3600 + 59 * 60 + 59).hex() == "329595"
