"""SCP80 secured packets: ETSI TS 102 225 §5 (with the SMS dialect of 3GPP TS 31.115 §4/§6).

Card side only.  A Command Packet is parsed with strict length checks
(:func:`parse_command_packet`), then deciphered and verified by :meth:`Scp80.unwrap`
against the keys of a caller-owned :class:`KeyProvider` and the caller-owned replay
counter (:class:`CounterState`, an immutable value: the caller persists the returned new
value only when the packet was accepted).  :meth:`Scp80.response_packet` builds the
Response Packet (PoR, TS 102 225 §5.2) as SPI byte 2 asks.  Refusals are
:class:`Refused` values carrying the PoR status code of TS 102 225 §5.2 Table 5;
no exception escapes on malformed input.

Wire layout, SMS form (TS 31.115 §4.2; the UDH IEI '70' stands in for CPI)::

    CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3) | CNTR(5) PCNTR(1) RC/CC/DS secured-data padding
                                              '-- ciphered when SPI b3 is set (zero ICV)

The RC/CC/DS is computed over CPL..TAR || CNTR || PCNTR || secured data incl. padding (the
command UDH is not covered); the PoR checksum covers the PoR UDH '02 71 00' as well
(both verified against real-card vectors, tests/vectors: scp80_ts102225_sms).
"""
from __future__ import annotations

import binascii
import hmac
import zlib
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Protocol

from euicc.crypto.primitives import (aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, des_cbc_decrypt, des_cbc_encrypt,
                                     des_key_usable)

HEADER_LENGTH = 10  # CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3)
CHL_BASE = 13  # SPI KIc KID TAR CNTR PCNTR, TS 102 225 §5.1.1
CNTR_LENGTH = 5
RHL_BASE = 10  # TAR CNTR PCNTR status, TS 102 225 §5.2
COUNTER_MAX = (1 << 40) - 1
RESPONSE_UDH = b"\x02\x71\x00"  # TS 31.115 §6.2: UDHL, IEI '71' (RPI), IEDL 0


class PorStatus(IntEnum):
    """Response Packet status codes, TS 102 225 §5.2 Table 5 (0B/0C: TS 31.115 §7)."""

    POR_OK = 0x00
    RC_CC_DS_FAILED = 0x01
    CNTR_LOW = 0x02
    CNTR_HIGH = 0x03
    CNTR_BLOCKED = 0x04
    CIPHERING_ERROR = 0x05
    UNIDENTIFIED_SECURITY_ERROR = 0x06
    INSUFFICIENT_MEMORY = 0x07
    MORE_TIME = 0x08
    TAR_UNKNOWN = 0x09
    INSUFFICIENT_SECURITY_LEVEL = 0x0A
    RESPONSE_IN_SMS_SUBMIT = 0x0B
    RESPONSE_IN_USSD = 0x0C


class Checksum(IntEnum):
    """SPI b2-b1 (and SPI byte 2 b4-b3 for the PoR), TS 102 225 §5.1.1."""

    NONE = 0
    RC = 1
    CC = 2
    DS = 3


class CounterMode(IntEnum):
    """SPI byte 1 b5-b4, TS 102 225 §5.1.1."""

    NO_COUNTER = 0
    NO_REPLAY_CHECK = 1  # counter available, no replay check: information only, never stored
    HIGHER = 2  # process only if higher than the stored counter
    ONE_HIGHER = 3  # process only if exactly one higher


class PorMode(IntEnum):
    """SPI byte 2 b2-b1, TS 102 225 §5.1.1 (3 is RFU and treated as no PoR)."""

    NONE = 0
    ALWAYS = 1
    ON_ERROR = 2
    RFU = 3


class KeyType(IntEnum):
    """GP key type of a key set (GPC Card Spec v2.3 Table 11-16): the key set's algorithm family.

    A key set is made for one family (TS 102 225 §5.1.2/§5.1.3: the KIc/KID algorithm belongs to
    the keys); a header naming the other family is refused, never run (no downgrade).
    """

    DES = 0x80   # DES / 3DES: KIc/KID codes '1', '5', '9'
    AES = 0x88   # AES: code '2'


class KeyUsage(Enum):
    """Which key of a key set: KIc (ciphering) or KID (RC/CC/DS), TS 102 225 §5.1.2/§5.1.3."""

    KIC = "KIc"
    KID = "KID"


