"""OTA to the enabled profile itself: its RFM instances (ETSI TS 102 226 §7) and its MNO-SD's
remote application management (§8), secured with the profile's own SCP80 key sets (TS 102 225).

A profile package brings them (TCA SAIP v3.3.1 §8.6 PE-SecurityDomain, §8.8 PE-RFM; stored by
:mod:`euicc.profiles.pe_keys`):

- key sets ``fs/<fsid>/keys/<SD AID>/<KVN><key ID>``: key ID '01' KIc, '02' KID, '03' DEK
  (TS 102 225 §5.1.2), the GP key type of the first component being the key set's algorithm;
  their replay counters live next to them (``fs/<fsid>/scp80-counter/<SD AID>/<KVN>``), starting
  from the package's ``keyCounterValue``;
- an RFM instance ``fs/<fsid>/rfm/<AID>``: its TARs, Minimum Security Level (the SAIP byte is the
  MSL data of 'Minimum SPI1', TS 102 226 §8.2.1.3.2.2 [R]), UICC and ADF access domains
  (§8.2.1.3.2.4) and the ADF selected by default (SAIP: "the respective ADF shall be the directory
  selected by default within an RFM script", otherwise the MF); its key sets are those of
  ``securityDomainAID`` or, absent, of the profile's MNO-SD;
- the MNO-SD's UICC toolkit parameters ``fs/<fsid>/sd-toolkit/<AID>`` (§8.2.1.3.2.1): the TARs of
  its RAM and its MSL.

RFM commands evaluate file access conditions against the instance's access domain instead of
the terminal's PIN state (:class:`AccessDomainPins`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from euicc.apdu import SW, sw_bytes
from euicc.context import Origin
from euicc.crypto.scp80 import CounterState, KeyUsage, MinimumSecurityLevel
from euicc.fs import keys as fs_keys
from euicc.fs.pin import PinService
from euicc.gp.registry import KIND_SD, RegistryEntry
from euicc.nvm import Store
from euicc.ota.ram import ProfileSecurityDomain
from euicc.ota.routing import Route, SecurityDomainScripts

if TYPE_CHECKING:
    from euicc.context import Context

KEY_ID_KIC, KEY_ID_KID = 0x01, 0x02     # TS 102 225 §5.1.2 / GP UICC Configuration
TAR_LENGTH = 3

# Access domain parameter, TS 102 226 §8.2.1.3.2.4
ACCESS_FULL = 0x00
ACCESS_UICC_MECHANISM = 0x02
ACCESS_NONE = 0xFF
# Access domain data of parameter '02': the key references granted, by (byte index, bit) of the
# 3-byte bit map [U: the table of §8.2.1.3.2.4 was not readable here; this layout - byte 3 PIN
# appl 1-8, byte 2 ADM1-ADM5 / PIN universal, byte 1 ADM6-ADM10 - is a named assumption].
ACCESS_KEY_BITS: dict[int, tuple[int, int]] = {
    **{ref: (2, ref - 1) for ref in range(0x01, 0x09)},
    **{0x0A + i: (1, i) for i in range(5)}, 0x11: (1, 5),
    **{0x8A + i: (0, i) for i in range(5)},
}


@dataclass(frozen=True, slots=True)
class AccessDomain:
    """An RFM access domain (TS 102 226 §8.2.1.3.2.4): parameter byte and its data."""

    coding: bytes

    @property
    def any_access(self) -> bool:
        """False for 'FF' (no access to the file system) and for RFU parameters."""
        return self.coding[:1] == bytes([ACCESS_FULL]) or \
            (self.coding[:1] == bytes([ACCESS_UICC_MECHANISM]) and len(self.coding) == 4)

    def grants(self, key_reference: int) -> bool:
        """Whether an access condition on ``key_reference`` counts as satisfied."""
        if self.coding[:1] == bytes([ACCESS_FULL]):
            return True
        if self.coding[:1] != bytes([ACCESS_UICC_MECHANISM]) or len(self.coding) != 4:
            return False        # 'FF' no access; RFU parameters grant nothing
        position = ACCESS_KEY_BITS.get(key_reference)
        return position is not None and bool(self.coding[1 + position[0]] >> position[1] & 1)


class AccessDomainPins(PinService):
    """The PIN service an RFM script sees: access conditions on a key reference hold as the access
    domain says; the terminal's verified PINs play no part (its verified set is not shared)."""

    def __init__(self, store: Store, fsid: str, domain: AccessDomain) -> None:
        super().__init__(store, fsid, set())
        self.domain = domain

    def is_satisfied(self, ref: int) -> bool:
        return self.domain.grants(ref)


