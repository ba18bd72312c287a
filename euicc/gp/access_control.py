"""Access rules of the ARA-M: GlobalPlatform Secure Element Access Control (GPD_SPE_013) v1.1.

Data objects (SEAC v1.1 §6, Tables 6-3 to 6-9), with the extensions of Android's UICC carrier
privileges (source.android.com/docs/core/connect/uicc: SHA-256 DeviceAppID, PKG-REF-DO 'CA',
PERM-AR-DO 'DB', a REF-DO without an AID-REF-DO):

    REF-AR-DO 'E2' = REF-DO 'E1' + AR-DO 'E3'
    REF-DO    'E1' = [AID-REF-DO '4F' (0 or 5..16 bytes) | 'C0' (0 bytes, implicitly selected)]
                     + DeviceAppID-REF-DO 'C1' (0, 20 or 32 bytes) [+ PKG-REF-DO 'CA' (1..127 ASCII)]
    AR-DO     'E3' = [APDU-AR-DO 'D0' ('00' never, '01' always, or n x 8 bytes header+mask filters)]
                     [NFC-AR-DO 'D1' ('00' never, '01' always)] [PERM-AR-DO 'DB' (8 bytes)]

The rules are one persistent tuple of :class:`AccessRule` (``aram/rules``) plus the 8-byte refresh
tag (``aram/refresh-tag``, SEAC v1.1 Table 4-4) that changes with every change of the rules.
Malformed data raises :class:`SwError` before anything is written.  Table numbers are those of
SEAC v1.1 as pySim (pySim/ara_m.py) cites them; the GlobalPlatform text itself was not at hand, so
the choices it would settle are named settings or noted where they are made.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.gp import keys as gp_keys
from euicc.nvm import Store

# SEAC v1.1 Tables 6-3..6-9 and Android's extensions
TAG_AID_REF, TAG_AID_IMPLICIT, TAG_DEVICE_APP_ID, TAG_PKG_REF = 0x4F, 0xC0, 0xC1, 0xCA
TAG_REF_DO, TAG_REF_AR_DO, TAG_AR_DO = 0xE1, 0xE2, 0xE3
TAG_APDU_AR, TAG_NFC_AR, TAG_PERM_AR = 0xD0, 0xD1, 0xDB
# SEAC v1.1 §4 response data objects (Tables 4-2..4-5) and device configuration (Tables 6-10..6-12)
TAG_RESPONSE_ALL = 0xFF40
TAG_RESPONSE_AR = 0xFF50
TAG_RESPONSE_REFRESH = 0xDF20
TAG_RESPONSE_CONFIG = 0xDF21
TAG_DEVICE_CONFIG, TAG_ARAM_CONFIG, TAG_INTERFACE_VERSION = 0xE4, 0xE5, 0xE6


#: Bytes the ARA-M keeps for its rules (the encoded REF-AR-DOs); beyond: '6A84'.  Not in the spec:
#: a card's memory budget, set here.
MAX_RULES_SIZE = 16384
#: The version of GPD_SPE_013 this ARA-M implements (Device-Interface-Version-DO 'E6': major, minor,
#: patch), returned by GET DATA [Config].
ARAM_INTERFACE_VERSION = bytes((1, 1, 0))

#: A REF-DO already present ('6A89', "conflicting access rule already exists" in pySim's table of
#: the SEAC v1.1 STORE DATA status words): a rule is replaced by deleting it first.
SW_CONFLICT = SW.FILE_EXISTS

_HASH_LENGTHS = (0, 20, 32)   # any device app, SHA-1, SHA-256 (Android) of the certificate


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One REF-AR-DO: the values of its REF-DO and AR-DO, as validated and stored."""
    RECORD_TYPE: ClassVar[str] = "AccessRule"   # its stable id in the store (euicc.nvm_codec.Codec)

    ref_do: bytes
    ar_do: bytes

    def encode(self) -> bytes:
        """The REF-AR-DO 'E2' (SEAC v1.1 Table 6-6)."""
        return tlv.tlv(TAG_REF_AR_DO, tlv.tlv(TAG_REF_DO, self.ref_do) + tlv.tlv(TAG_AR_DO, self.ar_do))

    @property
    def reference(self) -> frozenset[tuple[int, bytes]]:
        return reference(self.ref_do)

    @property
    def aid_reference(self) -> tuple[int, bytes] | None:
        return next(((t, v) for t, v in self.reference if t in (TAG_AID_REF, TAG_AID_IMPLICIT)), None)


