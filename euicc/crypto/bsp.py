"""Bound Profile Package protection ("BSP", SCP03t), eUICC side.

GSMA SGP.22 v2.5 §2.6.4 (BSP) with the key agreement of §2.6.4 / Annex G:

* session keys: ANSI X9.63 KDF (SHA-256) over the ECKA shared secret with
  SharedInfo = keyType || keyLength || L(hostId) || hostId || L(EID) || EID, 48 bytes of output =
  initial MAC chaining value (16) || S-ENC (16) || S-MAC (16) (:meth:`BspKeys.derive`);
* each BPP block is one TLV ``86``/``87``/``88`` whose value ends with an 8-byte MAC:
  MAC = AES-CMAC(S-MAC, MCV || tag || length || data)[:8] and the MCV becomes the full CMAC;
  ``86``/``87`` data is AES-CBC ciphered (ICV = AES(S-ENC, block counter as 16 bytes),
  '80 00..' padding), ``88`` is MAC-only; the block counter starts at 1 and counts *every*
  block, MAC-only ones included;
* ReplaceSessionKeys (``BF26``, §5.5.4) installs PPK-ENC / PPK-MAC / initial MCV for the ``86``
  blocks that follow, with the block counter starting again at 1.

Blocks must follow the BoundProfilePackage order (RSPDefinitions ``BoundProfilePackage``):
firstSequenceOf87, sequenceOf88, optional secondSequenceOf87, sequenceOf86.  Every failure is a
:class:`BspError` whose ``reason`` is the SGP.22 ``ErrorReason`` the ISD-R reports in the
ProfileInstallationResult; after one the session is closed.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import IntEnum

from euicc.crypto.kdf import x963_kdf
from euicc.crypto.primitives import PaddingError, aes_cmac
from euicc.crypto.scp03 import MAC_LENGTH, cbc_decrypt, counter_icv
from euicc.tlv import TlvError, encode_length, read_length

KEY_TYPE_AES = 0x88  # SGP.22 §2.6.4 / GP CS Table 11-16: AES
KEY_LENGTH_AES128 = 0x10
TAG_REPLACE_SESSION_KEYS = b"\xbf\x26"


class ErrorReason(IntEnum):
    """SGP.22 RSPDefinitions ``ErrorReason`` values this module can give."""

    UNSUPPORTED_CRT_VALUES = 4  # unsupportedCrtValues
    SCP03T_STRUCTURE_ERROR = 7  # scp03tStructureError
    SCP03T_SECURITY_ERROR = 8  # scp03tSecurityError


class BspError(Exception):
    """A BSP failure; ``reason`` is the SGP.22 ErrorReason to report."""

    reason: ErrorReason = ErrorReason.SCP03T_STRUCTURE_ERROR


class BspStructureError(BspError):
    """Malformed TLV, wrong block order, bad padding, bad ReplaceSessionKeys (scp03tStructureError)."""

    reason = ErrorReason.SCP03T_STRUCTURE_ERROR


class BspSecurityError(BspError):
    """MAC verification failed (scp03tSecurityError)."""

    reason = ErrorReason.SCP03T_SECURITY_ERROR


class UnsupportedCrtError(BspError):
    """keyType / keyLength of the CRT not supported (unsupportedCrtValues)."""

    reason = ErrorReason.UNSUPPORTED_CRT_VALUES


class BlockTag(IntEnum):
    """SGP.22 §2.6.4, RSPDefinitions ``BoundProfilePackage``: the three kinds of protected blocks."""

    PROFILE_ELEMENTS = 0x86  # sequenceOf86, ciphered + MAC
    CIPHERED_COMMAND = 0x87  # ConfigureISDP / ReplaceSessionKeys, ciphered + MAC
    MAC_ONLY_COMMAND = 0x88  # StoreMetadata, MAC only


def _read_length(data: bytes, offset: int) -> tuple[int, int]:
    """Parse a definite BER length at ``offset``; returns (length, offset of the value)."""
    try:
        return read_length(data, offset)
    except TlvError as exc:
        raise BspStructureError(f"length field: {exc}") from None


def shared_info(key_type: int, key_length: int, host_id: bytes, eid: bytes) -> bytes:
    """SGP.22 §2.6.4 / Annex G: SharedInfo for the X9.63 KDF."""
    return (
        bytes((key_type, key_length))
        + encode_length(len(host_id))
        + host_id
        + encode_length(len(eid))
        + eid
    )


@dataclass(frozen=True)
class BspKeys:
    """Initial MAC chaining value, S-ENC and S-MAC of one BSP key set (all AES-128)."""

    initial_mcv: bytes
    s_enc: bytes
    s_mac: bytes

    @classmethod
    def derive(
        cls, shared_secret: bytes, key_type: int, key_length: int, host_id: bytes, eid: bytes
    ) -> "BspKeys":
        """SGP.22 §2.6.4 / Annex G: keys from the ECKA shared secret and the CRT of
        InitialiseSecureChannel (keyType ``88``, keyLength ``10`` only)."""
        if key_type != KEY_TYPE_AES or key_length != KEY_LENGTH_AES128:
            raise UnsupportedCrtError(f"keyType {key_type:02X} / keyLength {key_length:02X}")
        material = x963_kdf(shared_secret, shared_info(key_type, key_length, host_id, eid), 48)
        return cls(material[:16], material[16:32], material[32:48])

    @classmethod
    def from_replace_session_keys(cls, request: bytes) -> "BspKeys":
        """SGP.22 §5.5.4 ReplaceSessionKeysRequest ``BF26`` { 80 initialMacChainingValue,
        81 ppkEnc, 82 ppkCmac }, each a 16-byte OCTET STRING, in this order (DER)."""
        if request[:2] != TAG_REPLACE_SESSION_KEYS:
            raise BspStructureError("not a ReplaceSessionKeysRequest")
        length, offset = _read_length(request, 2)
        if offset + length != len(request):
            raise BspStructureError("ReplaceSessionKeysRequest length mismatch")
        values = []
        for tag in (0x80, 0x81, 0x82):
            if offset + 2 > len(request) or request[offset] != tag or request[offset + 1] != 16:
                raise BspStructureError(f"ReplaceSessionKeysRequest: expected 16-byte [{tag & 0x1F}]")
            values.append(request[offset + 2 : offset + 18])
            offset += 18
        if offset != len(request):
            raise BspStructureError("ReplaceSessionKeysRequest: truncated or trailing data")
        return cls(values[0], values[1], values[2])


# Block grammar of BoundProfilePackage: phase -> {tag: next phase}.
_START, _FIRST_87, _SEQ_88, _SECOND_87, _SEQ_86 = range(5)
_PE, _CMD, _MAC = BlockTag.PROFILE_ELEMENTS, BlockTag.CIPHERED_COMMAND, BlockTag.MAC_ONLY_COMMAND
_TRANSITIONS: dict[int, dict[int, int]] = {
    _START: {_CMD: _FIRST_87},
    _FIRST_87: {_CMD: _FIRST_87, _MAC: _SEQ_88},
    _SEQ_88: {_MAC: _SEQ_88, _CMD: _SECOND_87, _PE: _SEQ_86},
    _SECOND_87: {_CMD: _SECOND_87, _PE: _SEQ_86},
    _SEQ_86: {_PE: _SEQ_86},
}


class BspSession:
    """eUICC side of one BSP session: verifies and deciphers BPP blocks in order (SGP.22 §2.6.4)."""

    def __init__(self, keys: BspKeys) -> None:
        self._keys = keys
        self._mcv = keys.initial_mcv
        self._counter = 0
        self._phase = _START
        self._keys_replaced = False
        self.closed = False

    @property
    def block_counter(self) -> int:
        """Number of blocks processed under the current keys (the last ICV counter used)."""
        return self._counter

    def _fail(self, error: BspError) -> BspError:
        self.closed = True
        return error

    def unwrap(self, block: bytes) -> bytes:
        """Verify one complete ``86``/``87``/``88`` TLV and return its plaintext.

        Order of checks: session open, TLV structure, block order, MAC (before any
        deciphering), then deciphering and padding.
        """
        if self.closed:
            raise BspStructureError("BSP session closed after an earlier error")
        if len(block) < 2:
            raise self._fail(BspStructureError("truncated block"))
        tag = block[0]
        length, offset = self._parse_header(block)
        next_phase = _TRANSITIONS[self._phase].get(tag)
        if next_phase is None:
            raise self._fail(BspStructureError(f"block {tag:02X} not allowed here"))
        if length < MAC_LENGTH:
            raise self._fail(BspStructureError("block shorter than its MAC"))
        data, mac = block[offset:-MAC_LENGTH], block[-MAC_LENGTH:]
        full = aes_cmac(self._keys.s_mac, self._mcv + block[:offset] + data)
        if not hmac.compare_digest(full[:MAC_LENGTH], mac):
            raise self._fail(BspSecurityError("MAC verification failed"))
        self._mcv = full
        self._counter += 1
        self._phase = next_phase
        if tag == BlockTag.MAC_ONLY_COMMAND:
            return data
        icv = counter_icv(self._keys.s_enc, self._counter)
        try:
            return cbc_decrypt(self._keys.s_enc, icv, data)
        except PaddingError as exc:
            raise self._fail(BspStructureError(str(exc))) from None

    def _parse_header(self, block: bytes) -> tuple[int, int]:
        try:
            length, offset = _read_length(block, 1)
        except BspStructureError as exc:
            raise self._fail(exc) from None
        if offset + length != len(block):
            raise self._fail(BspStructureError("block length does not match its TLV length"))
        return length, offset

    def replace_session_keys(self, keys: BspKeys) -> None:
        """SGP.22 §5.5.4: switch to the PPKs after the secondSequenceOf87 ReplaceSessionKeys.

        Allowed once, right after a ``87`` block of secondSequenceOf87; the block counter and
        MCV restart from the new keys.
        """
        if self.closed:
            raise BspStructureError("BSP session closed after an earlier error")
        if self._phase != _SECOND_87 or self._keys_replaced:
            raise self._fail(BspStructureError("ReplaceSessionKeys out of sequence"))
        self._keys = keys
        self._mcv = keys.initial_mcv
        self._counter = 0
        self._keys_replaced = True
