"""TS 102 226 §5 remote APDU formats: host scripts -> card parser; card responses -> host decoder."""
from __future__ import annotations

import pytest

from euicc.ota.errors import OtaFormatError
from euicc.ota.remote_apdu import (BadFormat, compact_response, expanded_response, is_expanded, parse_compact,
                                   parse_expanded, stops_script)
from tools.ota.transport import (compact_script, decode_compact_response, decode_expanded_response,
                                 expanded_script)

h = bytes.fromhex
SELECT_MF = h("00A40004023F00")
READ_BINARY = h("00B0000010")
STORE_DATA = h("80E28800") + h("0A") + bytes(10)  # case 3
GET_STATUS = h("80F24002024F00")  # GP GET STATUS: INS F2 but incoming


def test_compact_script():
    script = compact_script([SELECT_MF, READ_BINARY, GET_STATUS, h("0070000000")])
    assert parse_compact(script) == [SELECT_MF, READ_BINARY, GET_STATUS, h("00700000")]
    assert parse_compact(h("80F2000C00")) == [h("80F2000C00")]  # TS 102 221 STATUS is outgoing


@pytest.mark.parametrize("script", [b"", h("00A4"), h("00A4000402 3F")])
def test_compact_malformed(script):
    with pytest.raises(OtaFormatError):
        parse_compact(script)


def test_compact_bounded():
    with pytest.raises(OtaFormatError):
        parse_compact(READ_BINARY * 3, max_commands=2)


def test_compact_response():
    # TS 102 226 §5.1.2; same layout as the real-card PoR data '01 61 32' (count 1, SW 6132)
    assert compact_response(1, h("6132")) == h("016132")
    result = decode_compact_response(compact_response(2, h("AABB9000")))
    assert result.executed == 2 and result.responses == [h("AABB9000")]
    with pytest.raises(ValueError):
        compact_response(1, b"\x90")


@pytest.mark.parametrize("indefinite", [False, True])
def test_expanded_script(indefinite):
    long_command = h("80E29100") + bytes([200]) + bytes(200)  # needs '81 CC' length coding
    script = expanded_script([SELECT_MF, long_command], indefinite)
    assert is_expanded(script)
    parsed = parse_expanded(script)
    assert parsed.commands == [SELECT_MF, long_command]
    assert parsed.indefinite is indefinite and parsed.bad_format is None


def test_expanded_with_actions_and_extra_tags():
    script = h("AA10" "810101" "820100" "220400700000" "8400" "8300")
    parsed = parse_expanded(script, extra_tags=frozenset({0x84}))
    assert [item.tag for item in parsed.items] == [0x81, 0x82, 0x22, 0x84, 0x83]
    assert parsed.commands == [h("00700000")]


@pytest.mark.parametrize("script, commands, error", [
    (h("AA08" "220400700000" "9900"), 1, BadFormat.UNKNOWN_TAG),
    (h("AA07" "220400700000" "22"), 1, BadFormat.LENGTH_NOT_FOUND),
    (h("AA082204007000002205"), 1, BadFormat.WRONG_LENGTH),
    (h("AA05220400700000"), 0, BadFormat.WRONG_LENGTH),  # outer length too short
    (h("AA"), 0, BadFormat.LENGTH_NOT_FOUND),
    (h("AE802204007000002203"), 1, BadFormat.WRONG_LENGTH),
    (h("AE80220400700000"), 1, BadFormat.LENGTH_NOT_FOUND),  # no end-of-contents
    (h("AE802204007000000000FF"), 1, BadFormat.WRONG_LENGTH),  # bytes after end-of-contents
    (h("AE05"), 0, BadFormat.WRONG_LENGTH),
])
def test_expanded_bad_format(script, commands, error):
    parsed = parse_expanded(script)
    assert len(parsed.commands) == commands and parsed.bad_format == error


def test_expanded_not_a_script_and_bounds():
    with pytest.raises(OtaFormatError):
        parse_expanded(h("220400700000"))
    with pytest.raises(OtaFormatError):
        parse_expanded(expanded_script([h("00700000")] * 3), max_commands=2)


def test_expanded_response_round_trip():
    definite = expanded_response([h("9000"), h("AABB6A82")])
    assert definite == h("AB0D" "800102" "23029000" "2304AABB6A82")
    decoded = decode_expanded_response(definite)
    assert decoded.executed == 2 and decoded.responses == [h("9000"), h("AABB6A82")]
    indefinite = expanded_response([h("9000")], indefinite=True, bad_format=BadFormat.UNKNOWN_TAG)
    assert indefinite == h("AF80" "23029000" "900101" "0000")
    decoded = decode_expanded_response(indefinite)
    assert decoded.executed == 1 and decoded.bad_format == 1


def test_long_expanded_response_uses_long_length():
    response = expanded_response([bytes(200) + h("9000")])
    assert response[:3] == h("AB81D0") and decode_expanded_response(response).responses[0][-2:] == h("9000")


@pytest.mark.parametrize("sw, stops", [(0x9000, False), (0x9110, False), (0x6110, False), (0x6283, False),
                                       (0x63C2, False), (0x62F1, True), (0x6A82, True), (0x6982, True),
                                       (0x9001, True)])
def test_stops_script(sw, stops):
    assert stops_script(sw) is stops


def test_expanded_response_over_255_bytes_on_the_host():
    """'AB 82 LL LL' and '23 82 LL LL' (BER definite lengths, TS 102 226 §5.2.2), written out by hand."""
    rapdu = bytes(range(256)) * 2 + h("9000")                       # 514 bytes
    item = h("23820202") + rapdu
    script = h("AB820209") + h("800101") + item                      # 3 + 518 = 521 = 0x209
    decoded = decode_expanded_response(script)
    assert decoded.executed == 1 and decoded.responses == [rapdu]


def test_expanded_script_over_255_bytes_on_the_host():
    apdu = h("80E29100FF") + bytes(255)                              # 260 bytes
    assert expanded_script([apdu]) == h("AA820108") + h("22820104") + apdu   # 4 + 260 = 264 = 0x108
