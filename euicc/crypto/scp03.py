"""GlobalPlatform Secure Channel Protocol '03', card side.

GlobalPlatform Card Specification v2.3 Amendment D (SCP03) v1.1.2 / v1.2:
INITIALIZE UPDATE (§7.1), EXTERNAL AUTHENTICATE (§7.2), session keys (§6.2.1), challenges and
cryptograms (§6.2.2), C-MAC (§6.2.4), R-MAC (§6.2.5), C-DECRYPTION (§6.2.6) and R-ENCRYPTION
(§6.2.7).  Status words follow GP Card Specification v2.3 §11.1.3 / ISO 7816-4 §5.6.

The session is a pure state machine: the caller (a Security Domain applet) hands it parsed
commands and response bodies; every failure is a :class:`~euicc.apdu.SwError`.  Key sets and
their sequence counters belong to the caller, which persists ``Scp03KeySet.sequence_counter``
after each INITIALIZE UPDATE.

Choices a reviewer should know (documented settings, not guesses hidden in code):

* a C-MAC failure, a command without the protection the security level requires, or any
  secure-messaging error terminates the session (Amd D §6.2.4 / GP CS §10.8.2) with ``6982``;
  malformed secure-messaging data after a good C-MAC (ciphertext not block aligned, bad
  padding) answers ``6988`` (ISO 7816-4 "incorrect SM data objects") and terminates too;
* the MAC is computed over the CLA byte as received (logical-channel bits included);
* KVN ``00`` in INITIALIZE UPDATE selects the lowest-numbered key set supplied;
* the "i" parameter's b1 selects S16 mode (Amd D v1.2 §5.1 Table 5-1, §6.2.2): 16-byte host and
  card challenges, cryptograms, C-MACs and R-MACs instead of 8 (S8 mode).
"""
from __future__ import annotations

import dataclasses
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, IntFlag

from euicc.apdu import SW, Command, SwError
from euicc.crypto.kdf import AES_KEY_LENGTHS, DerivationConstant, scp03_kdf
from euicc.crypto.primitives import (PaddingError, aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, aes_ecb_block,
                                     pad_iso9797_m2, unpad_iso9797_m2)

BLOCK = 16
MAC_LENGTH = 8
SCP03_ID = 0x03
SW_HOST_CRYPTOGRAM_FAILED = 0x6300  # GP CS §11.8.3.2 / Amd D §7.2.3
SW_INCORRECT_SM_DATA = 0x6988  # ISO 7816-4 §5.6 Table 6
MAX_SEQUENCE_COUNTER = 0xFFFFFF


# --- SCP03 primitives (shared with the SGP.22 BSP, which reuses them) -----------------------


def counter_icv(key: bytes, counter: int, response: bool = False) -> bytes:
    """Amd D §6.2.6 / §6.2.7: ICV = AES(S-ENC, counter as 16 bytes); responses set byte 0 to 80."""
    block = counter.to_bytes(BLOCK, "big")
    if response:
        block = b"\x80" + block[1:]
    return aes_ecb_block(key, block)


def cbc_encrypt(key: bytes, icv: bytes, plaintext: bytes) -> bytes:
    """AES-CBC of ``plaintext`` padded with '80 00..' (ISO/IEC 9797-1 method 2, Amd D §4.1.2)."""
    return aes_cbc_encrypt(key, pad_iso9797_m2(plaintext, BLOCK), icv)