class ProfileKeys:
    """The SCP80 key sets of one security domain of a profile, with their counters
    (:class:`euicc.ota.routing.CountedKeys`)."""

    def __init__(self, store: Store, fsid: str, sd_aid: bytes) -> None:
        self.store = store
        self.prefix = fs_keys.sd_keys(fsid, sd_aid)
        self.counters = fs_keys.scp80_counters(fsid, sd_aid)

    def _record(self, kvn: int, key_id: int) -> Any:
        return self.store.get(f"{self.prefix}{kvn:02X}{key_id:02X}")

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None:
        record = self._record(kvn, KEY_ID_KIC if usage == KeyUsage.KIC else KEY_ID_KID)
        return bytes(record["components"][0]["data"]) if record and record["components"] else None

    def key_type(self, kvn: int) -> int | None:
        record = self._record(kvn, KEY_ID_KIC) or self._record(kvn, KEY_ID_KID)
        if not record or not record["components"]:
            return None
        return bytes(record["components"][0]["type"])[0]

    def counter(self, kvn: int) -> CounterState:
        stored = self.store.get(f"{self.counters}{kvn:02X}")
        if stored is not None:
            return CounterState(stored)
        record = self._record(kvn, KEY_ID_KID) or self._record(kvn, KEY_ID_KIC)
        initial = bytes(record["counter"]) if record else b""
        return CounterState(int.from_bytes(initial, "big") if len(initial) <= 5 else 0)

    def set_counter(self, kvn: int, counter: CounterState) -> None:
        if self.counter(kvn) != counter:
            self.store.put(f"{self.counters}{kvn:02X}", counter.value)


@dataclass(frozen=True)
class RfmInstance:
    """One RFM instance of the enabled profile (TS 102 226 §7, SAIP PE-RFM)."""

    aid: bytes
    fsid: str
    domain: AccessDomain
    default_adf: bytes | None

    def execute(self, ctx: Context, commands: list[bytes]) -> list[bytes]:
        """Run the script from the MF, or from the instance's ADF, under the access domain; with
        no access at all the first command is refused '6982' and the script ends (§5.1.1)."""
        if not self.domain.any_access:
            return [sw_bytes(SW.SECURITY_STATUS_NOT_SATISFIED)]
        pins = AccessDomainPins(ctx.store, self.fsid, self.domain)
        if self.default_adf is None:
            return ctx.execute(None, commands, Origin.OTA_SMS, pins)
        select = bytes([0x00, 0xA4, 0x04, 0x0C, len(self.default_adf)]) + self.default_adf
        first, *rest = ctx.execute(None, [select, *commands], Origin.OTA_SMS, pins)
        return rest if first[-2:] == sw_bytes(SW.OK) else [first]


class ProfileRoutes:
    """Route provider (:class:`euicc.ota.routing.RouteProvider`) of the enabled profile's RFM
    instances (TS 102 226 §7) and its security domains' RAM (§8), with the profile's key sets."""

    def route(self, ctx: Context, tar: bytes) -> Route | None:
        enabled = ctx.services.profiles.enabled()
        if enabled is None:
            return None
        store, fsid = ctx.store, enabled.fsid
        owner = f"profile:{enabled.isdp_aid.hex().upper()}"
        domains = _security_domains(store, fsid)
        for key in store.keys(fs_keys.rfm(fsid)):
            rfm = store.get(key)
            if tar not in [bytes(t) for t in rfm.get("tarList") or ()]:
                continue
            sd_aid = bytes(rfm.get("securityDomainAID") or (domains[0].aid if domains else b""))
            adf = rfm.get("adfRFMAccess")
            domain = AccessDomain(bytes(adf["adfAccessDomain"] if adf else rfm["uiccAccessDomain"]))
            instance = RfmInstance(bytes(rfm["instanceAID"]), fsid, domain, bytes(adf["adfAID"]) if adf else None)
            return Route(instance.aid, ProfileKeys(store, fsid, sd_aid), owner, instance,
                         MinimumSecurityLevel.spi1(bytes(rfm["minimumSecurityLevel"])[0]))
        for entry in domains:
            params = toolkit_parameters(store.get(fs_keys.sd_toolkit(fsid, entry.aid)) or b"")
            if params is not None and tar in params[1]:
                return Route(entry.aid, ProfileKeys(store, fsid, entry.aid), owner,
                             SecurityDomainScripts(ProfileSecurityDomain(entry, fsid)), params[0])
        return None


def _security_domains(store: Store, fsid: str) -> list[RegistryEntry]:
    """The profile's security domains, the MNO-SD (associated with no other SD [R]) first."""
    entries = [store.get(k) for k in store.keys(fs_keys.registry(fsid))]
    domains = [e for e in entries if e is not None and e.kind == KIND_SD]
    return sorted(domains, key=lambda e: (bool(e.sd) and e.sd != e.aid, e.aid))


def toolkit_parameters(data: bytes) -> tuple[MinimumSecurityLevel, list[bytes]] | None:
    """(MSL, TARs) of UICC toolkit application specific parameters, TS 102 226 §8.2.1.3.2.1:
    priority, max timers, max menu text length, menu entries (count, then position and
    identifier each), max channels, MSL (length, field), TARs (length, 3 bytes each), ...;
    None when the coding does not fit."""
    try:
        offset = 3
        offset += 1 + 2 * data[offset]          # menu entries
        offset += 1                             # maximum number of channels
        msl_length = data[offset]
        msl = bytes(data[offset + 1:offset + 1 + msl_length])
        offset += 1 + msl_length
        tar_length = data[offset]
        tars = bytes(data[offset + 1:offset + 1 + tar_length])
    except IndexError:
        return None
    if len(msl) != msl_length or len(tars) != tar_length or tar_length % TAR_LENGTH:
        return None
    return MinimumSecurityLevel(msl), [tars[i:i + TAR_LENGTH] for i in range(0, tar_length, TAR_LENGTH)]