class Algorithm(IntEnum):
    """Algorithm codes of KIc / KID b4-b1, TS 102 225 §5.1.2 and §5.1.3.

    The same code means a cipher in KIc, a CBC-MAC / CMAC in KID for a CC, and a CRC in
    KID for an RC (§5.1.3.2: '1' CRC16, '5' CRC32).  '0' (implicit) resolves through
    :class:`Scp80Settings`; all other codes (DES-ECB, proprietary, RFU) are unsupported.
    """

    DES_CBC = 0x1
    TDES_2KEY = 0x5
    TDES_3KEY = 0x9
    AES = 0x2


class Crc(IntEnum):
    """KID b4-b1 when SPI asks for a Redundancy Check, TS 102 225 §5.1.3.2."""

    CRC16 = 0x1
    CRC32 = 0x5


_KEY_TYPES = {Algorithm.DES_CBC: KeyType.DES, Algorithm.TDES_2KEY: KeyType.DES,
              Algorithm.TDES_3KEY: KeyType.DES, Algorithm.AES: KeyType.AES}
_KEY_LENGTHS = {Algorithm.DES_CBC: (8,), Algorithm.TDES_2KEY: (16,), Algorithm.TDES_3KEY: (24,),
                Algorithm.AES: (16, 24, 32)}
_CRC_LENGTHS = {Crc.CRC16: 2, Crc.CRC32: 4}


@dataclass(frozen=True, slots=True)
class Spi:
    """The two SPI bytes, TS 102 225 §5.1.1 (RFU bits are ignored)."""

    first: int
    second: int

    @property
    def checksum(self) -> Checksum:
        return Checksum(self.first & 0x03)

    @property
    def ciphered(self) -> bool:
        return bool(self.first & 0x04)

    @property
    def counter_mode(self) -> CounterMode:
        return CounterMode((self.first >> 3) & 0x03)

    @property
    def por_mode(self) -> PorMode:
        return PorMode(self.second & 0x03)

    @property
    def por_checksum(self) -> Checksum:
        return Checksum((self.second >> 2) & 0x03)

    @property
    def por_ciphered(self) -> bool:
        return bool(self.second & 0x10)

    @property
    def por_via_submit(self) -> bool:
        """SPI byte 2 b6: PoR by SMS-SUBMIT instead of SMS-DELIVER-REPORT (TS 31.115 §4.2)."""
        return bool(self.second & 0x20)


@dataclass(frozen=True, slots=True)
class CounterState:
    """A key set's 5-byte replay counter (TS 102 225 §5.1.1 CNTR) as an immutable value."""

    value: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.value <= COUNTER_MAX:
            raise ValueError("counter out of range")

    @property
    def blocked(self) -> bool:
        """The counter reached its maximum: no further packet can be counted."""
        return self.value == COUNTER_MAX


class KeyProvider(Protocol):
    """Key storage owned by the caller, keyed by (KVN, usage); None when absent.

    ``key_type`` is the GP key type of key set ``kvn`` (:class:`KeyType` values), None when absent.
    """

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None: ...

    def key_type(self, kvn: int) -> int | None: ...


MSL_MINIMUM_SPI1 = 0x01  # MSL parameter '01': Minimum SPI1 (TS 102 226 §8.2.1.3.2.2)


@dataclass(frozen=True, slots=True)
class MinimumSecurityLevel:
    """The Minimum Security Level field of a receiving entity, TS 102 226 §8.2.1.3.2.2.

    Empty: no check.  Otherwise MSL parameter || MSL data; parameter '01' (Minimum SPI1) carries
    one byte coded as SPI byte 1 (TS 102 225 §5.1.1), and a Command Packet satisfies it when each
    field of its SPI1 is at least the MSL's: ciphering (b3) set if required, RC/CC/DS (b2-b1:
    none < RC < CC < DS) and counter management (b5-b4: no counter < counter available, no
    check < higher < one higher) not lower.  Any other parameter is RFU: nothing satisfies it.
    Checked before any other security processing; failure is PoR '0A'.
    """

    coding: bytes = b""

    @classmethod
    def spi1(cls, minimum: int) -> MinimumSecurityLevel:
        return cls(bytes([MSL_MINIMUM_SPI1, minimum]))

    def satisfied_by(self, spi: Spi) -> bool:
        if not self.coding:
            return True
        if self.coding[0] != MSL_MINIMUM_SPI1 or len(self.coding) != 2:
            return False
        minimum = Spi(self.coding[1], 0)
        return (spi.ciphered or not minimum.ciphered) and spi.checksum >= minimum.checksum \
            and spi.counter_mode >= minimum.counter_mode


