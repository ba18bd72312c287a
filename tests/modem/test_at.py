"""The AT interpreter without a pty: V.250 line syntax and framing, and the modem quirks, on an
in-process card.  Expected texts are typed from V.250 §5.3-5.7 and 27.007 §8.17/§8.45/§9.2."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from tools.modem.at import AtError, AtInterpreter, parse_extended, split_args
from tools.modem.commands import Quirks, make_modem
from tools.modem.sim import SimAccess
from tools.terminal.link import CallableLink

ISD_R = "A0000005591010FFFFFFFF8900000100"


def test_split_args_keeps_commas_in_strings_and_marks_omitted_values():
    assert split_args('176,12258,,0,"a,b",') == ("176", "12258", None, "0", "a,b", None)
    assert split_args('"" , 7') == ("", "7")
    for bad in ('"open', 'x"y"', '"a"b'):
        with pytest.raises(AtError):
            split_args(bad)


@pytest.mark.parametrize("text,form,args", [
    ("+CIMI", "action", ()), ("+cpin?", "read", ()), ("+CSIM=?", "test", ()), ("+CMEE=2", "set", ("2",)),
])
def test_extended_command_forms(text, form, args):
    command = parse_extended(text)
    assert (command.name, command.form, command.args) == (text.split("=")[0].rstrip("?").upper(), form, args)


def interpreter() -> AtInterpreter:
    return AtInterpreter({"+TEST": lambda command: [f"+TEST: {command.form}"]})


def test_line_assembly_echo_backspace_and_framing():
    at = interpreter()
    assert at.feed(b"AT+TEST?") == b"AT+TEST?"          # echo, nothing run before CR
    assert at.feed(b"\r") == b"\r\r\n+TEST: read\r\n\r\nOK\r\n"
    at.feed(b"ATE0\r")
    assert at.feed(b"\nAT+TESX\x08T\r") == b"\r\n+TEST: action\r\n\r\nOK\r\n"   # LF ignored, backspace
    assert at.feed(b"hello\r") == b""                   # no AT: not a command line
    assert at.feed(b"at\r") == b"\r\nOK\r\n"
    assert at.feed(b"AT+NOPE\r") == b"\r\nERROR\r\n"
    assert at.feed(b"AT" + b"E" * 5000 + b"\r") == b""  # over-long line: discarded whole


def test_identification():
    at = interpreter()
    at.feed(b"ATE0\r")
    assert at.feed(b"ATI\r").startswith(b"\r\neuicc-emu\r\n") and at.feed(b"AT+CGMI\r") == b"\r\neuicc-emu\r\n\r\nOK\r\n"


@pytest.fixture(scope="module")
def card():
    card = open_card(None, CardConfig(), first_profile="minimal")
    yield card
    card.close()


def modem(card: Card, **quirks) -> AtInterpreter:
    at = make_modem(SimAccess(CallableLink(card.transmit, card.reset)), Quirks(**quirks))
    at.feed(b"ATE0\r")
    at.feed(b"AT+CMEE=1\r")
    return at


def lines(at: AtInterpreter, command: str) -> list[str]:
    return [line for line in at.feed(command.encode() + b"\r").decode().split("\r\n") if line]


def test_default_is_27007_hex_characters_upper_case(card):
    at = modem(card)
    assert lines(at, 'AT+CSIM=14,"00A4000C023F00"') == ['+CSIM: 4,"9000"', "OK"]
    fcp = lines(at, "AT+CRSM=192,12258")[0]
    assert fcp.startswith('+CRSM: 144,0,"62') and fcp == fcp.upper()


def test_quirk_lower_hex_and_length_in_bytes(card):
    at = modem(card, lower_hex=True, length_in_bytes=True)
    assert lines(at, 'AT+CSIM=7,"00A4000C023F00"') == ['+CSIM: 2,"9000"', "OK"]
    assert lines(at, 'AT+CSIM=14,"00A4000C023F00"') == ["+CME ERROR: 50"]
    fcp = lines(at, "AT+CRSM=192,12258")[0]
    assert fcp.startswith('+CRSM: 144,0,"62') and fcp == fcp.lower().replace("+crsm", "+CRSM")


def test_quirk_max_apdu(card):
    at = modem(card, max_apdu=7)
    assert lines(at, 'AT+CSIM=14,"00A4000C023F00"')[-1] == "OK"
    assert lines(at, 'AT+CSIM=16,"00A4000C023F0000"') == ["+CME ERROR: 50"]


def test_quirk_fetch_response_does_get_response(card):
    plain, fetching = modem(card), modem(card, fetch_response=True)
    assert lines(plain, 'AT+CSIM=14,"00A40004022FE2"')[0].startswith('+CSIM: 4,"61')
    line = lines(fetching, 'AT+CSIM=14,"00A40004022FE2"')[0]
    assert line.startswith("+CSIM: ") and line.endswith('9000"') and '"62' in line


def test_quirk_ccho_prefix_and_no_logical_channels(card):
    at = modem(card, ccho_prefix=True)
    (session, ok) = lines(at, f'AT+CCHO="{ISD_R}"')
    assert session.startswith("+CCHO: ") and ok == "OK"
    assert lines(at, f"AT+CCHC={session.split()[1]}") == ["OK"]
    without = modem(card, logical_channels=False)
    assert lines(without, f'AT+CCHO="{ISD_R}"') == ["ERROR"]
    assert lines(without, 'AT+CGLA=1,10,"80CA005A00"') == ["ERROR"]


@pytest.mark.parametrize("command", ['AT+CSIM=4,"zz00"', "AT+CSIM=2", 'AT+CRSM=176,99999,0,0,1', "AT+CFUN=9",
                                     'AT+CCHO=""', 'AT+CCHO="' + "00" * 17 + '"', "AT+CPIN=12"])
def test_bad_parameters_are_cme_50_or_error(card, command):
    assert lines(modem(card), command)[-1] in ("+CME ERROR: 50", "ERROR")


def test_crsm_empty_strings_are_omitted_values_and_atz_restores_defaults(card):
    at = modem(card)
    assert lines(at, 'AT+CRSM=176,12258,0,0,10,"",""')[0].startswith('+CRSM: 144,0,"98')
    assert lines(at, 'AT+CRSM=176,12258,0,0,10,,"3F00"')[0].startswith('+CRSM: 144,0,"98')
    at.feed(b"ATZ\r")
    assert at.feed(b"AT+CCHC=99\r") == b"AT+CCHC=99\r\r\nERROR\r\n"   # echo on, +CMEE=0 again


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=80))
def test_any_bytes_get_a_result_code_never_a_traceback(card, data):
    at = modem(card)
    out = at.feed(b"AT" + data.replace(b"\r", b"").replace(b"\x08", b"") + b"\r")
    assert out.endswith((b"OK\r\n", b"ERROR\r\n")) or b"+CME ERROR: " in out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["+CSIM", "+CRSM", "+CGLA", "+CCHO", "+CCHC", "+CPIN", "+CFUN", "+CMEE", "+CIMI", "+CCID"]),
       st.text(alphabet='0123456789ABCDEFabcdef,"xyz -?=', max_size=40))
def test_sim_commands_with_any_arguments_never_raise(card, name, rest):
    at = modem(card)
    out = at.feed(f"AT{name}{rest}\r".encode())
    assert out.endswith((b"OK\r\n", b"ERROR\r\n")) or b"+CME ERROR: " in out
    at.feed(b"AT+CFUN=1\r")
