"""SMS-PP data download ENVELOPE, ETSI TS 102 223 §7.1.1 (3GPP TS 31.111 §7.1.1).

The ENVELOPE data is a BER-TLV 'D1' holding COMPREHENSION-TLVs (TS 102 223 §8, tags with or
without the comprehension-required bit b8): Device identities ('02', mandatory, source
network '83' -> destination UICC '81'), Address ('06', the service centre, optional) and
SMS TPDU ('0B', mandatory).  Unknown TLVs are skipped unless they are marked comprehension
required.  Malformed data raises :class:`OtaFormatError` ('6A80').
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc import tlv
from euicc.apdu import SW
from euicc.ota.errors import OtaFormatError

TAG_SMS_PP_DOWNLOAD = 0xD1  # TS 101 220 §7.2 BER-TLV tags for ENVELOPE
TAG_DEVICE_IDENTITIES = 0x02  # TS 102 223 §8.7
TAG_ADDRESS = 0x06  # TS 102 223 §8.1
TAG_SMS_TPDU = 0x0B  # TS 102 223 §8.13
DEVICE_NETWORK = 0x83  # TS 102 223 §8.7 device identity codes
DEVICE_UICC = 0x81


@dataclass(frozen=True, slots=True)
class SmsPpDownload:
    """The parsed ENVELOPE (SMS-PP DATA DOWNLOAD), TS 102 223 §7.1.1.1."""

    source: int
    destination: int
    address: bytes | None  # TON/NPI followed by BCD dialling digits
    tpdu: bytes


def parse_sms_pp_download(data: bytes) -> SmsPpDownload:
    """Parse the ENVELOPE command data (starting with 'D1') strictly."""
    if not data:
        raise OtaFormatError("empty ENVELOPE")
    envelope = _simple_tlvs(data)
    tag, body = envelope[0]
    if tag != TAG_SMS_PP_DOWNLOAD:
        raise OtaFormatError(f"ENVELOPE tag {tag:02X} is not SMS-PP download")
    if len(envelope) != 1:
        raise OtaFormatError("bytes after the ENVELOPE TLV")
    seen: dict[int, bytes] = {}
    for item_tag, value in _simple_tlvs(body):
        known = item_tag & 0x7F
        if known not in (TAG_DEVICE_IDENTITIES, TAG_ADDRESS, TAG_SMS_TPDU):
            if item_tag & 0x80:
                raise OtaFormatError(f"comprehension-required TLV {item_tag:02X} not understood")
            continue
        if known in seen:
            raise OtaFormatError(f"TLV {known:02X} repeated")
        seen[known] = value
    identities = seen.get(TAG_DEVICE_IDENTITIES)
    if identities is None or len(identities) != 2:
        raise OtaFormatError("device identities missing or malformed")
    if identities != bytes([DEVICE_NETWORK, DEVICE_UICC]):
        raise OtaFormatError("SMS-PP download must come from the network to the UICC")
    if TAG_SMS_TPDU not in seen or not seen[TAG_SMS_TPDU]:
        raise OtaFormatError("SMS TPDU missing")
    address = seen.get(TAG_ADDRESS)
    if address is not None and not address:
        raise OtaFormatError("empty address")
    return SmsPpDownload(identities[0], identities[1], address, seen[TAG_SMS_TPDU])


def _simple_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """TLVs with one-byte tags and shortest definite lengths (TS 101 220 §7.1.1, §7.2), covering
    `data` exactly; the three-byte COMPREHENSION-TLV tag form ('7F') is not used by SMS-PP."""
    try:
        items = tlv.parse(data, der=True)
    except tlv.TlvError as exc:
        raise OtaFormatError(str(exc)) from None
    for tag, _value in items:
        if tag > 0xFF or tag in (0x00, 0xFF):
            raise OtaFormatError(f"tag {tag:02X} not supported here")
    return items


@dataclass(frozen=True, slots=True)
class EnvelopeResponse:
    """What the UICC answers to the ENVELOPE: response data and status word.

    TS 31.111 §7.1.1.1 / TS 31.115 §6.2: the Response Packet (with its UDH '02 71 00') is
    returned as ENVELOPE response data, which the ME puts into the TP-User-Data of the
    SMS-DELIVER-REPORT (RP-ACK); a '62 xx'/'63 xx' answer makes the ME send RP-ERROR with
    "(U)SIM data download error" instead.
    """

    data: bytes
    sw: int


def sms_pp_response(response_packet: bytes | None, failed: bool = False,
                    error_sw: int | None = None) -> EnvelopeResponse:
    """Answer an SMS-PP download: the PoR (if any) as data, '9000' unless the command
    ``failed`` and the emulator is configured with an ``error_sw`` (e.g. '6200', [R]:
    TS 31.111 "data download error" signalling; default off, the PoR status tells)."""
    sw = error_sw if failed and error_sw is not None else SW.OK
    return EnvelopeResponse(response_packet or b"", int(sw))