# CC + ciphering + counter higher (SPI1 '16'): the SGP.02 §2.4 minimum of the ISD-R and ISD-Ps
MSL_CC_CIPHER_COUNTER_HIGHER = MinimumSecurityLevel.spi1(0x16)


@dataclass(frozen=True, slots=True)
class Scp80Settings:
    """Emulator choices where TS 102 225 leaves room or real cards differ.

    - ``implicit_cipher`` / ``implicit_cc`` / ``implicit_rc``: algorithm agreed "implicitly"
      (code '0' in KIc/KID); None means code '0' is refused.
    - ``unsecured_statuses``: PoR statuses sent without ciphering and RC/CC/DS whatever
      SPI byte 2 asks, because the command could not be authenticated [R: TS 102 225 §5.2;
      default RC/CC/DS failed, ciphering error, unidentified security error, TAR unknown,
      insufficient security level].
    - ``replay_status``: status for a counter that is not higher (02 per TS 102 225; a real
      card answered 06, pySim docs/smpp-ota-tool.rst).
    - ``max_packet_length``: longer Command Packets are refused with 07 (insufficient memory).

    The receiving entity's minimum security level is :attr:`Scp80.minimum`, not a setting.
    """

    implicit_cipher: Algorithm | None = None
    implicit_cc: Algorithm | None = None
    implicit_rc: Crc | None = None
    unsecured_statuses: frozenset[int] = frozenset({0x01, 0x05, 0x06, 0x09, 0x0A})
    replay_status: PorStatus = PorStatus.CNTR_LOW
    max_packet_length: int = 4096


@dataclass(frozen=True, slots=True)
class CommandPacket:
    """A Command Packet whose lengths are consistent; nothing is verified yet."""

    header: bytes  # CPL..TAR, the first 10 bytes (checksum input)
    spi: Spi
    kic: int
    kid: int
    tar: bytes
    checksum_length: int
    body: bytes  # everything after TAR (possibly ciphered)

    @property
    def kic_kvn(self) -> int:
        return self.kic >> 4

    @property
    def kid_kvn(self) -> int:
        return self.kid >> 4

    @property
    def key_set(self) -> int:
        """KVN whose counter applies: KID's when a checksum is used, else KIc's."""
        return self.kid_kvn if self.spi.checksum != Checksum.NONE else self.kic_kvn


@dataclass(frozen=True, slots=True)
class PorRequest:
    """What the Response Packet of a command needs (TS 102 225 §5.2)."""

    spi: Spi
    kic: int
    kid: int
    tar: bytes
    cntr: bytes = bytes(CNTR_LENGTH)
    cc_length: int = 8

    def wanted(self, status: int) -> bool:
        """SPI byte 2 b2-b1: PoR always, or only on error."""
        mode = self.spi.por_mode
        return mode == PorMode.ALWAYS or (mode == PorMode.ON_ERROR and status != PorStatus.POR_OK)


@dataclass(frozen=True, slots=True)
class Accepted:
    """An authenticated command: its plain secured data and the counter to persist."""

    por: PorRequest
    secured_data: bytes
    counter: CounterState


@dataclass(frozen=True, slots=True)
class Refused:
    """A refused packet: PoR status, reason, and the PoR context if the header was readable."""

    status: PorStatus
    reason: str
    por: PorRequest | None = None


def parse_command_packet(data: bytes, settings: Scp80Settings = Scp80Settings()) -> CommandPacket | Refused:
    """Split a Command Packet (TS 102 225 §5.1.1, SMS form of TS 31.115 §4.2) with strict lengths.

    CPL must equal the bytes after it and CHL must be 13 plus the RC/CC/DS length, which is
    2 (CRC16) or 4 (CRC32) for an RC, 8 for a DES CC and 4 or 8 for an AES CMAC.
    """
    if len(data) < HEADER_LENGTH:
        return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, "shorter than the packet header")
    header = bytes(data[:HEADER_LENGTH])
    spi = Spi(header[3], header[4])
    por = PorRequest(spi, header[5], header[6], header[7:10])
    if len(data) > settings.max_packet_length:
        return Refused(PorStatus.INSUFFICIENT_MEMORY, "packet longer than the card accepts", por)
    cpl, chl = int.from_bytes(header[:2], "big"), header[2]
    if cpl != len(data) - 2:
        return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"CPL {cpl} but {len(data) - 2} bytes follow", por)
    checksum_length = chl - CHL_BASE
    if checksum_length < 0 or cpl < 1 + chl:
        return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"CHL {chl} inconsistent", por)
    allowed = _checksum_lengths(spi.checksum, header[6] & 0x0F, settings)
    if allowed is None:
        return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, "RC/CC/DS algorithm not supported", por)
    if checksum_length not in allowed:
        return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"CHL {chl} does not fit the RC/CC/DS", por)
    return CommandPacket(header, spi, header[5], header[6], header[7:10], checksum_length,
                         bytes(data[HEADER_LENGTH:]))


