"""Fuzz targets for the card's pure parsers: APDU, BER-TLV, SCP80, SMS/ENVELOPE, certificates,
SAIP, BSP.  Each accepts the documented exception of its parser and checks what it returned
against an independent statement of the spec (an encoder written here, the host OTA builder,
pyca/cryptography's issuer check) — never against the card's own code.
"""
from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.crypto import bsp, certificates, scp80
from euicc.ota import envelope, sms
from euicc.ota.errors import OtaFormatError
from euicc.profiles import saip_codec
from tools.fuzz.card_targets import split_chunks
from tools.fuzz.invariants import InvariantViolation
from tools.ota import packet as host

DATA_DIR = Path(__file__).parent / "data"

# Public test keys (ETSI TS 102 225 vectors transcribed in the reference test_vectors.json).
SCP80_KEYSETS = {
    2: host.OtaKeyset(2, host.AES, bytes.fromhex("200102030405060708090a0b0c0d0e0f"),
                      host.AES, bytes.fromhex("201102030405060708090a0b0c0d0e0f")),
    3: host.OtaKeyset(3, host.TDES2, bytes.fromhex("300102030405060708090a0b0c0d0e0f"),
                      host.TDES2, bytes.fromhex("301102030405060708090a0b0c0d0e0f")),
}
STORED_COUNTER = 5
# SGP.22 BSP vector keys (test_vectors.json sgp22_bsp_scp03t.session_blocks.keys)
BSP_KEYS = bsp.BspKeys(bytes.fromhex("406d507b448a699e7a36a38494debbde"),
                       bytes.fromhex("472f5bfadd97f21d34f3ce9b51b92751"),
                       bytes.fromhex("9ec07f5b36a13e12a991d66e294e6242"))


def encode_apdu(c: Command) -> bytes:
    """ISO/IEC 7816-4 §5.1 encoding of a parsed command (written independently of the parser)."""
    head = bytes((c.cla, c.ins, c.p1, c.p2))
    if c.extended:
        lc = b"\x00" + len(c.data).to_bytes(2, "big") + c.data if c.data else b""
        le = b"" if c.ne is None else (c.ne % 65536).to_bytes(2, "big")
        return head + (lc or (b"\x00" if le else b"")) + le
    lc = bytes((len(c.data),)) + c.data if c.data else b""
    return head + lc + (b"" if c.ne is None else bytes((c.ne % 256,)))


def apdu_target(data: bytes) -> None:
    """Command.parse: a Command that re-encodes to the input, or SwError 6700/6D00/6E00."""
    data = bytes(data)
    try:
        cmd = Command.parse(data)
    except SwError as e:
        if e.sw not in (SW.WRONG_LENGTH, SW.INS_NOT_SUPPORTED, SW.CLA_NOT_SUPPORTED):
            raise InvariantViolation(f"{data.hex()}: parse error SW {e.sw:04X}") from None
        return
    if encode_apdu(cmd) != data:
        raise InvariantViolation(f"{data.hex()}: parsed as {cmd} which encodes differently")
    if not 0 <= cmd.channel <= 19 or cmd.case not in (1, 2, 3, 4):
        raise InvariantViolation(f"{data.hex()}: channel {cmd.channel} case {cmd.case}")


def tlv_target(data: bytes) -> None:
    """euicc.tlv (ISO 7816-4 §5.2), lax and with DER lengths (TS 101 220 §7.1.1): TlvError only."""
    data = bytes(data)
    for padding in (False, True):
        try:
            items = tlv.parse(data, skip_padding=padding)
        except tlv.TlvError:
            continue
        if sum(len(v) for _, v in items) > len(data):
            raise InvariantViolation(f"{data.hex()}: values longer than the input")
        for tag, value in items:
            if tlv.parse(tlv.tlv(tag, value)) != [(tag, value)]:
                raise InvariantViolation(f"tag {tag:X}: encode/parse round trip differs")
    try:
        tlv.unwrap(data, data[0] if data else 0)
    except tlv.TlvError:
        pass
    try:
        items = tlv.parse(data, der=True)
    except tlv.TlvError:
        return
    if b"".join(tlv.tlv(t, v) for t, v in items) != data:
        raise InvariantViolation(f"{data.hex()}: shortest-form TLVs do not re-encode")


class _Keys:
    def key(self, kvn: int, usage: scp80.KeyUsage) -> bytes | None:
        ks = SCP80_KEYSETS.get(kvn)
        if ks is None:
            return None
        return ks.kic if usage == scp80.KeyUsage.KIC else ks.kid

    def key_type(self, kvn: int) -> int | None:
        ks = SCP80_KEYSETS.get(kvn)
        if ks is None:
            return None
        return scp80.KeyType.AES if ks.kic_algorithm == host.AES else scp80.KeyType.DES