def data_objects(value: bytes, allowed: frozenset[int]) -> dict[int, bytes]:
    """The data objects of `value`, each tag at most once and from `allowed`; else '6A80'."""
    objs = _sequence(value)
    found = dict(objs)
    if len(found) != len(objs) or not set(found) <= allowed:
        raise SwError(SW.INCORRECT_DATA)
    return found


def reference(ref_do: bytes) -> frozenset[tuple[int, bytes]]:
    """Validate the value of a REF-DO (SEAC v1.1 Table 6-5 + Android); its objects as a set."""
    objs = data_objects(ref_do, frozenset({TAG_AID_REF, TAG_AID_IMPLICIT, TAG_DEVICE_APP_ID, TAG_PKG_REF}))
    aid, implicit = objs.get(TAG_AID_REF), objs.get(TAG_AID_IMPLICIT)
    device_app = objs.get(TAG_DEVICE_APP_ID)
    package = objs.get(TAG_PKG_REF)
    if (aid is not None and implicit is not None) or device_app is None:
        raise SwError(SW.INCORRECT_DATA)
    if aid is not None and len(aid) and not 5 <= len(aid) <= 16:
        raise SwError(SW.INCORRECT_DATA)
    if implicit is not None and implicit:
        raise SwError(SW.INCORRECT_DATA)
    if len(device_app) not in _HASH_LENGTHS:
        raise SwError(SW.INCORRECT_DATA)
    if package is not None and not (1 <= len(package) <= 127 and package.isascii()):
        raise SwError(SW.INCORRECT_DATA)
    return frozenset(objs.items())


def check_access_rule(ar_do: bytes) -> None:
    """Validate the value of an AR-DO (SEAC v1.1 Tables 6-7..6-9 + Android's PERM-AR-DO)."""
    objs = data_objects(ar_do, frozenset({TAG_APDU_AR, TAG_NFC_AR, TAG_PERM_AR}))
    if not objs:
        raise SwError(SW.INCORRECT_DATA)
    apdu = objs.get(TAG_APDU_AR)
    if apdu is not None and not (apdu in (b"\x00", b"\x01") or (apdu and len(apdu) % 8 == 0)):
        raise SwError(SW.INCORRECT_DATA)
    nfc = objs.get(TAG_NFC_AR)
    if nfc is not None and nfc not in (b"\x00", b"\x01"):
        raise SwError(SW.INCORRECT_DATA)
    perm = objs.get(TAG_PERM_AR)
    if perm is not None and len(perm) != 8:
        raise SwError(SW.INCORRECT_DATA)


def parse_ref_ar_do(value: bytes) -> AccessRule:
    """A REF-AR-DO's value: exactly one REF-DO then one AR-DO (SEAC v1.1 Table 6-6)."""
    objs = _sequence(value)
    if [t for t, _ in objs] != [TAG_REF_DO, TAG_AR_DO]:
        raise SwError(SW.INCORRECT_DATA)
    (_, ref_do), (_, ar_do) = objs
    reference(ref_do)
    check_access_rule(ar_do)
    return AccessRule(ref_do, ar_do)


