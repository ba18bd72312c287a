"""The administration session trigger an SM-SR pushes to the ISD-R (GP Amd B §3.8, Table 3-3):
'81' { '83' { '84' connection parameters, '85' security parameters, '86' retry policy,
'89' HTTP POST parameters } }, sent as the whole secured data of an SCP80 Command Packet to the
ISD-R TAR '000001' (SPEC_NOTES §3.2; NJIWA-B RamHttp), and SGP.02's PSK identity.
"""
from __future__ import annotations

import ipaddress

from tools.ber_tlv import encode as ber


def bcd_timer(seconds: int) -> bytes:
    """TS 102 223 §8.38 timer value: hh mm ss, each semi-octet swapped."""
    out = b""
    for part in (seconds // 3600, seconds // 60 % 60, seconds % 60):
        out += bytes([(part % 10) << 4 | part // 10])
    return out


def _address(address: str) -> bytes:
    """TS 102 223 §8.58 other address: '21' IPv4 / '57' IPv6, then the packed address."""
    ip = ipaddress.ip_address(address)
    return (b"\x21" if ip.version == 4 else b"\x57") + ip.packed


def trigger(host: str, port: int, uri: str, *, address: str | None = "127.0.0.1", psk_identity: bytes = b"",
            kvn: int = 0x40, key_id: int = 0x01, retries: int = 0, delay: int = 0, agent_id: str | None = None,
            include_security: bool = True, dns_name: str | None = None, dns_servers: tuple[str, ...] = (),
            dns_port: int | None = None, failure_report: bytes = b"") -> bytes:
    """The '81' administration session triggering parameters for a session to ``address``:``port``;
    ``address`` None: the card resolves the SM-SR's name ``dns_name``, going into 'B3' {'D6' FQDN,
    'FA' {'3E' server ..., '3C' '01' UDP port}} (the emulator's reading, [U]); without servers the
    card asks those the terminal gives (on ``dns_port``, else 53).  ``failure_report``: the retry
    policy's report failure data (GP Amd B §3.8.3; NJIWA codes it as a '87' TLV)."""
    connection = (ber(0x35, b"\x03") + ber(0x39, (1400).to_bytes(2, "big"))
                  + ber(0x3C, b"\x02" + port.to_bytes(2, "big")))
    if address is not None:
        connection += ber(0x3E, _address(address))
    session = ber(0x84, connection)
    if include_security:
        session += ber(0x85, bytes([len(psk_identity)]) + psk_identity + bytes([0x02, kvn, key_id]))
    session += ber(0x86, retries.to_bytes(2, "big") + ber(0x25, bcd_timer(delay)) + failure_report)
    post = ber(0x8A, host.encode()) + ber(0x8C, uri.encode())
    if agent_id:
        post += ber(0x8B, agent_id.encode())
    session += ber(0x89, post)
    resolution = b""
    if dns_name is not None:
        channel = b"".join(ber(0x3E, _address(server)) for server in dns_servers)
        if dns_port is not None:
            channel += ber(0x3C, b"\x01" + dns_port.to_bytes(2, "big"))
        resolution = ber(0xB3, ber(0xD6, dns_name.encode()) + (ber(0xFA, channel) if channel else b""))
    return ber(0x81, ber(0x83, session) + resolution)


def sgp02_psk_identity(eid: bytes, isdr_aid: bytes, kvn: int, key_id: int) -> bytes:
    """SGP.02 §2.4.4 PSK identity (NJIWA-B makePskId): hex of 80 01 02 | 81 EID | 4F ISD-R AID |
    82 key ID | 83 KVN, upper case."""
    tlvs = (ber(0x80, b"\x02") + ber(0x81, eid) + ber(0x4F, isdr_aid) + ber(0x82, bytes([key_id]))
            + ber(0x83, bytes([kvn])))
    return tlvs.hex().upper().encode()
