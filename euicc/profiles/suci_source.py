"""SUCI calculation by the USIM from the profile's files: 3GPP TS 31.102 §5.3.48 / §7.5 (GET
IDENTITY), TS 33.501 Annex C (schemes via euicc.auth.suci).

Inputs, as TS 31.102 defines them: EF.UST ('6F38', §4.2.8) services n°124 (subscription
identifier privacy support) and n°125 (SUCI calculation by the USIM); the calculation
information of the USIM — EF.SUCI_Calc_Info_USIM of DF.SAIP ('5FD0'/'4F01', TCA SAIP §9.5.12)
when present, else EF.SUCI_Calc_Info of DF.5GS ('5FC0'/'4F07', §4.4.11.8), both coded as
§4.4.11.8: 'A0' protection scheme identifier list (scheme id, key index pairs by priority) and
'A1' home network public key list ('80' key id, '81' key); EF.Routing_Indicator
('5FC0'/'4F0A', §4.4.11.11); EF.IMSI ('6F07', §4.2.2) and the MNC length in EF.AD ('6FAD').
"""
from __future__ import annotations

from euicc import tlv
from euicc.auth.suci import ProtectionScheme, encode_suci_imsi, msin_scheme_input, scheme_output
from euicc.fs.filesystem import FileSystem

SUCI_CONTEXT = 0x01                   # [U] GET IDENTITY P2: SUCI context
SERVICE_SUCI_PRIVACY, SERVICE_SUCI_BY_USIM = 124, 125
EF_UST, EF_IMSI, EF_AD = "6F38", "6F07", "6FAD"
DF_5GS, DF_SAIP = "5FC0", "5FD0"
EF_SUCI_CALC_INFO, EF_ROUTING_INDICATOR, EF_SUCI_CALC_INFO_USIM = "4F07", "4F0A", "4F01"
SUPPORTED_SCHEMES = frozenset(int(s) for s in ProtectionScheme)


class SuciUnavailable(Exception):
    """The USIM does not compute SUCI, or its files do not allow it."""


def _bytes(fs: FileSystem, path: str) -> bytes:
    data = fs.data(path) if fs.node(path) is not None else b""
    return b"".join(data) if isinstance(data, tuple) else bytes(data)


def service_available(ust: bytes, n: int) -> bool:
    """Service n° `n` of a service table (TS 31.102 §4.2.8: bit b((n-1) mod 8) of byte (n-1)//8)."""
    i = (n - 1) // 8
    return i < len(ust) and bool(ust[i] >> ((n - 1) % 8) & 1)


def _digits(raw: bytes) -> str:
    """Swapped-nibble BCD digits up to the first 'F' filler."""
    out = []
    for b in raw:
        for nibble in (b & 0x0F, b >> 4):
            if nibble > 9:
                return "".join(out)
            out.append(str(nibble))
    return "".join(out)


def _imsi(ef_imsi: bytes) -> str:
    """EF.IMSI (TS 31.102 §4.2.2): length, parity nibble, digits."""
    if len(ef_imsi) < 2 or not 1 <= ef_imsi[0] <= 8:
        raise SuciUnavailable("EF.IMSI not personalised")
    imsi = _digits(ef_imsi[1:1 + ef_imsi[0]])[1:]     # the first nibble is the parity
    if not 6 <= len(imsi) <= 15:
        raise SuciUnavailable("EF.IMSI not personalised")
    return imsi


def calculation_info(raw: bytes) -> tuple[list[tuple[int, int]], dict[int, tuple[int, bytes]]]:
    """(scheme id, key index) list and {key index: (key id, key)} from §4.4.11.8 coding."""
    try:
        objects = tlv.parse(raw.rstrip(b"\xff")) if raw.rstrip(b"\xff") else []
    except tlv.TlvError:
        raise SuciUnavailable("EF.SUCI_Calc_Info is malformed") from None
    schemes: list[tuple[int, int]] = []
    keys: dict[int, tuple[int, bytes]] = {}
    for tag, value in objects:
        if tag == 0xA0:
            schemes = [(value[i], value[i + 1]) for i in range(0, len(value) - 1, 2)]
        elif tag == 0xA1:
            key_id = None
            for t, v in tlv.iter_tlv(value):
                if t == 0x80 and len(v) == 1:
                    key_id = v[0]
                elif t == 0x81 and key_id is not None:
                    keys[len(keys) + 1] = (key_id, v)
    return schemes, keys


def compute(fs: FileSystem, adf: str) -> bytes:
    """The SUCI value of the 'A1' TLV (5GS mobile identity from octet 4, TS 24.501 §9.11.3.4)."""
    ust = _bytes(fs, f"{adf}/{EF_UST}")
    if not (service_available(ust, SERVICE_SUCI_PRIVACY)
            and service_available(ust, SERVICE_SUCI_BY_USIM)):
        raise SuciUnavailable("the USIM does not calculate SUCI (services 124 and 125)")
    info = _bytes(fs, f"{adf}/{DF_SAIP}/{EF_SUCI_CALC_INFO_USIM}") \
        or _bytes(fs, f"{adf}/{DF_5GS}/{EF_SUCI_CALC_INFO}")
    schemes, keys = calculation_info(info)
    choice = next(((s, k) for s, k in schemes if s in SUPPORTED_SCHEMES
                   and (s == ProtectionScheme.NULL or k in keys)), None)
    if choice is None:
        raise SuciUnavailable("no usable protection scheme in EF.SUCI_Calc_Info")
    scheme, index = choice
    key_id, key = keys.get(index, (0, b"")) if scheme != ProtectionScheme.NULL else (0, b"")
    imsi = _imsi(_bytes(fs, f"{adf}/{EF_IMSI}"))
    ad = _bytes(fs, f"{adf}/{EF_AD}")
    mnc_len = ad[3] & 0x0F if len(ad) >= 4 and ad[3] & 0x0F in (2, 3) else 2
    routing = _digits(_bytes(fs, f"{adf}/{DF_5GS}/{EF_ROUTING_INDICATOR}")[:2]) or "0"
    output = scheme_output(scheme, msin_scheme_input(imsi[3 + mnc_len:]), key)
    return encode_suci_imsi(imsi[:3], imsi[3:3 + mnc_len], routing, scheme, key_id, output)
