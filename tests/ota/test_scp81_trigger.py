"""GP Amd B §3.8 (Table 3-3) administration session triggering parameters, with pySim's
published encodings of the security and HTTP POST parameters (osmocom/pysim
pySim/global_platform/http.py ``_test_de_encode``: '85 08 04 DEADBEEF 02 00 40' = PSK identity
DEADBEEF, KVN '00', key ID '40'; '8A 0A' "admin.host"; '8C 16' "https://admin.host/uri")."""
from __future__ import annotations

import pytest

from euicc.ota.errors import OtaFormatError
from euicc.ota.scp81.settings import Scp81Settings
from euicc.ota.scp81.trigger import parse_trigger, timer_seconds

S = Scp81Settings()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def test_minimal_trigger_uses_the_defaults():
    request = parse_trigger(b"", S)
    assert request.channel.transport == "tcp" and request.channel.port == S.port
    assert (request.http.host, request.http.uri, request.http.agent_id) == (S.admin_host, S.admin_uri, None)
    assert request.security.psk_identity is None and request.retry.counter == S.retry_counter


def test_pysim_vectors():
    session = (h("85 08 04 DEADBEEF 02 00 40")
               + h("89 24") + h("8A 0A 61646D696E2E686F7374") + h("8C 16 68747470733A2F2F61646D696E2E686F73742F757269")
               + h("86 07 0003 25 03 000130"))
    request = parse_trigger(h("83") + bytes([len(session)]) + session, S)
    assert request.security.psk_identity == h("DEADBEEF")
    assert (request.security.kvn, request.security.key_id) == (0x00, 0x40)
    assert (request.http.host, request.http.uri) == ("admin.host", "https://admin.host/uri")
    assert (request.retry.counter, request.retry.delay) == (3, 10 * 60 + 3)


def test_connection_parameters_are_open_channel_tlvs():
    connection = h("35 01 03 39 02 0578 3C 03 02 1F90 3E 05 21 7F000001 47 04 03 61 70 6E")
    request = parse_trigger(h("83") + bytes([len(connection) + 2]) + h("84") + bytes([len(connection)]) + connection, S)
    channel = request.channel
    assert (channel.port, channel.address, channel.buffer_size, channel.bearer) == (8080, h("7F000001"), 1400, h("03"))
    assert channel.network_access_name == h("03 61 70 6E")


@pytest.mark.parametrize("bad", [
    "83 05 84 03 3C 03 01",                     # truncated transport level
    "83 07 84 05 3C 03 01 1F90",                # UDP: an administration session needs TCP
    "83 06 84 04 3E 02 21 7F",                  # IPv4 address of one byte
    "83 05 85 03 04 DEAD",                      # PSK identity longer than the parameters
    "83 06 86 04 0001 25 01",                   # retry policy without a 3-byte timer
    "83 05 89 03 8A 01 00",                     # unprintable host
    "83 7F",                                    # length beyond the data
])
def test_malformed_triggers_raise(bad):
    with pytest.raises(OtaFormatError):
        parse_trigger(h(bad), S)


def test_timer_value_is_swapped_bcd():
    assert timer_seconds(h("10 20 30")) == 1 * 3600 + 2 * 60 + 3      # TS 102 223 §8.38
    with pytest.raises(OtaFormatError):
        timer_seconds(h("0A 00 00"))
