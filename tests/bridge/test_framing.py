"""vpcd framing (vsmartcard api.txt): 2-byte big-endian length + payload."""
import pytest

from vpcd_bridge.framing import Control, FrameError, FrameReader, encode_frame


def chunks(*parts: bytes):
    items = list(parts)
    return lambda: items.pop(0) if items else b""


def test_encode_known_answers():
    assert encode_frame(b"\x04") == bytes.fromhex("000104")
    assert encode_frame(bytes.fromhex("00A4000C023F00")) == bytes.fromhex("000700A4000C023F00")
    assert encode_frame(b"") == b"\x00\x00"
    assert encode_frame(b"\xAA" * 0x0123)[:2] == b"\x01\x23"
    assert encode_frame(b"\x00" * 0xFFFF)[:2] == b"\xFF\xFF"


def test_encode_oversize_rejected():
    with pytest.raises(FrameError):
        encode_frame(b"\x00" * 0x10000)


def test_control_codes_match_vpcd_h():
    assert [c.value for c in Control] == [0x00, 0x01, 0x02, 0x04]


def test_several_frames_in_one_chunk():
    reader = FrameReader(chunks(bytes.fromhex("000101" "000104" "000500B0000000")))
    assert reader.read_frame() == b"\x01"
    assert reader.read_frame() == b"\x04"
    assert reader.read_frame() == bytes.fromhex("00B0000000")
    assert reader.read_frame() is None


def test_frame_split_byte_by_byte():
    stream = bytes.fromhex("000700A4000C023F00")
    reader = FrameReader(chunks(*(stream[i:i + 1] for i in range(len(stream)))))
    assert reader.read_frame() == bytes.fromhex("00A4000C023F00")
    assert reader.read_frame() is None


def test_empty_payload_frame():
    assert FrameReader(chunks(b"\x00\x00")).read_frame() == b""


@pytest.mark.parametrize("stream", [b"\x00", b"\x00\x05\x00\xA4", b"\x01\x00" + b"\x00" * 255])
def test_truncated_frame_raises_frame_error(stream):
    reader = FrameReader(chunks(stream))
    with pytest.raises(FrameError):
        reader.read_frame()