def _checksum_lengths(kind: Checksum, code: int, settings: Scp80Settings) -> tuple[int, ...] | None:
    """RC/CC/DS lengths allowed for SPI b2-b1 and the KID algorithm code, TS 102 225 §5.1.3."""
    if kind == Checksum.NONE:
        return (0,)
    if kind == Checksum.RC:
        crc = _resolve_crc(code, settings.implicit_rc)
        return None if crc is None else (_CRC_LENGTHS[crc],)
    if kind == Checksum.CC:
        algorithm = _resolve(code, settings.implicit_cc)
        return None if algorithm is None else (4, 8) if algorithm == Algorithm.AES else (8,)
    return None  # DS is not supported


def _resolve(code: int, implicit: Algorithm | None) -> Algorithm | None:
    if code == 0:
        return implicit
    return Algorithm(code) if code in Algorithm._value2member_map_ else None


def _resolve_crc(code: int, implicit: Crc | None) -> Crc | None:
    if code == 0:
        return implicit
    return Crc(code) if code in Crc._value2member_map_ else None


@dataclass(frozen=True, slots=True)
class _Keys:
    cipher: tuple[Algorithm, bytes] | None
    check: tuple[Algorithm | Crc, bytes] | None


@dataclass(frozen=True)
class Scp80:
    """Unwraps Command Packets and builds Response Packets for one receiving entity, whose
    Minimum Security Level is ``minimum`` (TS 102 226 §8.2.1.3.2.2)."""

    keys: KeyProvider
    settings: Scp80Settings = field(default_factory=Scp80Settings)
    minimum: MinimumSecurityLevel = field(default_factory=MinimumSecurityLevel)

    def unwrap(self, packet: CommandPacket, counter: CounterState) -> Accepted | Refused:
        """Decipher, verify RC/CC and the counter (TS 102 225 §5.1.1-§5.1.3), in that order.

        ``counter`` is the stored counter of the key set ``packet.key_set``; on acceptance
        ``Accepted.counter`` is the value to persist (unchanged unless the counter was checked).  The keys
        the PoR will need (SPI byte 2) must be usable too, so that an accepted command can
        always be answered as asked.
        """
        spi = packet.spi
        cc_length = packet.checksum_length if spi.checksum == Checksum.CC else 8
        por = PorRequest(spi, packet.kic, packet.kid, packet.tar, cc_length=cc_length)
        if not self.minimum.satisfied_by(spi):
            return Refused(PorStatus.INSUFFICIENT_SECURITY_LEVEL, "below the minimum security level", por)
        keys = self._keys(packet.kic, packet.kid, spi.ciphered, spi.checksum)
        if isinstance(keys, _Keys):
            por_keys = self._keys(packet.kic, packet.kid, spi.por_ciphered, spi.por_checksum)
            keys = por_keys if isinstance(por_keys, Refused) else keys
        if isinstance(keys, Refused):
            return Refused(keys.status, keys.reason, por)
        body = packet.body
        if keys.cipher is not None:
            plain = _decipher(*keys.cipher, body)
            if plain is None:
                return Refused(PorStatus.CIPHERING_ERROR, "ciphered part is not a whole number of blocks", por)
            body = plain
        if len(body) < CNTR_LENGTH + 1 + packet.checksum_length:
            return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, "secured part too short", por)
        cntr, pcntr = body[:CNTR_LENGTH], body[CNTR_LENGTH]
        received = body[CNTR_LENGTH + 1:CNTR_LENGTH + 1 + packet.checksum_length]
        data = body[CNTR_LENGTH + 1 + packet.checksum_length:]
        if keys.check is not None:
            expected = _checksum(*keys.check, packet.header + cntr + bytes([pcntr]) + data,
                                 packet.checksum_length)
            if not hmac.compare_digest(expected, received):
                return Refused(PorStatus.RC_CC_DS_FAILED, "RC/CC mismatch", por)
        por = PorRequest(spi, packet.kic, packet.kid, packet.tar, cntr, cc_length)
        if pcntr > len(data):
            status = PorStatus.CIPHERING_ERROR if spi.ciphered else PorStatus.UNIDENTIFIED_SECURITY_ERROR
            return Refused(status, "padding counter larger than the data", por)
        checked = self._check_counter(spi.counter_mode, counter, int.from_bytes(cntr, "big"))
        if isinstance(checked, Refused):
            return Refused(checked.status, checked.reason, por)
        return Accepted(por, data[:len(data) - pcntr], checked)

    def refuse(self, packet: CommandPacket, status: PorStatus, reason: str) -> Refused:
        """A refusal decided by the caller before unwrapping (e.g. 09 TAR unknown)."""
        return Refused(status, reason, PorRequest(packet.spi, packet.kic, packet.kid, packet.tar))

    def response_packet(self, request: PorRequest, status: int, data: bytes = b"",
                        prefix: bytes = RESPONSE_UDH) -> bytes | None:
        """The Response Packet, TS 102 225 §5.2 / TS 31.115 §6.2, or None if SPI2 wants none.

        Returns ``prefix`` (the SMS UDH '02 71 00', covered by the checksum) followed by
        RPL RHL TAR CNTR PCNTR status [RC/CC] data [padding]; ciphered from CNTR on when
        SPI byte 2 b5 asks; unsecured for ``settings.unsecured_statuses`` (and, defensively,
        if the keys vanished since :meth:`unwrap`).
        """
        if not request.wanted(status):
            return None
        spi = request.spi
        keys: _Keys | Refused = _Keys(None, None)
        if status not in self.settings.unsecured_statuses:
            keys = self._keys(request.kic, request.kid, spi.por_ciphered, spi.por_checksum)
        if isinstance(keys, Refused):
            keys = _Keys(None, None)
        length = 0
        if keys.check is not None:
            algorithm = keys.check[0]
            length = _CRC_LENGTHS[algorithm] if isinstance(algorithm, Crc) else \
                request.cc_length if algorithm == Algorithm.AES else 8
        padding = 0
        if keys.cipher is not None:
            padding = -(CNTR_LENGTH + 2 + length + len(data)) % _block_size(keys.cipher[0])
        rpl = 1 + 3 + CNTR_LENGTH + 2 + length + len(data) + padding
        head = rpl.to_bytes(2, "big") + bytes([RHL_BASE + length]) + request.tar
        fields = request.cntr + bytes([padding, status])
        tail = data + bytes(padding)
        checksum = b""
        if keys.check is not None:
            checksum = _checksum(*keys.check, prefix + head + fields + tail, length)
        secured = fields + checksum + tail
        if keys.cipher is not None:
            secured = _encipher(*keys.cipher, secured)
        return prefix + head + secured

    def _keys(self, kic: int, kid: int, cipher: bool, kind: Checksum) -> _Keys | Refused:
        """Resolve algorithms (KIc/KID b4-b1) and keys (b8-b5 = KVN) for one direction."""
        cipher_key: tuple[Algorithm, bytes] | None = None
        check_key: tuple[Algorithm | Crc, bytes] | None = None
        if cipher:
            algorithm = _resolve(kic & 0x0F, self.settings.implicit_cipher)
            if algorithm is None:
                return Refused(PorStatus.CIPHERING_ERROR, f"KIc algorithm {kic & 0x0F:X} not supported")
            if not self._of_key_set(kic >> 4, algorithm):
                return Refused(PorStatus.CIPHERING_ERROR, f"KIc algorithm {kic & 0x0F:X} is not key set {kic >> 4}'s")
            key = self._key(kic >> 4, KeyUsage.KIC, algorithm)
            if key is None:
                return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"no usable KIc in key set {kic >> 4}")
            cipher_key = (algorithm, key)
        if kind == Checksum.DS:
            return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, "digital signatures not supported")
        if kind == Checksum.RC:
            crc = _resolve_crc(kid & 0x0F, self.settings.implicit_rc)
            if crc is None:
                return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"RC algorithm {kid & 0x0F:X} not supported")
            check_key = (crc, b"")
        if kind == Checksum.CC:
            algorithm = _resolve(kid & 0x0F, self.settings.implicit_cc)
            if algorithm is None:
                return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"CC algorithm {kid & 0x0F:X} not supported")
            if not self._of_key_set(kid >> 4, algorithm):
                return Refused(PorStatus.RC_CC_DS_FAILED, f"KID algorithm {kid & 0x0F:X} is not key set {kid >> 4}'s")
            key = self._key(kid >> 4, KeyUsage.KID, algorithm)
            if key is None:
                return Refused(PorStatus.UNIDENTIFIED_SECURITY_ERROR, f"no usable KID in key set {kid >> 4}")
            check_key = (algorithm, key)
        return _Keys(cipher_key, check_key)

    def _of_key_set(self, kvn: int, algorithm: Algorithm) -> bool:
        """Whether ``algorithm`` is of key set ``kvn``'s family (an absent key set is refused later
        as 'no usable key').  A mismatch is a downgrade attempt: TS 102 225 §5.2 gives no status of
        its own, so it is the status of the check that cannot pass with this key set: '05'
        ciphering error for KIc (§5.1.2), '01' RC/CC/DS failed for KID (§5.1.3)."""
        key_type = self.keys.key_type(kvn)
        return key_type is None or key_type == _KEY_TYPES[algorithm]

    def _key(self, kvn: int, usage: KeyUsage, algorithm: Algorithm) -> bytes | None:
        key = self.keys.key(kvn, usage)
        if key is None or len(key) not in _KEY_LENGTHS[algorithm]:
            return None
        if algorithm != Algorithm.AES and not des_key_usable(key):
            return None         # a 3DES key that degenerates to single DES
        return bytes(key)

    def _check_counter(self, mode: CounterMode, stored: CounterState, received: int) -> CounterState | Refused:
        """SPI b5-b4 counter handling, TS 102 225 §5.1.1 (values as ONO and pySim read them).

        Only the checked modes ('10' higher, '11' one higher) store the received counter, which
        is then higher: the stored counter never goes down.  With '00' (no counter) and '01'
        (counter available, no replay or sequence checking: the value is for information, e.g.
        a time stamp) the stored counter is left as it is, so a packet with a low CNTR cannot
        reopen older captured packets.
        """
        if mode in (CounterMode.NO_COUNTER, CounterMode.NO_REPLAY_CHECK):
            return stored  # the received value is information only: it never sets the stored one
        if stored.blocked:
            return Refused(PorStatus.CNTR_BLOCKED, "counter blocked at its maximum")
        if received <= stored.value:
            return Refused(self.settings.replay_status, "counter not higher than stored")
        if mode == CounterMode.ONE_HIGHER and received != stored.value + 1:
            return Refused(PorStatus.CNTR_HIGH, "counter more than one higher")
        return CounterState(received)