def cbc_decrypt(key: bytes, icv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of :func:`cbc_encrypt`; raises :class:`PaddingError` on malformed input."""
    if not ciphertext or len(ciphertext) % BLOCK:
        raise PaddingError("ciphertext is not a non-empty multiple of the block size")
    return unpad_iso9797_m2(aes_cbc_decrypt(key, ciphertext, icv), BLOCK)


def key_check_value(key: bytes) -> bytes:
    """GP CS v2.3 §11.8.2.3 / Amd D §7.3 (PUT KEY): AES KCV = AES(key, 16 x '01')[:3]."""
    return aes_ecb_block(key, b"\x01" * BLOCK)[:3]


# --- Key sets, parameters, security levels ---------------------------------------------------


class SecurityLevel(IntFlag):
    """Amd D §7.2.1 Table 7-3: EXTERNAL AUTHENTICATE P1 bits."""

    NONE = 0x00
    C_MAC = 0x01
    C_DECRYPTION = 0x02
    R_MAC = 0x10
    R_ENCRYPTION = 0x20


VALID_SECURITY_LEVELS = frozenset({0x00, 0x01, 0x03, 0x11, 0x13, 0x33})


class IParameter(IntFlag):
    """Amd D §5.1 Table 5-1: the SCP03 "i" parameter."""

    S16_MODE = 0x01
    PSEUDO_RANDOM_CHALLENGE = 0x10
    R_MAC_SUPPORT = 0x20
    R_ENCRYPTION_SUPPORT = 0x40


@dataclass
class Scp03KeySet:
    """One SCP03 key set (Amd D §6.1): Key-ENC, Key-MAC, Key-DEK of one AES length.

    ``sequence_counter`` is the last value used for a pseudo-random card challenge
    (Amd D §6.2.2.1); it is incremented before use, so a fresh key set reports 000001 first.
    """

    kvn: int
    enc: bytes
    mac: bytes
    dek: bytes
    sequence_counter: int = 0

    def __post_init__(self) -> None:
        if len(self.enc) not in AES_KEY_LENGTHS or not len(self.enc) == len(self.mac) == len(
            self.dek
        ):
            raise ValueError("SCP03 key set needs three AES keys of one length")
        if not 0 <= self.kvn <= 0xFF or not 0 <= self.sequence_counter <= MAX_SEQUENCE_COUNTER:
            raise ValueError("KVN or sequence counter out of range")

    def next_sequence_counter(self) -> int:
        """Increment and return the sequence counter; ``6985`` once it is exhausted."""
        if self.sequence_counter >= MAX_SEQUENCE_COUNTER:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        self.sequence_counter += 1
        return self.sequence_counter


@dataclass(frozen=True)
class Scp03Settings:
    """Per-Security-Domain SCP03 configuration (Amd D §5.1, GP CS §7.3 minimum level)."""

    i_parameter: int = 0x70
    key_diversification_data: bytes = bytes(10)
    minimum_security_level: int = SecurityLevel.NONE

    @property
    def s_mode(self) -> int:
        """Length in bytes of challenges, cryptograms and MACs: 8 (S8) or 16 (S16 mode)."""
        return 16 if self.i_parameter & IParameter.S16_MODE else 8


@dataclass(frozen=True)
class SessionKeys:
    """Amd D §6.2.1: S-ENC, S-MAC, S-RMAC, derived with context host || card challenge."""

    s_enc: bytes
    s_mac: bytes
    s_rmac: bytes

    @classmethod
    def derive(cls, key_set: Scp03KeySet, host_challenge: bytes, card_challenge: bytes) -> "SessionKeys":
        context = host_challenge + card_challenge
        bits = len(key_set.enc) * 8
        return cls(
            scp03_kdf(key_set.enc, DerivationConstant.S_ENC, context, bits),
            scp03_kdf(key_set.mac, DerivationConstant.S_MAC, context, bits),
            scp03_kdf(key_set.mac, DerivationConstant.S_RMAC, context, bits),
        )


class SessionState(Enum):
    """Amd D §5.2 / GP CS §10.2: the phases of a secure channel session."""

    IDLE = "idle"
    INITIALIZED = "initialized"  # INITIALIZE UPDATE done, EXTERNAL AUTHENTICATE expected
    AUTHENTICATED = "authenticated"


def _sm_cleared_cla(cla: int) -> int:
    """CLA with the secure-messaging indication removed (ISO 7816-4 §5.4.1)."""
    if cla & 0x40:
        return cla & ~0x20
    return cla & ~0x0C


def _lc_field(length: int, extended: bool) -> bytes:
    if extended:
        return b"\x00" + length.to_bytes(2, "big")
    return bytes((length,))


def _rmac_status(sw: int) -> bool:
    """Amd D §6.2.5: only '9000' and warnings '62xx'/'63xx' get response protection."""
    return sw == SW.OK or (sw >> 8) in (0x62, 0x63)


# --- The card-side session -------------------------------------------------------------------


class Scp03Session:
    """Card side of one SCP03 secure channel session (GP Amd D §5.2, §6.2, §7)."""

    def __init__(
        self,
        key_sets: Mapping[int, Scp03KeySet],
        sd_aid: bytes,
        settings: Scp03Settings = Scp03Settings(),
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._key_sets = key_sets
        self._sd_aid = bytes(sd_aid)
        self._settings = settings
        self._random = random
        self.close()

    # state ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Terminate the session and forget all session material (GP CS §10.2.3)."""
        self.state = SessionState.IDLE
        self.security_level = SecurityLevel.NONE
        self.key_set: Scp03KeySet | None = None
        self._keys: SessionKeys | None = None
        self._host_challenge = b""
        self._card_challenge = b""
        self._mcv = bytes(BLOCK)
        self._counter = 0
        self._rmac_chain: bytes | None = None

    def _session_keys(self) -> SessionKeys:
        if self._keys is None:  # only reachable by calling out of order
            raise self._fail(SW.CONDITIONS_NOT_SATISFIED)
        return self._keys

    def _fail(self, sw: int) -> SwError:
        self.close()
        return SwError(sw)

    # INITIALIZE UPDATE ---------------------------------------------------------------------

    def _select_key_set(self, kvn: int) -> Scp03KeySet:
        if kvn == 0 and self._key_sets:
            return self._key_sets[min(self._key_sets)]
        key_set = self._key_sets.get(kvn)
        if key_set is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        return key_set

    def initialize_update(self, cmd: Command) -> bytes:
        """Amd D §7.1: P1 = KVN, P2 = '00', data = host challenge (8); returns the response data.

        Response: key diversification data (10) || key information (KVN, '03', i) ||
        card challenge (s) || card cryptogram (s) || [sequence counter (3)], s = 8 or 16 (S16).
        """
        self.close()  # a new INITIALIZE UPDATE always aborts the current session
        s_mode = self._settings.s_mode
        if cmd.p2 != 0x00:
            raise SwError(SW.INCORRECT_P1P2)
        if len(cmd.data) != s_mode:
            raise SwError(SW.WRONG_LENGTH)
        key_set = self._select_key_set(cmd.p1)
        i_param = self._settings.i_parameter
        host_challenge = cmd.data
        counter_field = b""
        if i_param & IParameter.PSEUDO_RANDOM_CHALLENGE:
            counter_field = key_set.next_sequence_counter().to_bytes(3, "big")
            card_challenge = scp03_kdf(
                key_set.enc, DerivationConstant.CARD_CHALLENGE, counter_field + self._sd_aid, 8 * s_mode
            )
        else:
            card_challenge = self._random(s_mode)
        keys = SessionKeys.derive(key_set, host_challenge, card_challenge)
        cryptogram = scp03_kdf(
            keys.s_mac, DerivationConstant.CARD_CRYPTOGRAM, host_challenge + card_challenge, 8 * s_mode
        )
        self.state, self.key_set, self._keys = SessionState.INITIALIZED, key_set, keys
        self._host_challenge, self._card_challenge = host_challenge, card_challenge
        return (
            self._settings.key_diversification_data
            + bytes((key_set.kvn, SCP03_ID, i_param))
            + card_challenge
            + cryptogram
            + counter_field
        )

    # EXTERNAL AUTHENTICATE -----------------------------------------------------------------

    def _check_security_level(self, level: int) -> None:
        i_param = self._settings.i_parameter
        if level not in VALID_SECURITY_LEVELS:
            raise self._fail(SW.INCORRECT_P1P2)
        if level & SecurityLevel.R_MAC and not i_param & IParameter.R_MAC_SUPPORT:
            raise self._fail(SW.INCORRECT_P1P2)
        if level & SecurityLevel.R_ENCRYPTION and not i_param & IParameter.R_ENCRYPTION_SUPPORT:
            raise self._fail(SW.INCORRECT_P1P2)
        minimum = self._settings.minimum_security_level
        if level & minimum != minimum:
            raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)

    def external_authenticate(self, cmd: Command) -> bytes:
        """Amd D §7.2: P1 = security level, data = host cryptogram (s) || C-MAC (s), s = 8 or 16.

        Order: session state (6985), C-MAC (6982), host cryptogram (6300), then the requested
        security level (6A86 for a level this card or key set cannot give, 6982 below the
        Security Domain's minimum).  Any failure terminates the session.
        """
        if self.state is not SessionState.INITIALIZED:
            raise self._fail(SW.CONDITIONS_NOT_SATISFIED)
        if cmd.p2 != 0x00:
            raise self._fail(SW.INCORRECT_P1P2)
        if not cmd.secure_messaging:
            raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)
        s_mode = self._settings.s_mode
        if len(cmd.data) != 2 * s_mode:
            raise self._fail(SW.WRONG_LENGTH)
        self._verify_cmac(cmd)
        expected = scp03_kdf(
            self._session_keys().s_mac,
            DerivationConstant.HOST_CRYPTOGRAM,
            self._host_challenge + self._card_challenge,
            8 * s_mode,
        )
        if not hmac.compare_digest(expected, cmd.data[:s_mode]):
            raise self._fail(SW_HOST_CRYPTOGRAM_FAILED)
        self._check_security_level(cmd.p1)
        self.security_level = SecurityLevel(cmd.p1)
        self.state = SessionState.AUTHENTICATED
        self._counter = 0
        return b""

    # Command and response protection -------------------------------------------------------

    def _verify_cmac(self, cmd: Command) -> bytes:
        """Amd D §6.2.4: check the trailing C-MAC (8 bytes, 16 in S16), update the MAC chaining value."""
        mac_length = self._settings.s_mode
        if len(cmd.data) < mac_length:
            raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)
        body, mac = cmd.data[:-mac_length], cmd.data[-mac_length:]
        header = bytes((cmd.cla, cmd.ins, cmd.p1, cmd.p2)) + _lc_field(len(cmd.data), cmd.extended)
        full = aes_cmac(self._session_keys().s_mac, self._mcv + header + body)
        if not hmac.compare_digest(full[:mac_length], mac):
            raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)
        self._mcv = full
        return body

    def unwrap(self, cmd: Command) -> Command:
        """Remove the protection of a command as the security level demands (Amd D §6.2.4, §6.2.6).

        Outside an authenticated session an unprotected command passes unchanged (and ends a
        session still waiting for EXTERNAL AUTHENTICATE); a protected one is refused with 6982.
        Inside, the C-MAC is checked before anything else, then the encryption counter is
        incremented (for every command, with or without data) and the data deciphered.
        """
        if self.state is not SessionState.AUTHENTICATED:
            if self.state is SessionState.INITIALIZED:
                self.close()
            if cmd.secure_messaging:
                raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
            return cmd
        if not self.security_level & SecurityLevel.C_MAC:
            if cmd.secure_messaging:
                raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)
            return cmd
        if not cmd.secure_messaging:
            raise self._fail(SW.SECURITY_STATUS_NOT_SATISFIED)
        body = self._verify_cmac(cmd)
        self._counter += 1
        if self.security_level & SecurityLevel.R_MAC:
            self._rmac_chain = self._mcv
        if body and self.security_level & SecurityLevel.C_DECRYPTION:
            s_enc = self._session_keys().s_enc
            try:
                body = cbc_decrypt(s_enc, counter_icv(s_enc, self._counter), body)
            except PaddingError:
                raise self._fail(SW_INCORRECT_SM_DATA) from None
        if body:
            case = 3 if cmd.ne is None else 4
        else:
            case = 1 if cmd.ne is None else 2
        return dataclasses.replace(
            cmd, cla=_sm_cleared_cla(cmd.cla), data=body, secure_messaging=False, case=case
        )

    def wrap(self, data: bytes, sw: int = SW.OK) -> bytes:
        """Protect the response body to the last unwrapped command (Amd D §6.2.5, §6.2.7).

        Returns the body to send before ``sw``: R-ENC (ICV from the command's counter with
        byte 0 = '80') when the level asks for it and there is data, then R-MAC =
        CMAC(S-RMAC, C-MAC chaining value || body || SW)[:8] ([:16] in S16).  Error status words, and
        levels without R-MAC, leave the body unchanged.
        """
        chain, self._rmac_chain = self._rmac_chain, None
        if chain is None or self.state is not SessionState.AUTHENTICATED or not _rmac_status(sw):
            return data
        keys = self._session_keys()
        if data and self.security_level & SecurityLevel.R_ENCRYPTION:
            data = cbc_encrypt(keys.s_enc, counter_icv(keys.s_enc, self._counter, True), data)
        sw_field = bytes((sw >> 8, sw & 0xFF))
        return data + aes_cmac(keys.s_rmac, chain + data + sw_field)[: self._settings.s_mode]