class Scp80Target:
    """TS 102 225 §5: any Command Packet -> Accepted/Refused; an accepted one's PoR verifies on the host."""

    card = scp80.Scp80(_Keys())

    def __call__(self, data: bytes) -> None:
        self.check(bytes(data))

    def check(self, data: bytes) -> scp80.Accepted | scp80.Refused:
        parsed = scp80.parse_command_packet(data)
        if isinstance(parsed, scp80.Refused):
            return parsed
        result = self.card.unwrap(parsed, scp80.CounterState(STORED_COUNTER))
        if isinstance(result, scp80.Refused):
            if result.por is not None:
                self.card.response_packet(result.por, result.status)
            return result
        por = self.card.response_packet(result.por, scp80.PorStatus.POR_OK, b"\x01\x90\x00")
        keyset = _host_keyset(parsed)
        if por is not None and keyset is not None:
            spi = bytes((parsed.spi.first, parsed.spi.second))
            decoded = host.decode_response_packet(keyset, spi, por, result.por.cc_length)
            if decoded.checksum_valid is False or decoded.status != 0 or decoded.data != b"\x01\x90\x00":
                raise InvariantViolation(f"{data.hex()}: the host cannot verify the PoR {por.hex()}")
        return result


def _host_keyset(packet: scp80.CommandPacket) -> host.OtaKeyset | None:
    """The host's view of the packet's keys when KIc and KID name one key set explicitly."""
    known = SCP80_KEYSETS.get(packet.kic_kvn)
    kic_alg, kid_alg = packet.kic & 0x0F, packet.kid & 0x0F
    if known is None or packet.kid_kvn != packet.kic_kvn or 0 in (kic_alg, kid_alg):
        return None
    return host.OtaKeyset(known.kvn, kic_alg, known.kic, kid_alg, known.kid)


class Scp80WrappedTarget:
    """Differential: the host builder (tools.ota.packet) wraps the input; the card must accept it.

    Input: SPI (2) | key set selector (1) | payload.  The counter is always one higher than the
    stored one, so every SPI without a digital signature (the host builds none) whose command
    and PoR checksums fit the one KID algorithm is acceptable and must give the payload
    back unchanged.
    """

    card = Scp80Target()

    def __call__(self, data: bytes) -> None:
        data = bytes(data)
        if len(data) < 3:
            return
        spi, keyset = data[:2], SCP80_KEYSETS[2 + (data[2] & 1)]
        kinds = {spi[0] & 0x03, spi[1] >> 2 & 0x03} - {0}
        if 3 in kinds or len(kinds) > 1:  # no host DS; one KID byte names either a CRC or a MAC
            return
        if 1 in kinds:  # RC: KID b4-b1 names the CRC (TS 102 225 §5.1.3.2)
            keyset = replace(keyset, kid_algorithm=host.CRC32 if data[2] & 2 else host.CRC16)
        payload = data[3:200]
        command = host.build_command_packet(keyset, spi, b"\xb0\x00\x10", payload,
                                            counter=STORED_COUNTER + 1)
        result = self.card.check(command)
        if not isinstance(result, scp80.Accepted):
            raise InvariantViolation(f"SPI {spi.hex()}: host-built packet refused: {result.reason}")
        if result.secured_data != payload:
            raise InvariantViolation(f"SPI {spi.hex()}: payload {result.secured_data.hex()} != {payload.hex()}")


def envelope_target(data: bytes) -> None:
    """TS 102 223 §7.1.1 ENVELOPE -> TS 23.040 SMS-DELIVER -> TS 31.115 command packet."""
    try:
        download = envelope.parse_sms_pp_download(bytes(data))
        deliver = sms.SmsDeliver.parse(download.tpdu)
    except OtaFormatError as e:
        if e.sw != SW.INCORRECT_DATA:
            raise InvariantViolation(f"OtaFormatError with SW {e.sw:04X}") from None
        return
    if deliver.udhi and any(ie.iei == sms.IEI_COMMAND_PACKET for ie in deliver.header):
        Scp80Target().check(deliver.payload)


def sms_concat_target(data: bytes) -> None:
    """TS 23.040 §9.2.3.24.1 reassembly of several SMS-DELIVER TPDUs in a bounded buffer."""
    buffer = sms.Reassembler()
    for tpdu in split_chunks(bytes(data))[:64]:
        try:
            complete = buffer.add(sms.SmsDeliver.parse(tpdu))
        except OtaFormatError:
            continue
        if buffer.pending > buffer.max_messages:
            raise InvariantViolation(f"{buffer.pending} pending messages exceed the bound")
        if complete is not None and len(complete.payload) > buffer.max_segments * sms.MAX_USER_DATA:
            raise InvariantViolation("reassembled message longer than its segments")


