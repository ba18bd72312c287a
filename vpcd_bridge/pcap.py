"""The pcap file of ``euicc-emu run --pcap FILE``: the GSMTAP messages as a capture would show them.

A classic libpcap file (``pcap-savefile(5)``, written by dpkt's ``pcap.Writer``) with link type
``LINKTYPE_ETHERNET`` (1); each GSMTAP message (:mod:`vpcd_bridge.gsmtap`) sits in an Ethernet II
/ IPv4 / UDP frame from 127.0.0.1 to 127.0.0.1, port 4729 on both ends, as a capture of
``--gsmtap 127.0.0.1`` on the loopback interface would hold it.  Wireshark registers its GSMTAP
dissector on UDP port 4729, so ``wireshark FILE`` / ``tshark -r FILE`` decode the APDUs with
``gsm_sim`` without any option.  The file is flushed after every packet, so it can be opened
while the card runs and survives a crash.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

import dpkt

from .gsmtap import GSMTAP_UDP_PORT, MAX_MESSAGE, GsmtapMessageSink

log = logging.getLogger(__name__)

LOOPBACK = bytes([127, 0, 0, 1])
SNAPLEN = 262144  # libpcap's MAXIMUM_SNAPLEN: every frame is kept whole


def udp_frame(message: bytes) -> bytes:
    """`message` as the Ethernet II / IPv4 / UDP frame described in the module docstring."""
    udp = dpkt.udp.UDP(sport=GSMTAP_UDP_PORT, dport=GSMTAP_UDP_PORT, data=message)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=LOOPBACK, dst=LOOPBACK, p=dpkt.ip.IP_PROTO_UDP, data=udp)
    return bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


class PcapSink(GsmtapMessageSink):
    """Writes every message to `path` (created or truncated); safe for several slots' threads."""

    def __init__(self, path: Path | str) -> None:
        self._file = open(path, "wb")
        self._writer = dpkt.pcap.Writer(self._file, snaplen=SNAPLEN, linktype=dpkt.pcap.DLT_EN10MB)
        self._file.flush()
        self._lock = threading.Lock()

    def emit(self, message: bytes) -> None:
        if len(message) > MAX_MESSAGE:  # cannot be one UDP datagram: keep its head
            log.warning("pcap: GSMTAP message of %d bytes cut to %d", len(message), MAX_MESSAGE)
            message = message[:MAX_MESSAGE]
        frame = udp_frame(message)
        with self._lock:
            if self._file.closed:
                return
            try:
                self._writer.writepkt(frame, time.time())
                self._file.flush()
            except OSError as exc:  # disk full, file system gone: stop tracing, keep the card up
                log.error("pcap: cannot write %s (%s); pcap trace stopped", self._file.name, exc)
                with contextlib.suppress(OSError):
                    self._file.close()

    def close(self) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._file.close()