def _block_size(algorithm: Algorithm) -> int:
    return 16 if algorithm == Algorithm.AES else 8


def _decipher(algorithm: Algorithm, key: bytes, data: bytes) -> bytes | None:
    """CBC with a zero ICV (TS 102 225 §5.1.2); 3DES is outer-CBC EDE."""
    if not data or len(data) % _block_size(algorithm):
        return None
    return aes_cbc_decrypt(key, data) if algorithm == Algorithm.AES else des_cbc_decrypt(key, data)


def _encipher(algorithm: Algorithm, key: bytes, data: bytes) -> bytes:
    return aes_cbc_encrypt(key, data) if algorithm == Algorithm.AES else des_cbc_encrypt(key, data)


def _checksum(algorithm: Algorithm | Crc, key: bytes, data: bytes, length: int) -> bytes:
    """RC (§5.1.3.2: CRC16 / CRC32 of ISO/IEC 13239, sent big-endian [R]) or CC (§5.1.3.1).

    DES CC: last block of the CBC encryption (zero ICV) of data zero-padded to 8 bytes;
    AES CC: AES-CMAC (NIST SP 800-38B) truncated to its leftmost ``length`` bytes.
    """
    if isinstance(algorithm, Crc) and algorithm == Crc.CRC16:
        return crc16_x25(data).to_bytes(2, "big")
    if isinstance(algorithm, Crc):
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == Algorithm.AES:
        return aes_cmac(key, data)[:length]
    padded = data + bytes(-len(data) % 8)
    return _encipher(algorithm, key, padded)[-8:]


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc16_x25(data: bytes) -> int:
    """CRC-16 of ISO/IEC 13239 (poly 1021 reflected, init FFFF, final XOR FFFF; 'X-25').

    The standard library only offers the unreflected CRC-CCITT (``binascii.crc_hqx``), so
    the reflected variant is obtained by reflecting the input bytes and the 16-bit result.
    """
    register = binascii.crc_hqx(data.translate(_BIT_REVERSED), 0xFFFF)
    reflected = int(f"{register:016b}"[::-1], 2)
    return reflected ^ 0xFFFF
