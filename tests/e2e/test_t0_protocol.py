"""End-to-end: the transmission protocol pcsc-lite negotiates from the card's ATR, T=0 TPDUs, and
the re-send after '6Cxx' (ISO/IEC 7816-3 §8.2, §10.3.3; ETSI TS 102 221 §7.3.1.1.4).

pyscard -> pcscd -> ifd-vpcd -> `euicc-emu run`.  ATR bytes are written out here (TCK computed by
hand); the expected answers come from the specs and from reading the same data with the right Le.
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link, find_reader
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

ATR_T0 = bytes.fromhex("3B9796801FC78031E073FE215FFB")       # TD1 '80' T=0, TD2 '1F' T=15
ATR_T0_T1 = bytes.fromhex("3B979680811FC78031E073FE215F7A")  # ... TD2 '81' T=1, TD3 '1F' T=15
ATR_T1 = bytes.fromhex("3B9796811FC78031E073FE215FFA")       # TD1 '81' T=1, TD2 '1F' T=15
ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ENABLED_ISDP = bytes.fromhex("A0000005591010FFFFFFFF8900001000")   # the default card's profile


def protocol_name(conn) -> str:
    from smartcard.CardConnection import CardConnection

    return {CardConnection.T0_protocol: "T0", CardConnection.T1_protocol: "T1"}[conn.getProtocol()]


def connect(protocol_mask: int | None = None):
    """A pyscard connection asking for `protocol_mask` (None: pyscard's default, T=0 or T=1)."""
    conn = find_reader(SLOT).createConnection()
    conn.connect(protocol_mask)
    return conn


def transmit(conn, apdu: bytes) -> tuple[bytes, int]:
    data, sw1, sw2 = conn.transmit(list(apdu))
    return bytes(data), (sw1 << 8) | sw2


def test_default_card_offers_t0_only_and_answers_t0_tpdus(start_card):
    from smartcard.CardConnection import CardConnection

    start_card()
    conn = connect(CardConnection.T0_protocol)   # as pySim-shell and lpac connect
    try:
        assert bytes(conn.getATR()) == ATR_T0 and protocol_name(conn) == "T0"
        # SELECT MF, a case-4 command sent as a T=0 case 3: '61xx', then GET RESPONSE (§7.3.1.1.4)
        data, sw = transmit(conn, bytes.fromhex("00A40004023F00"))
        assert data == b"" and sw >> 8 == 0x61
        fcp, sw = transmit(conn, bytes.fromhex("00C00000") + bytes((sw & 0xFF,)))
        assert sw == 0x9000 and fcp[0] == 0x62 and fcp[1] == len(fcp) - 2
        data, sw = transmit(conn, bytes.fromhex("00A40004022FE2"))
        assert data == b"" and sw >> 8 == 0x61
        fcp, sw = transmit(conn, bytes.fromhex("00C00000") + bytes((sw & 0xFF,)))
        assert sw == 0x9000 and b"\x80\x02\x00\x0A" in fcp   # EF.ICCID: file size 10 (tag '80')
        # READ BINARY, case 2: P3 = 0 ('256') is wrong -> '6C0A'; the re-send gets the ICCID
        assert transmit(conn, bytes.fromhex("00B0000000")) == (b"", 0x6C0A)
        iccid, sw = transmit(conn, bytes.fromhex("00B000000A"))
        assert sw == 0x9000 and len(iccid) == 10 and iccid[0] & 0x0F == 8   # ITU-T E.118 '89...'
    finally:
        conn.disconnect()
    conn = connect()   # pyscard's default mask (T=0 | T=1): pcsc-lite can only pick T=0
    try:
        assert protocol_name(conn) == "T0"
        # T=0 TPDUs sent as T=0 (SCARD_PCI_T0), as pySim-shell does: no protocol mismatch
        data, sw1, sw2 = conn.transmit(list(bytes.fromhex("00A40004023F00")), CardConnection.T0_protocol)
        assert data == [] and sw1 == 0x61
    finally:
        conn.disconnect()


@pytest.mark.parametrize("name,atr,negotiated,direct", [
    ("t0", ATR_T0, "T0", False),
    ("t0-t1", ATR_T0_T1, "T1", False),   # pcsc-lite prefers T=1 when both are offered and allowed
    ("t1", ATR_T1, "T1", True),
])
def test_named_protocol_options(start_card, name, atr, negotiated, direct):
    from smartcard.CardConnection import CardConnection

    start_card(extra=["--protocols", name])
    conn = connect(CardConnection.T0_protocol | CardConnection.T1_protocol)
    try:
        assert bytes(conn.getATR()) == atr and protocol_name(conn) == negotiated
        data, sw = transmit(conn, bytes.fromhex("00A40004023F00"))
        if direct:   # T=1 only: the FCP comes with the command
            assert sw == 0x9000 and data[:1] == b"\x62"
        else:
            assert data == b"" and sw >> 8 == 0x61
    finally:
        conn.disconnect()


def test_t0_t1_card_refuses_t0_tpdus_on_a_t1_connection(start_card):
    # the reported failure of the former default ATR: pcsc-lite picks T=1, and a client sending
    # its commands as T=0 gets SCARD_E_PROTO_MISMATCH ('8010000F')
    from smartcard.CardConnection import CardConnection
    from smartcard.Exceptions import CardConnectionException

    start_card(extra=["--protocols", "t0-t1"])
    conn = connect()
    try:
        assert protocol_name(conn) == "T1"
        with pytest.raises(CardConnectionException, match="(?i)protocol|8010000F"):
            conn.transmit(list(bytes.fromhex("00A40004023F00")), CardConnection.T0_protocol)
    finally:
        conn.disconnect()
    conn = connect(CardConnection.T0_protocol)   # asking for T=0 alone still works
    try:
        assert protocol_name(conn) == "T0"
        assert transmit(conn, bytes.fromhex("00A40004023F00"))[1] >> 8 == 0x61
    finally:
        conn.disconnect()


# -- the re-send after '6Cxx' goes through pcsc-lite untouched and gets the kept answer ----------
@pytest.fixture
def t0_link(start_card):
    start_card()
    link = T0Link(SLOT)
    yield link
    link.close()


def test_manage_channel_open_with_wrong_le_opens_one_channel(t0_link):
    # pcsc-lite hands the T=0 '6Cxx' to the client as it is (no re-send of its own)
    assert t0_link.raw(bytes.fromhex("0070000000")) == (b"", 0x6C01)
    # the re-send gets channel 1, the lowest free number on a new card (ISO 7816-4 §11.1.2) ...
    assert t0_link.raw(bytes.fromhex("0070000001")) == (b"\x01", 0x9000)
    # ... and channel 2 is still free: no channel leaked
    assert t0_link.raw(bytes.fromhex("0070000001")) == (b"\x02", 0x9000)
    for channel in (1, 2):
        assert t0_link.raw(bytes((0x00, 0x70, 0x80, channel))) == (b"", 0x9000)


def test_read_record_next_with_wrong_le_skips_no_record(t0_link):
    assert t0_link.send(bytes.fromhex("00A4000C022F00"))[1] == 0x9000          # EF.DIR
    records = [t0_link.send(bytes((0x00, 0xB2, n, 0x04, 0x00))) for n in (1, 2)]
    assert all(sw == 0x9000 and data for data, sw in records)
    size = len(records[0][0])
    assert t0_link.send(bytes.fromhex("00A4000C022F00"))[1] == 0x9000          # no current record
    assert t0_link.raw(bytes.fromhex("00B2000200")) == (b"", 0x6C00 | size)
    assert t0_link.raw(bytes((0x00, 0xB2, 0x00, 0x02, size))) == (records[0][0], 0x9000)
    assert t0_link.raw(bytes((0x00, 0xB2, 0x00, 0x02, size))) == (records[1][0], 0x9000)


def test_es10_last_block_with_p3_00_runs_nothing_and_says_so(t0_link):
    assert t0_link.send(bytes((0x00, 0xA4, 0x04, 0x00, 16)) + ISD_R)[1] == 0x9000
    # SGP.22 §5.7.17 DisableProfileRequest [50] { [0] { isdpAid '4F' }, refreshFlag [1] FALSE },
    # in two STORE DATA blocks (§5.7.2), the last one empty and sent with P3 = '00': a STORE DATA
    # without data is '6700' (GP Card Spec §11.11) before anything runs, not a hidden result
    request = bytes.fromhex("BF3217A0124F10") + ENABLED_ISDP + bytes.fromhex("810100")
    assert t0_link.raw(bytes((0x80, 0xE2, 0x11, 0x00, len(request))) + request) == (b"", 0x9000)
    assert t0_link.raw(bytes.fromhex("80E2910100")) == (b"", 0x6700)
    # the profile is still enabled: the same request sent whole disables it, once, and the LPA
    # gets DisableProfileResponse { disableResult ok (0) } through 61xx / GET RESPONSE
    assert t0_link.raw(bytes((0x80, 0xE2, 0x91, 0x00, len(request))) + request) == (b"", 0x6106)
    assert t0_link.raw(bytes.fromhex("80C0000006")) == (bytes.fromhex("BF3203800100"), 0x9000)
