"""Known answers: pySim's TS 102 225 command packets and real-card (sysmoISIM-SJA5) PoRs."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import Accepted, CounterState, PorRequest, Scp80, Spi, parse_command_packet
from tests.vectors import section
from tools.ota.packet import OtaKeyset, build_command_packet, decode_response_packet

h = bytes.fromhex
VECTORS = section("scp80_ts102225_sms")   # one test per vector: a failure names its vector
COMMANDS = pytest.mark.parametrize("vector", VECTORS["commands"], ids=lambda v: v["name"])
RESPONSES = pytest.mark.parametrize("vector", VECTORS["responses"], ids=lambda v: v["name"])


def _host_keyset(ks: dict) -> OtaKeyset:
    kic_byte, kid_byte = int(ks["KIc_byte"], 16), int(ks["KID_byte"], 16)
    return OtaKeyset(kic_byte >> 4, kic_byte & 0xF, h(ks["KIc"]), kid_byte & 0xF, h(ks["KID"]))


@COMMANDS
def test_card_unwraps_command_vector(vector, dict_keys):
    ks = VECTORS["keysets"][vector["keyset"]]
    kvn = int(ks["KIc_byte"], 16) >> 4
    card = Scp80(dict_keys(kvn, h(ks["KIc"]), h(ks["KID"])))
    packet = parse_command_packet(h(vector["command_packet"]))
    result = card.unwrap(packet, CounterState(0))
    assert isinstance(result, Accepted)
    assert result.secured_data == h(vector["apdu"])
    assert result.por.tar == h(vector["TAR"])
    assert result.por.cntr == h(vector["decoded"]["CNTR"])


@COMMANDS
def test_host_builds_command_vector(vector):
    keyset = _host_keyset(VECTORS["keysets"][vector["keyset"]])
    built = build_command_packet(keyset, h(vector["SPI"]), h(vector["TAR"]), h(vector["apdu"]), 0)
    assert built.hex() == vector["command_packet"]


# (keyset, SPI byte 2, expected PoR) -- status 00, additional data from the vector
POR_CASES = [(0, 0x19, 0), (1, 0x19, 1), (1, 0x09, 2), (1, 0x01, 3), (2, 0x19, 4), (2, 0x09, 5), (2, 0x01, 7)]


@pytest.mark.parametrize("keyset_index, spi2, response_index", POR_CASES)
def test_card_por_equals_real_card(dict_keys, keyset_index, spi2, response_index):
    name = list(VECTORS["keysets"])[keyset_index]
    ks = VECTORS["keysets"][name]
    kic_byte, kid_byte = int(ks["KIc_byte"], 16), int(ks["KID_byte"], 16)
    expected = VECTORS["responses"][response_index]
    assert expected["keyset"] == name
    card = Scp80(dict_keys(kic_byte >> 4, h(ks["KIc"]), h(ks["KID"])))
    request = PorRequest(Spi(0x06, spi2), kic_byte, kid_byte, h("b00011"))
    por = card.response_packet(request, 0, h(expected["additional_data"]))
    assert por is not None and por.hex() == expected["response_packet_with_udh"]


@RESPONSES
def test_host_verifies_real_card_por(vector):
    spi2_by_name = {"ciphered + CC": 0x19, "CC only": 0x09, "no CC": 0x01}
    keyset = _host_keyset(VECTORS["keysets"][vector["keyset"]])
    spi2 = next(v for k, v in spi2_by_name.items() if k in vector["name"])
    por = decode_response_packet(keyset, bytes([0x06, spi2]), h(vector["response_packet_with_udh"]))
    assert por.checksum_valid is vector["cc_valid"]
    assert por.status == int(vector["status"], 16)
    assert por.data == h(vector["additional_data"])
    assert por.tar == h("b00011")