class CertificateTarget:
    """SGP.22 §4.5.2.2 chain verification.  Input: mode byte, then DER (mode 2: two chunks).

    An accepted chain must link to a trusted CI by pyca/cryptography's own issuer check.
    """

    @cached_property
    def cis(self) -> list[x509.Certificate]:
        return [x509.load_der_x509_certificate(p.read_bytes()) for p in sorted(DATA_DIR.glob("ci/*.der"))]

    @cached_property
    def verifier(self) -> certificates.CertificateVerifier:
        return certificates.CertificateVerifier.from_cis(
            certificates.TrustedCi.from_certificate(c.public_bytes(Encoding.DER)) for c in self.cis)

    def __call__(self, data: bytes) -> None:
        data = bytes(data)
        if not data:
            return
        mode, body = data[0] % 3, data[1:]
        try:
            if mode == 2:
                parts = split_chunks(body) + [b"", b""]
                verified, _ = self.verifier.verify_euicc_chain(parts[0], parts[1])
                chain = [verified.certificate, x509.load_der_x509_certificate(parts[1])]
            else:
                roles = certificates.SERVER_AUTH_ROLES if mode == 0 else (certificates.Role.DP_PB,)
                verified = self.verifier.verify_chain(body, roles)
                chain = [verified.certificate]
        except certificates.CertificateRejected:
            return
        for cert, issuer in zip(chain, chain[1:]):
            if not _issued_by(cert, issuer):
                raise InvariantViolation(f"accepted {cert.subject} not issued by {issuer.subject}")
        top = chain[-1]
        if not any(_issued_by(top, ci) for ci in self.cis):
            raise InvariantViolation(f"accepted a chain that no trusted CI issued: {top.subject}")


def _issued_by(cert: x509.Certificate, ci: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ci)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def saip_target(data: bytes) -> None:
    """TCA SAIP v3.3.1 UPP decoding: SaipDecodeError only; accepted input re-encodes identically."""
    data = bytes(data)
    try:
        elements = saip_codec.decode_upp(data)
    except saip_codec.SaipDecodeError:
        return
    if saip_codec.encode_upp(elements) != data:
        raise InvariantViolation("decoded UPP does not re-encode to the same bytes")


def bsp_target(data: bytes) -> None:
    """SGP.22 §2.6.4 BSP: blocks (see split_chunks) unwrapped in order; BspError only."""
    session = bsp.BspSession(BSP_KEYS)
    for block in split_chunks(bytes(data))[:32]:
        was_closed = session.closed
        try:
            plain = session.unwrap(block)
            if plain[:2] == bsp.TAG_REPLACE_SESSION_KEYS:
                session.replace_session_keys(bsp.BspKeys.from_replace_session_keys(plain))
        except bsp.BspError:
            continue
        if was_closed:
            raise InvariantViolation("a closed BSP session unwrapped a block")


def metadata_v3_target(data: bytes) -> None:
    """SGP.22 v3.1 StoreMetadata checks (euicc.rsp.metadata): a decoded value or MetadataRefused."""
    from euicc.rsp import metadata
    try:
        meta = metadata.check_v3(data)
    except metadata.MetadataRefused:
        return
    if not isinstance(meta, dict) or "iccid" not in meta:
        raise InvariantViolation("check_v3 accepted metadata without an ICCID")


DC_EUICC_SCALAR, DC_SMDP_SCALAR = 0x5EC0DE, 0xD9C0DE
DC_EID = bytes.fromhex("89049032123451234512345678901235")


def device_change_data_target(data: bytes) -> None:
    """SGP.22 v3.1 EncryptedDeviceChangeData deciphered by the card (euicc.rsp.device_change_encryption)
    with a fixed otSK.EUICC.KAeac: a DeviceChangeData or DecryptionRefused, nothing else."""
    from euicc.apdu import SwError
    from euicc.crypto.ecka import Curve, EckaKeyPair
    from euicc.rsp import der, device_change_encryption
    try:
        encrypted = der.decode("EncryptedDeviceChangeData", data, v3=True)
    except SwError:
        return
    key = EckaKeyPair.from_private_value(Curve.NIST_P256, DC_EUICC_SCALAR.to_bytes(32, "big"))
    try:
        change = device_change_encryption.decrypt(key, DC_EID, encrypted)
    except device_change_encryption.DecryptionRefused as exc:
        if exc.code not in (device_change_encryption.UNSUPPORTED_CRT_VALUES, device_change_encryption.INVALID_DATA):
            raise InvariantViolation(f"decrypt refused with {exc.code}") from None
        return
    if not isinstance(change, dict) or "iccid" not in change or "activationCodeForDc" not in change:
        raise InvariantViolation("decrypt returned something that is not a DeviceChangeData")
