"""ES5 (SM-SR -> ISD-R) command APDUs and response decoders, GSMA SGP.02 v4.2 §4.1.1 / §5.

Builders return complete short C-APDUs for a TS 102 226 expanded script; forms as SPEC_NOTES §2.3
collects them from the two public SM-SR implementations (GP Card Specification v2.3 §11 for
INSTALL, DELETE, GET STATUS, GET DATA and STORE DATA).  Written from the spec, never from card code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from euicc import tlv
from tools.smsr.settings import DEFAULT, M2mSettings

CLA_GP = 0x80
INS_INSTALL, INS_DELETE, INS_STORE_DATA, INS_GET_DATA, INS_GET_STATUS = 0xE6, 0xE4, 0xE2, 0xCA, 0xF2
# GP §11.11.2.1 STORE DATA P1: b8 last block, b5-b4 '01' DGI format, b1 response data expected
P1_LAST_DGI, P1_LAST_DGI_RESPONSE, P1_MORE_DGI_RESPONSE = 0x88, 0x89, 0x09
# SGP.02 DGIs (SPEC_NOTES §2.3)
DGI_ENABLE, DGI_DISABLE, DGI_FALLBACK, DGI_ADDRESSING, DGI_CONFIRMATION = 0x3A03, 0x3A04, 0x3A05, 0x3A07, 0x3A08
# GP life-cycle bytes of an ISD-P (SPEC_NOTES §2.2)
LCS_NAMES = {0x03: "INSTALLED", 0x07: "SELECTABLE", 0x0F: "PERSONALIZED", 0x1F: "DISABLED", 0x3F: "ENABLED"}


class Es5FormatError(ValueError):
    """A card response that does not have the SGP.02 / GP form."""


def dgi(tag: int, value: bytes) -> bytes:
    """GP §11.11.3 DGI: 2-byte tag, length 1 byte below 255, else 'FF' + 2 bytes."""
    size = bytes([len(value)]) if len(value) < 255 else b"\xFF" + len(value).to_bytes(2, "big")
    return tag.to_bytes(2, "big") + size + value


def apdu(ins: int, p1: int, p2: int, data: bytes = b"", le: bool = False, cla: int = CLA_GP) -> bytes:
    """A short case 3/4 APDU (ISO 7816-4 §5.1)."""
    if len(data) > 255:
        raise ValueError("command data longer than a short APDU")
    body = (bytes([len(data)]) + data) if data else b""
    return bytes([cla, ins, p1, p2]) + body + (b"\x00" if le else b"")


def _lv(value: bytes) -> bytes:
    return bytes([len(value)]) + value


def create_isdp(isdp_aid: bytes, nvm_quota: int | None = None, s: M2mSettings = DEFAULT) -> bytes:
    """CreateISDP: INSTALL [for install and make selectable] '80 E6 0C 00' (SGP.02 §4.1.1.1, GP §11.5)."""
    params = s.isdp_install_params
    if nvm_quota is not None:
        params += tlv.tlv(0xEF, tlv.tlv(0x83, nvm_quota.to_bytes(2, "big")))
    data = (_lv(s.elf_aid()) + _lv(s.module_aid()) + _lv(isdp_aid) + _lv(s.isdp_privileges)
            + _lv(params) + b"\x00")
    return apdu(INS_INSTALL, 0x0C, 0x00, data, s.append_le)


def store_data(p1: int, p2: int, data: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """STORE DATA (GP §11.11) to the ISD-R."""
    return apdu(INS_STORE_DATA, p1, p2, data, s.append_le)


def enable_profile(isdp_aid: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """EnableProfile: STORE DATA DGI '3A03' {'4F' AID} (SGP.02 §4.1.1.2)."""
    return store_data(P1_LAST_DGI, 0, dgi(DGI_ENABLE, tlv.tlv(0x4F, isdp_aid)), s)


def disable_profile(isdp_aid: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """DisableProfile: STORE DATA DGI '3A04' {'4F' AID} (SGP.02 §4.1.1.3)."""
    return store_data(P1_LAST_DGI, 0, dgi(DGI_DISABLE, tlv.tlv(0x4F, isdp_aid)), s)


def set_fallback_attribute(isdp_aid: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """SetFallBackAttribute: STORE DATA DGI '3A05' {'4F' AID} (SGP.02 §4.1.1.7)."""
    return store_data(P1_LAST_DGI, 0, dgi(DGI_FALLBACK, tlv.tlv(0x4F, isdp_aid)), s)


def set_emergency_profile_attribute(isdp_aid: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """SetEmergencyProfileAttribute (SGP.02 v4.x §4.1.1.x): STORE DATA, DGI from the settings [U]."""
    return store_data(P1_LAST_DGI, 0, dgi(s.emergency_dgi, tlv.tlv(0x4F, isdp_aid)), s)


def delete_profile(isdp_aid: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """DeleteProfile: DELETE '80 E4 00 P2' {'4F' AID} (SGP.02 §4.1.1.4, GP §11.2)."""
    return apdu(INS_DELETE, 0x00, s.delete_p2, tlv.tlv(0x4F, isdp_aid), s.append_le)


def update_smsr_addressing(msisdn: str, s: M2mSettings = DEFAULT) -> bytes:
    """UpdateSMSRAddressingParameters: DGI '3A07' {'A3' {'81' {digit count, TON/NPI, BCD}}} [C WHTY]."""
    digits = msisdn + ("F" if len(msisdn) % 2 else "")
    bcd = bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))
    address = bytes([len(msisdn), s.smsr_address_ton_npi]) + bcd
    return store_data(P1_LAST_DGI, 0, dgi(DGI_ADDRESSING, tlv.tlv(0xA3, tlv.tlv(0x81, address))), s)


def confirm_notification(sequence: int, s: M2mSettings = DEFAULT) -> bytes:
    """HandleNotificationConfirmation: STORE DATA P1 '89' DGI '3A08' {'4E' seq(2)} (SGP.02 §4.1.1.12)."""
    return store_data(P1_LAST_DGI_RESPONSE, 0, dgi(DGI_CONFIRMATION, tlv.tlv(0x4E, sequence.to_bytes(2, "big"))), s)


def get_data_ecasd_certificate(s: M2mSettings = DEFAULT) -> bytes:
    """eUICCCapabilityAudit: GET DATA 'BF30' {'5C' '7F21'} for CERT.ECASD.ECKA (SGP.02 §4.1.1.5)."""
    return apdu(INS_GET_DATA, 0xBF, 0x30, bytes.fromhex("5C027F21"), s.append_le)


def get_data_extended_card_resources() -> bytes:
    """GET DATA 'FF21' Extended Card Resources Information (ETSI TS 102 226 §8.2.1.7.2)."""
    return bytes.fromhex("80CAFF2100")


def get_status(isdp_aid: bytes | None = None, s: M2mSettings = DEFAULT, next_occurrence: bool = False) -> bytes:
    """GET STATUS '80 F2 40 02' of the ISD-Ps (all, or one by '4F') in TLV form (GP §11.4); P2 '03'
    asks for the next occurrences after a '6310' answer (GP §11.4.2.1, P2 b1 = 1)."""
    return apdu(INS_GET_STATUS, 0x40, 0x03 if next_occurrence else 0x02, tlv.tlv(0x4F, isdp_aid or b""), True)


def finalise_isdr_handover(keys: list[tuple[int, int, int]], s: M2mSettings = DEFAULT) -> bytes:
    """FinaliseISDRhandover: DELETE [key] '80 E4 00 00' {'F2 03' KVN first-ID last-ID}* (SGP.02 §4.1.1.9)."""
    data = b"".join(tlv.tlv(0xF2, bytes(k)) for k in keys)
    return apdu(INS_DELETE, 0x00, 0x00, data, s.append_le)


@dataclass(frozen=True)
class MasterDeleteData:
    """Identity data the SM-DP personalised in the ISD-P (GP §11.2.2.1 delete token, DGI '0070')."""

    sd_provider_id: bytes
    sd_image_number: bytes
    application_provider_id: bytes
    token_id: bytes

    @classmethod
    def from_control(cls, control: bytes) -> MasterDeleteData:
        """Decode the value of 'B6' {'42', '45', '5F20', '93'}."""
        try:
            items = dict(tlv.iter_tlv(control))
        except tlv.TlvError as exc:
            raise Es5FormatError(f"bad delete control data: {exc}") from exc
        if any(t not in items for t in (0x42, 0x45, 0x5F20, 0x93)):
            raise Es5FormatError("delete control data needs '42', '45', '5F20' and '93'")
        return cls(items[0x42], items[0x45], items[0x5F20], items[0x93])


TEST_DELETE_IDENT = MasterDeleteData(b"SMDP", b"\x01", b"SMDP", b"\x01")
"""Identity data the test SM-DP and SM-SR use in a Master Delete when given none (test default)."""


def master_delete_body(isdp_aid: bytes, ident: MasterDeleteData) -> bytes:
    """DELETE data before the token: '4F' AID || 'B6' {'42', '45', '5F20', '93'} (GP §11.2.2.1)."""
    control = (tlv.tlv(0x42, ident.sd_provider_id) + tlv.tlv(0x45, ident.sd_image_number)
               + tlv.tlv(0x5F20, ident.application_provider_id) + tlv.tlv(0x93, ident.token_id))
    return tlv.tlv(0x4F, isdp_aid) + tlv.tlv(0xB6, control)


def delete_token(body: bytes, token_key: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """Delete token (GP Annex C.4, SGP.02 §4.1.1.6): AES-CMAC(token key) over P1 || P2 || length of
    the data before the token || that data.  Computed by the SM-DP, which holds the token key."""
    return CMAC.new(token_key, msg=bytes([0x00, s.delete_p2, len(body)]) + body, ciphermod=AES).digest()


def master_delete_apdu(body: bytes, token: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """MasterDelete: DELETE '80 E4 00 P2' body || '9E' token (SGP.02 §4.1.1.6), sent by the SM-SR."""
    return apdu(INS_DELETE, 0x00, s.delete_p2, body + tlv.tlv(0x9E, token), s.append_le)


def master_delete(isdp_aid: bytes, ident: MasterDeleteData, token_key: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """MasterDelete with the token computed here from ``token_key`` (tests; see :func:`delete_token`)."""
    body = master_delete_body(isdp_aid, ident)
    return master_delete_apdu(body, delete_token(body, token_key, s), s)


# -- response decoders -------------------------------------------------------------------------
@dataclass(frozen=True)
class IsdpStatus:
    """One 'E3' entry of GET STATUS (GP §11.4.3.1, SGP.02 Table 28)."""

    aid: bytes
    lifecycle: int
    attributes: int | None = None
    extra: dict[int, bytes] = field(default_factory=dict)

    @property
    def fallback(self) -> bool:
        return bool(self.attributes is not None and self.attributes & 0x01)

    @property
    def state(self) -> str:
        return LCS_NAMES.get(self.lifecycle, f"{self.lifecycle:02X}")


def parse_get_status(data: bytes) -> list[IsdpStatus]:
    """Decode GET STATUS response data: 'E3' { '4F' AID, '9F70' LCS, '53' attributes, ... }*."""
    entries = []
    try:
        for tag, value in tlv.iter_tlv(data):
            if tag != 0xE3:
                raise Es5FormatError(f"GET STATUS entry tag {tag:X} is not E3")
            items = dict(tlv.iter_tlv(value))
            if 0x4F not in items or len(items.get(0x9F70, b"")) != 1:
                raise Es5FormatError("GET STATUS entry without 4F / 9F70")
            attributes = items.get(0x53)
            extra = {t: v for t, v in items.items() if t not in (0x4F, 0x9F70, 0x53)}
            entries.append(IsdpStatus(items[0x4F], items[0x9F70][0],
                                      attributes[0] if attributes else None, extra))
    except tlv.TlvError as exc:
        raise Es5FormatError(f"bad GET STATUS data: {exc}") from exc
    return entries


def parse_confirmation_response(data: bytes) -> list[bytes]:
    """HandleNotificationConfirmation response '80' L {'4F' L AID}* of ISD-Ps deleted by POL1."""
    if not data:
        return []
    try:
        value = tlv.unwrap(data, 0x80)
        return [v for t, v in tlv.iter_tlv(value) if t == 0x4F]
    except tlv.TlvError as exc:
        raise Es5FormatError(f"bad confirmation response: {exc}") from exc


def find_certificate(data: bytes) -> bytes:
    """The '7F21' certificate object inside a GET DATA answer, top level or in one wrapper ('BF30')."""
    try:
        for tag, value in tlv.iter_tlv(data):
            if tag == 0x7F21:
                return tlv.tlv(tag, value)
            first = tag >> 8 * ((tag.bit_length() - 1) // 8)
            if first & 0x20:  # constructed wrapper (e.g. 'BF30')
                inner = tlv.find(value, 0x7F21)
                if inner is not None:
                    return tlv.tlv(0x7F21, inner)
    except tlv.TlvError as exc:
        raise Es5FormatError(f"bad GET DATA answer: {exc}") from exc
    raise Es5FormatError("no 7F21 certificate in the GET DATA answer")
