"""Test adapter: carries the bytes of a sans-I/O :class:`euicc.cat.bip_port.ChannelUser` over a
real TCP socket, as the BIP layer and the terminal would (TS 102 223 §6.4.27-§6.4.30)."""
from __future__ import annotations

import ipaddress
import socket


def pump(request, user, timeout: float = 10.0, split: int | None = None, corrupt: int | None = None) -> None:
    """Open ``request``'s TCP connection, then shuttle bytes until the engine is finished or the
    peer closed.  ``split`` delivers received data in pieces of that size (a small BIP buffer);
    ``corrupt`` flips a bit in the last byte of the engine's ``corrupt``-th transmission."""
    sock = socket.create_connection((str(ipaddress.ip_address(request.address)), request.port), timeout=timeout)
    sends = 0
    try:
        user.connected()
        while True:
            out = user.outgoing()
            if out:
                sends += 1
                if sends == corrupt:
                    out = out[:-1] + bytes([out[-1] ^ 0x01])
                sock.sendall(out)
            if user.finished:
                out = user.outgoing()
                if out:
                    sock.sendall(out)
                return
            try:
                data = sock.recv(request.buffer_size)
            except OSError as e:
                user.closed(f"socket: {e}")
                return
            if not data:
                user.closed("connection closed by the peer")
                return
            step = split or len(data)
            for i in range(0, len(data), step):
                user.received(data[i:i + step])
    finally:
        sock.close()
