"""End-to-end through pcscd + vpcd + pyscard (T=0, 61xx GET RESPONSE): SCP03 at level 33 with
the card's published default ISD-R keys, GET STATUS, PUT KEY of a new AES-256 key set, then a
new connection and a restarted card process authenticating with the new set (GP Amd D §7,
GP CS §11.8).  The host side is tools/scp/scp03_host.py."""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.gp.helpers import DEFAULT_KEYS, ISD_R_AID, SELECT_ISD_R, Terminal
from tools.scp.scp03_host import HostKeySet, Scp03Host, delete_key_apdu, put_key_apdu, put_key_response

pytestmark = pytest.mark.pcsc

NEW = HostKeySet(0x31, bytes.fromhex("A1" * 32), bytes.fromhex("B2" * 32), bytes.fromhex("C3" * 32))


def terminal(link: T0Link) -> Terminal:
    def transmit(apdu: bytes) -> bytes:
        data, sw = link.send(apdu)
        return data + sw.to_bytes(2, "big")
    return Terminal(transmit)


def test_scp03_put_key_and_reconnect(start_card, pcscd, tmp_path):
    state = tmp_path / "scp03.state"
    proc = start_card(state)
    link = T0Link(pcscd)
    try:
        term = terminal(link)
        host = term.open_scp03(DEFAULT_KEYS, level=0x33)
        status = term.secure(host, "80F28002024F0000")
        assert status.sw == 0x9000 and status.data[:4] == bytes.fromhex("E31B4F10")
        assert status.data[4:20] == ISD_R_AID
        r = term.secure(host, put_key_apdu(DEFAULT_KEYS.dek, 0, NEW))
        assert (r.data, r.sw) == (put_key_response(NEW), 0x9000)
    finally:
        link.close()
    link = T0Link(pcscd)
    try:
        term = terminal(link)
        host = term.open_scp03(NEW, level=0x33)
        assert term.secure(host, delete_key_apdu(0x30)).sw == 0x9000
        r = term.secure(host, "80CA00E000")
        assert (r.data, r.sw) == (bytes.fromhex("E012C00401318820C00402318820C00403318820"), 0x9000)
    finally:
        link.close()
    proc.stop()
    start_card(state)
    link = T0Link(pcscd)
    try:
        term = terminal(link)
        assert term.secure(term.open_scp03(NEW, level=0x33), "80F28002024F0000").sw == 0x9000
        term.send(SELECT_ISD_R)
        assert term.send(Scp03Host(DEFAULT_KEYS, 0x33).initialize_update()).sw == 0x6A88
    finally:
        link.close()
