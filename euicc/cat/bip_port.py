"""The port between the card's BIP channels (TS 102 223 §6.4.27–6.4.31) and the protocols over them
(how such a protocol reaches the card: :mod:`euicc.ota.card_access`)."""
from __future__ import annotations
from dataclasses import dataclass
from typing import Literal, Protocol

Transport = Literal["tcp", "udp", "tcp_server"]   # TS 102 223 §8.59 transport protocol type 02/01/03

@dataclass(frozen=True)
class ChannelRequest:
    """What an engine asks the BIP layer to open (OPEN CHANNEL, TS 102 223 §6.4.27)."""
    transport: Transport
    address: bytes          # IPv4 (4 bytes) or IPv6 (16 bytes) destination; b"" for tcp_server
    port: int
    buffer_size: int = 1400
    bearer: bytes = b"\x03"  # bearer description value (§8.52), default "default bearer"
    network_access_name: bytes | None = None   # §8.70, from the connectivity parameters
    dns_request: bool = False   # ask the terminal for its DNS server addresses (§6.4.27, qualifier b4)

class ChannelUser(Protocol):
    """A sans-I/O protocol engine on one BIP channel."""
    def connected(self) -> None: ...            # the channel is open (TERMINAL RESPONSE success)
    def received(self, data: bytes) -> None: ... # bytes from RECEIVE DATA
    def outgoing(self) -> bytes: ...             # bytes the engine wants sent now (drained; b"" if none)
    def closed(self, reason: str) -> None: ...   # channel closed/failed (terminal, link dropped, refused)
    @property
    def finished(self) -> bool: ...              # the engine is done: the BIP layer sends CLOSE CHANNEL
