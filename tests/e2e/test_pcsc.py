"""End-to-end: pyscard -> pcscd -> ifd-vpcd -> vpcd_bridge -> Card, with `euicc-emu run` as a process.

Expected values come from the specs (TS 102 221 §11.1.1 SELECT/FCP, ISO 7816-4 §7.1.2 MANAGE
CHANNEL, SGP.22 §5.7 / SPEC_NOTES §1.1 EID check digits, ITU-T E.118 ICCID), not from card code.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.pcsc_fixtures import SLOT
from tests.e2e.pcsc_host import REPO, T0Link, reader_name

pytestmark = pytest.mark.pcsc

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ECASD = bytes.fromhex("A0000005591010FFFFFFFF8900000200")
SW_OK = 0x9000


# -- independent host-side decoders --------------------------------------------------------------
def swapped_bcd(data: bytes) -> str:
    """TS 102 221 §13.2 EF.ICCID: BCD, nibbles swapped, 'F' filler."""
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return digits.rstrip("F")


def eid_valid(eid: str) -> bool:
    """EID: 32 decimal digits whose value mod 97 is 1 (ISO 7064 MOD 97-10, SPEC_NOTES §1.1)."""
    return len(eid) == 32 and eid.isdigit() and int(eid) % 97 == 1


def tlv_first(data: bytes) -> dict[int, bytes]:
    """Top-level children of a one-byte-tag BER-TLV template (FCP '62', ISO 7816-4 §5.3.3)."""
    assert data and data[0] == 0x62, f"not an FCP template: {data.hex()}"
    body, i, out = data[2:2 + data[1]], 0, {}
    while i + 2 <= len(body):
        tag, size = body[i], body[i + 1]
        out[tag] = body[i + 2:i + 2 + size]
        i += 2 + size
    return out


def channel_cla(channel: int) -> int:
    """ISO 7816-4 §5.4.1: channels 0-3 in b2-b1, 4-19 as '4X' further interindustry."""
    return channel if channel < 4 else 0x40 | (channel - 4)


def read_eid(link: T0Link, channel: int = 0, aid: bytes = ISD_R) -> str:
    cla = channel_cla(channel)
    _, sw = link.send(bytes([cla, 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
    assert sw == SW_OK, f"SELECT {aid.hex()} on channel {channel}: {sw:04X}"
    data, sw = link.send(bytes([0x80 | cla, 0xCA, 0x00, 0x5A, 0x00]))
    assert sw == SW_OK and data[:2] == b"\x5A\x10" and len(data) == 18, f"GET DATA EID: {data.hex()} {sw:04X}"
    return data[2:].hex()


def find_writable_ef(link: T0Link) -> tuple[int, int]:
    """A transparent EF under the MF that accepts UPDATE BINARY (found by SELECT, TS 102 221 §11.1.1)."""
    for fid in range(0x2F00, 0x3000):
        data, sw = link.send(b"\x00\xA4\x00\x04\x02" + fid.to_bytes(2, "big"))
        if sw != SW_OK:
            continue
        fcp = tlv_first(data)
        descriptor, size = fcp.get(0x82, b"\x00"), int.from_bytes(fcp.get(0x80, b""), "big")
        if descriptor[0] & 0xBF != 0x01 or size == 0:  # working EF, transparent (TS 102 221 §11.1.1.4.3)
            continue
        content, sw = link.send(b"\x00\xB0\x00\x00" + bytes([min(size, 255)]))
        if sw == SW_OK and link.send(b"\x00\xD6\x00\x00" + bytes([len(content)]) + content)[1] == SW_OK:
            return fid, size
    pytest.fail("the default card has no transparent EF 2Fxx under the MF that accepts UPDATE BINARY")


def select_mf_ef(link: T0Link, fid: int) -> None:
    assert link.send(bytes.fromhex("00A4000C023F00"))[1] == SW_OK
    assert link.send(b"\x00\xA4\x00\x0C\x02" + fid.to_bytes(2, "big"))[1] == SW_OK


def info_json(state) -> dict:
    out = subprocess.run([sys.executable, "-m", "tools.cli", "info", "--json", "--state", str(state)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# -- tests ---------------------------------------------------------------------------------------
def test_select_mf_and_read_iccid(start_card):
    card = start_card()
    link = T0Link(SLOT)
    data, sw = link.send(bytes.fromhex("00A40004023F00"))
    assert sw == SW_OK and tlv_first(data)[0x82][0] & 0x38 == 0x38  # DF (TS 102 221 §11.1.1.4.3)
    data, sw = link.send(bytes.fromhex("00A40004022FE2"))
    assert sw == SW_OK and int.from_bytes(tlv_first(data)[0x80], "big") == 10
    data, sw = link.send(bytes.fromhex("00B000000A"))
    assert sw == SW_OK and len(data) == 10
    iccid = swapped_bcd(data)
    assert iccid.startswith("89") and len(iccid) in (19, 20)  # ITU-T E.118: MII 89 = telecom
    link.close()
    assert card.stop() == 0
    assert iccid in info_json(card.state)["iccids"]


def test_logical_channel_select_isd_r_get_eid(start_card):
    start_card()
    link = T0Link(SLOT)
    data, sw = link.send(bytes.fromhex("0070000001"))
    assert sw == SW_OK and len(data) == 1 and 1 <= data[0] <= 19
    channel = data[0]
    eid = read_eid(link, channel, ISD_R)
    assert eid_valid(eid), eid
    assert read_eid(link, 0, ECASD) == eid  # the same EID from ECASD on the basic channel
    assert link.send(bytes([0x00, 0x70, 0x80, channel, 0x00]))[1] == SW_OK
    cla = channel_cla(channel)
    _, sw = link.send(bytes([cla, 0xA4, 0x04, 0x00, 0x10]) + ISD_R + b"\x00")
    assert sw == 0x6881  # closed channel: logical channel not supported (ISO 7816-4 §5.6)
    link.close()


def test_state_survives_restart(start_card):
    card = start_card()
    link = T0Link(SLOT)
    eid = read_eid(link)
    fid, size = find_writable_ef(link)
    payload = os.urandom(min(size, 32))
    select_mf_ef(link, fid)
    assert link.send(b"\x00\xD6\x00\x00" + bytes([len(payload)]) + payload)[1] == SW_OK
    link.close()
    assert card.stop() == 0
    start_card(card.state)
    link = T0Link(SLOT)
    select_mf_ef(link, fid)
    assert link.send(b"\x00\xB0\x00\x00" + bytes([len(payload)])) == (payload, SW_OK)
    assert read_eid(link) == eid
    link.close()


def test_sigterm_under_load_leaves_consistent_state(start_card):
    card = start_card()
    link = T0Link(SLOT)
    fid, _ = find_writable_ef(link)
    select_mf_ef(link, fid)
    acked: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                _, sw = link.raw(b"\x00\xD6\x00\x00\x08" + n.to_bytes(8, "big"))
            except Exception:  # the card went away mid-APDU: that is the point of the test
                return
            if sw != SW_OK:
                return
            acked.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.5)
    card.proc.send_signal(signal.SIGTERM)
    assert card.stop() == 0, card.log_text()
    stop.set()
    thread.join(10)
    link.close()  # else its later garbage collection (SCARD_UNPOWER_CARD) resets the next card
    assert len(acked) > 10, "too few writes went through before SIGTERM"
    assert info_json(card.state)["eid"]  # the state file opens cleanly
    start_card(card.state)
    link = T0Link(SLOT)
    select_mf_ef(link, fid)
    data, sw = link.send(b"\x00\xB0\x00\x00\x08")
    assert sw == SW_OK
    assert int.from_bytes(data, "big") in (acked[-1], acked[-1] + 1)  # last acknowledged or the one in flight
    link.close()


def with_tck(atr_without_tck: bytes) -> bytes:
    """ISO 7816-3 §8.2.5: TCK makes the XOR of T0..TCK zero."""
    tck = 0
    for byte in atr_without_tck[1:]:
        tck ^= byte
    return atr_without_tck + bytes([tck])


CUSTOM_ATR = with_tck(bytes.fromhex("3B9F96803F87828031E073FE211F5745437531301366"))


def test_pcsc_scan_lists_card_with_atr(start_card):
    start_card(extra=["--atr", CUSTOM_ATR.hex()])
    link = T0Link(SLOT)
    assert link.atr == CUSTOM_ATR
    link.close()
    out = subprocess.run(["pcsc_scan", "-c", "-n"], capture_output=True, text=True, timeout=30).stdout
    blocks = re.split(r"\n(?= Reader \d+: )", out)
    ours = [b for b in blocks if re.match(rf" Reader \d+: {re.escape(reader_name(SLOT))}\n", b)]
    assert len(ours) == 1, out
    assert "Card inserted" in ours[0]
    atr = re.search(r"ATR: ([0-9A-F ]+)", ours[0]).group(1).strip()
    assert atr == " ".join(f"{b:02X}" for b in CUSTOM_ATR)


def test_opensc_tool_reads_atr(start_card):
    start_card()
    link = T0Link(SLOT)
    atr = link.atr
    link.close()
    out = subprocess.run(["opensc-tool", "--reader", reader_name(SLOT), "--atr"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().lower() == ":".join(f"{b:02x}" for b in atr)
