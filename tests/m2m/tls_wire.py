"""Test helper: what the card sent on each BIP channel, seen from the terminal's side (the SEND
DATA commands it FETCHed, TS 102 223 §6.4.30), read as TLS records by their RFC 5246 §6.2.1
headers (content type, version, length) — written for the tests, independently of the card."""
from __future__ import annotations

from tools.terminal import cat

ALERT = 21                  # RFC 5246 §6.2.1 ContentType alert
APPLICATION_DATA = 23       # RFC 5246 §6.2.1 ContentType application_data
HEADER = 5


def closed_channel_streams(commands: list[cat.ProactiveCommand]) -> list[bytes]:
    """The bytes the card sent on each channel it closed (CLOSE CHANNEL), in closing order."""
    open_streams: dict[int, bytearray] = {}
    closed: list[bytes] = []
    for command in commands:
        if command.type == cat.SEND_DATA:
            open_streams.setdefault(command.destination, bytearray()).extend(
                command.objects.get(cat.T_CHANNEL_DATA, b""))
        elif command.type == cat.CLOSE_CHANNEL:
            closed.append(bytes(open_streams.pop(command.destination, b"")))
    return closed


def record_types(stream: bytes) -> list[int]:
    """The content type of each TLS record of ``stream``; a stream that is not whole records fails."""
    types = []
    while stream:
        assert len(stream) >= HEADER and stream[1:3] == b"\x03\x03", stream[:HEADER].hex()
        length = int.from_bytes(stream[3:5], "big")
        assert len(stream) >= HEADER + length, "a TLS record cut short"
        types.append(stream[0])
        stream = stream[HEADER + length:]
    return types