class AccessRules:
    """The ARA-M's persistent rule set and refresh tag."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def rules(self) -> tuple[AccessRule, ...]:
        return self.store.get(gp_keys.ARAM_RULES, ())

    def refresh_tag(self) -> bytes:
        """The current refresh tag; a card without one gets its first here."""
        tag = self.store.get(gp_keys.ARAM_REFRESH_TAG)
        if tag is None:
            tag = os.urandom(8)
            self.store.put(gp_keys.ARAM_REFRESH_TAG, tag)
        return tag

    def update_refresh_tag(self) -> None:
        """A new refresh tag, different from the current one: the rules changed."""
        old = self.store.get(gp_keys.ARAM_REFRESH_TAG)
        new = os.urandom(8)
        while new == old:
            new = os.urandom(8)
        self.store.put(gp_keys.ARAM_REFRESH_TAG, new)

    def _replace(self, rules: tuple[AccessRule, ...]) -> None:
        if sum(len(r.encode()) for r in rules) > MAX_RULES_SIZE:
            raise SwError(SW.NOT_ENOUGH_MEMORY)
        self.store.put(gp_keys.ARAM_RULES, rules)
        self.update_refresh_tag()

    def store_rules(self, new: list[AccessRule]) -> None:
        """Command-Store-REF-AR-DO: add rules; a REF-DO already present is a conflict ('6A89')."""
        rules = self.rules()
        taken = {r.reference for r in rules}
        for rule in new:
            if rule.reference in taken:
                raise SwError(SW_CONFLICT)
            taken.add(rule.reference)
        self._replace(rules + tuple(new))

    def delete(self, keep: Callable[[AccessRule], bool]) -> None:
        """Delete the rules for which `keep(rule)` is false; none of them: '6A88'."""
        rules = self.rules()
        kept = tuple(r for r in rules if keep(r))
        if len(kept) == len(rules):
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        self._replace(kept)

    def delete_all(self) -> None:
        if self.rules():
            self._replace(())

    def response_all(self) -> bytes:
        """Response-ALL-REF-AR-DO 'FF40' (SEAC v1.1 Table 4-2), empty without rules."""
        return tlv.tlv(TAG_RESPONSE_ALL, b"".join(r.encode() for r in self.rules()))

    def response_specific(self, ref_do: bytes) -> bytes:
        """Response-AR-DO 'FF50' (SEAC v1.1 Table 4-3): the AR-DO stored for exactly `ref_do`,
        empty when there is none."""
        ref = reference(ref_do)
        found = next((r for r in self.rules() if r.reference == ref), None)
        return tlv.tlv(TAG_RESPONSE_AR, tlv.tlv(TAG_AR_DO, found.ar_do) if found else b"")


# SEAC v1.1 §5.1 Table 5-1: command data objects of STORE DATA
TAG_STORE_REF_AR_DO, TAG_DELETE, TAG_UPDATE_REFRESH_TAG = 0xF0, 0xF1, 0xF2
#: Command DOs of SEAC v1.1 Table 5-1 this ARA-M does not offer (Block-DO 'E7', Command-Get* 'F3'-'F6',
#: Command-Register-Client-AIDs 'F7', Command-Get-Device-Config 'F8', used with ARA-Cs and by remote
#: management reading rules through STORE DATA): '6981' "DO is not supported by the ARA-M".
UNSUPPORTED_COMMAND_DOS = frozenset({0xE7, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8})
SW_DO_NOT_SUPPORTED = SW.INCOMPATIBLE_FILE_STRUCTURE   # '6981'


def store_data(rules: AccessRules, data: bytes) -> None:
    """The command data of a STORE DATA to the ARA-M: one command DO (SEAC v1.1 §5.1.1)."""
    objs = _sequence(data)
    if len(objs) != 1:
        raise SwError(SW.INCORRECT_DATA)
    tag, value = objs[0]
    if tag == TAG_STORE_REF_AR_DO:
        _store(rules, value)
    elif tag == TAG_DELETE:
        _delete(rules, value)
    elif tag == TAG_UPDATE_REFRESH_TAG:
        if value:
            raise SwError(SW.INCORRECT_DATA)
        rules.update_refresh_tag()
    elif tag in UNSUPPORTED_COMMAND_DOS:
        raise SwError(SW_DO_NOT_SUPPORTED)
    else:
        raise SwError(SW.INCORRECT_DATA)


def _store(rules: AccessRules, value: bytes) -> None:
    """Command-Store-REF-AR-DO 'F0' (SEAC v1.1 Table 5-2): one or more REF-AR-DOs."""
    objs = _sequence(value)
    if not objs or any(t != TAG_REF_AR_DO for t, _ in objs):
        raise SwError(SW.INCORRECT_DATA)
    rules.store_rules([parse_ref_ar_do(v) for _, v in objs])


def _delete(rules: AccessRules, value: bytes) -> None:
    """Command-Delete 'F1' (SEAC v1.1 Table 5-4): empty (all rules), an AID-REF-DO (the rules of
    that SE application), a REF-DO (the rule of that reference) or a REF-AR-DO (that rule)."""
    if not value:
        rules.delete_all()
        return
    objs = _sequence(value)
    if len(objs) != 1:
        raise SwError(SW.INCORRECT_DATA)
    tag, v = objs[0]
    if tag in (TAG_AID_REF, TAG_AID_IMPLICIT):
        aid_ref = (tag, v)
        if tag == TAG_AID_REF and v and not 5 <= len(v) <= 16 or tag == TAG_AID_IMPLICIT and v:
            raise SwError(SW.INCORRECT_DATA)
        rules.delete(lambda r: r.aid_reference != aid_ref)
    elif tag == TAG_REF_DO:
        ref = reference(v)
        rules.delete(lambda r: r.reference != ref)
    elif tag == TAG_REF_AR_DO:
        rule = parse_ref_ar_do(v)
        rules.delete(lambda r: (r.reference, r.ar_do) != (rule.reference, rule.ar_do))
    else:
        raise SwError(SW.INCORRECT_DATA)


def _sequence(value: bytes) -> list[tuple[int, bytes]]:
    """The data objects of `value`; malformed BER-TLV is '6A80'."""
    try:
        return tlv.parse(value)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
