"""PINs, PUKs and ADM keys: ETSI TS 102 221 §9.5 (key references) and §11.1.9-§11.1.13 (commands).

Retry counters are decremented with ``write_through`` *before* the comparison, as a real card does
against tearing: pulling power after a wrong PIN never gives the attacker a free try.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from euicc.apdu import SW, SwError
from euicc.fs import keys as fs_keys
from euicc.nvm import Store

PIN_LENGTH = 8          # TS 102 221 §9.5.1: PINs are sent padded with 'FF' to 8 bytes
UNIVERSAL_PIN = 0x11


def key_reference_valid(ref: int) -> bool:
    """TS 102 221 §9.5.1 Table 9.3: PIN Appl 1-8, ADM1-10, universal PIN, second PINs."""
    return ref in range(0x01, 0x09) or ref in range(0x0A, 0x0F) or ref == 0x11 \
        or ref in range(0x81, 0x89) or ref in range(0x8A, 0x8F)


@dataclass(frozen=True, slots=True)
class PinState:
    """One PIN (or ADM key) with its unblocking key (TS 102 221 §9.5)."""
    RECORD_TYPE: ClassVar[str] = "PinState"   # its stable id in the store (euicc.nvm_codec.Codec)

    value: bytes
    retries: int
    max_retries: int = 3
    enabled: bool = True
    puk: bytes | None = None
    puk_retries: int = 10
    puk_max_retries: int = 10
    can_disable: bool = True


def pad_pin(digits: str | bytes) -> bytes:
    raw = digits.encode() if isinstance(digits, str) else digits
    return (raw + b"\xff" * PIN_LENGTH)[:PIN_LENGTH]


class PinService:
    """PIN objects of one profile; the verified status lives in the session (`verified`)."""

    def __init__(self, store: Store, fsid: str, verified: set[tuple[str, int]]) -> None:
        self.store = store
        self.fsid = fsid
        self.verified = verified

    def _key(self, ref: int) -> str:
        return fs_keys.pin(self.fsid, ref)

    def get(self, ref: int) -> PinState:
        pin = self.store.get(self._key(ref))
        if pin is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        return pin

    def set(self, ref: int, pin: PinState) -> None:
        self.store.put(self._key(ref), pin)

    def is_satisfied(self, ref: int) -> bool:
        """Access condition 'PIN ref' holds: verified in this session, or the PIN is disabled."""
        if (self.fsid, ref) in self.verified:
            return True
        pin = self.store.get(self._key(ref))
        return pin is not None and not pin.enabled

    def enabled_map(self, refs: tuple[int, ...]) -> dict[int, bool]:
        out = {}
        for ref in refs:
            pin = self.store.get(self._key(ref))
            out[ref] = bool(pin and pin.enabled)
        return out

    # -- the commands ----------------------------------------------------------------------------
    def _attempt(self, ref: int, pin: PinState, candidate: bytes) -> None:
        """Check `candidate` against the PIN: counter down first, restored on success."""
        if pin.retries == 0:
            raise SwError(SW.AUTH_METHOD_BLOCKED)
        self.store.write_through(self._key(ref), replace(pin, retries=pin.retries - 1))
        if candidate != pin.value:
            self.verified.discard((self.fsid, ref))
            raise SwError(0x63C0 | (pin.retries - 1))
        self.store.write_through(self._key(ref), replace(pin, retries=pin.max_retries))
        self.verified.add((self.fsid, ref))

    def verify(self, ref: int, data: bytes) -> None:
        """VERIFY PIN (§11.1.9); empty data asks for the retry counter."""
        pin = self.get(ref)
        if not data:
            if (self.fsid, ref) in self.verified or not pin.enabled:
                return
            if pin.retries == 0:
                raise SwError(SW.AUTH_METHOD_BLOCKED)
            raise SwError(0x63C0 | pin.retries)
        _check_length(data, PIN_LENGTH)
        self._attempt(ref, pin, data)

    def change(self, ref: int, data: bytes) -> None:
        """CHANGE PIN (§11.1.10): old PIN || new PIN."""
        _check_length(data, 2 * PIN_LENGTH)
        pin = self.get(ref)
        if not pin.enabled:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        self._attempt(ref, pin, data[:PIN_LENGTH])
        self.store.write_through(self._key(ref), replace(self.get(ref), value=data[PIN_LENGTH:]))

    def disable(self, ref: int, data: bytes) -> None:
        """DISABLE PIN (§11.1.11)."""
        _check_length(data, PIN_LENGTH)
        pin = self.get(ref)
        if not pin.can_disable:
            raise SwError(SW.INCORRECT_P1P2)
        if not pin.enabled:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        self._attempt(ref, pin, data)
        self.store.write_through(self._key(ref), replace(self.get(ref), enabled=False))

    def enable(self, ref: int, data: bytes) -> None:
        """ENABLE PIN (§11.1.12)."""
        _check_length(data, PIN_LENGTH)
        pin = self.get(ref)
        if pin.enabled:
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        self._attempt(ref, pin, data)
        self.store.write_through(self._key(ref), replace(self.get(ref), enabled=True))

    def unblock(self, ref: int, data: bytes) -> None:
        """UNBLOCK PIN (§11.1.13): PUK || new PIN; empty data asks for the PUK retry counter."""
        pin = self.get(ref)
        if pin.puk is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        if not data:
            if pin.puk_retries == 0:
                raise SwError(SW.AUTH_METHOD_BLOCKED)
            raise SwError(0x63C0 | pin.puk_retries)
        _check_length(data, 2 * PIN_LENGTH)
        if pin.puk_retries == 0:
            raise SwError(SW.AUTH_METHOD_BLOCKED)
        self.store.write_through(self._key(ref), replace(pin, puk_retries=pin.puk_retries - 1))
        if data[:PIN_LENGTH] != pin.puk:
            raise SwError(0x63C0 | (pin.puk_retries - 1))
        self.store.write_through(self._key(ref), replace(
            pin, value=data[PIN_LENGTH:], retries=pin.max_retries,
            puk_retries=pin.puk_max_retries, enabled=True))
        self.verified.add((self.fsid, ref))


def _check_length(data: bytes, n: int) -> None:
    if len(data) != n:
        raise SwError(SW.WRONG_LENGTH)
