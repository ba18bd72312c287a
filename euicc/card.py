"""The card: ATR, power and reset, and the one door in, ``Card.transmit`` (ISO/IEC 7816-3 §6, 7816-4).

    card = Card.open(Path("card.state"))
    card.transmit(bytes.fromhex("00A40004023F00"))   # any bytes in, a response with a valid SW out
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from applets import catalog
from euicc import provisioning, state_layout
from euicc.apdu import SW, sw_bytes
from euicc.aids import ISD_R_AID
from euicc.atr import DEFAULT_ATR
from euicc.auth.subscription import AkaSubscription
from euicc.channels import LE_6CXX, LE_POLICIES
from euicc.fs import keys as fs_keys
from euicc.fs.filesystem import FileSystem
from euicc.fs.model import adf_path
from euicc.fs.model import FileDescriptor
from euicc.fs.pin import PinState
from euicc.gp import key_store
from euicc.gp.access_control import AccessRule
from euicc.gp.secure_channel import SCP03_FEATURE
from euicc.gp.registry import RegistryEntry
from euicc import m2m
from euicc.nvm import POWER_LOSS, Codec, PowerCut, StateFileError, Store
from euicc.profiles.model import CLASS_TEST, STATE_ENABLED, ProfileRecord, iccid_digits
from euicc.rsp.es10 import OPTIONAL_FUNCTIONS
from euicc.rsp.euicc_info import DEFAULT_SETTINGS, EuiccInfoSettings
from euicc.session import CardServices, CardSession

log = logging.getLogger(__name__)

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")   # ETSI TS 101 220 Annex E: 3GPP USIM

FEATURES = frozenset({SCP03_FEATURE, *OPTIONAL_FUNCTIONS.values()})
"""Optional features a card may leave out: the ISD-R's SCP03 (GP Amd D) and ES10 functions."""

PERSISTENT_TYPES = (FileDescriptor, PinState, RegistryEntry, ProfileRecord, AkaSubscription,
                    AccessRule, *m2m.PERSISTENT_TYPES)


@dataclass(frozen=True)
class CardConfig:
    """Settings of a card that are not part of its persistent state (a vendor quirk profile,
    ``euicc-emu run --quirks``, sets them all; the defaults are this emulator's own card)."""

    atr: bytes | None = None     # None: DEFAULT_ATR (T=0 only); see euicc.atr.INTERFACES
    t0: bool = True              # T=0 response delivery (61xx / 6Cxx); False: direct (T=1 only)
    channels: int = 20           # logical channels including the basic one (TS 102 221: up to 20)
    le_policy: str = LE_6CXX     # T=0 case 2 with a wrong Le: euicc.channels.LE_POLICIES
    max_store_data_block: int | None = None   # longest STORE DATA block (bytes) the ISD-R takes
    isd_r_aid: bytes = ISD_R_AID              # the AID the ISD-R answers at (SGP.02 Annex H by default)
    euicc_info: EuiccInfoSettings = DEFAULT_SETTINGS
    disabled: frozenset[str] = frozenset()    # optional features that do not answer (FEATURES)


class Card:
    """A UICC/eUICC: persistent state in a `Store`, volatile state in a `CardSession`."""

    def __init__(self, store: Store, config: CardConfig = CardConfig(),
                 first_profile: str | None = None) -> None:
        if not 1 <= config.channels <= 20:
            raise ValueError("a UICC has 1 to 20 logical channels")
        if config.le_policy not in LE_POLICIES:
            raise ValueError(f"le_policy is one of {', '.join(LE_POLICIES)}")
        if not FEATURES >= config.disabled:
            raise ValueError(f"unknown features: {', '.join(sorted(config.disabled - FEATURES))}")
        self.store = store
        self.config = config
        self.session: CardSession | None = None
        try:
            self.services = CardServices(store, catalog())
            if store.created:
                provisioning.provision(store, self.services.catalog,
                                       first_profile=first_profile or provisioning.DEFAULT_FIRST_PROFILE)
            else:  # an existing file is used as it is, never provisioned over
                state_layout.check(store)
                provisioning.upgrade(store, self.services.catalog)
            self.power_on()
        except Exception as e:
            if store.created or isinstance(e, StateFileError):
                raise
            log.debug("cannot use the state in %s", store.path, exc_info=True)
            raise StateFileError(store.path, f"unusable card state ({type(e).__name__}: {e})") from e

    @classmethod
    def open(cls, state_path: Path | None, config: CardConfig = CardConfig(),
             first_profile: str | None = None, *, create: bool = True,
             durability: str = POWER_LOSS) -> Card:
        """Open the card whose state is `state_path` (None: in memory), or, when the file does
        not exist and `create` is true, make a new card there with `first_profile` of
        euicc.provisioning.FIRST_PROFILES enabled.  A file that is not a usable card raises
        StateFileError (one line: path and reason) and is left as it was.  `durability`
        (euicc.nvm.DURABILITIES): whether commits also survive a host power loss."""
        path = Path(state_path) if state_path else None
        store = Store(path, Codec(PERSISTENT_TYPES, state_layout.LAYOUT), create=create,
                      durability=durability)
        try:
            return cls(store, config, first_profile)
        except BaseException:
            store.close()
            if store.created and path is not None:
                path.unlink(missing_ok=True)   # a first run that failed leaves no half-made card
            raise

    @property
    def atr(self) -> bytes:
        return self.config.atr or DEFAULT_ATR

    def power_on(self) -> bytes:
        """Cold reset: all volatile state is new (ISO 7816-3 §6.2.2)."""
        self.session = CardSession(self.services, self.config)
        return self.atr

    def reset(self) -> bytes:
        """Warm reset: for this card the same as a cold one."""
        return self.power_on()

    def power_off(self) -> None:
        self.session = None

    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU; always returns data (maybe none) and a status word."""
        if self.session is None:
            self.power_on()
        try:
            return self.session.process(bytes(apdu))
        except PowerCut:
            self.session = None
            raise
        except Exception:
            log.exception("internal error on %s", bytes(apdu).hex().upper())
            return sw_bytes(SW.TECHNICAL_PROBLEM)

    def close(self) -> None:
        """Flush and release the state file (all commits are already durable)."""
        self.session = None
        self.store.close()

    def _usim_summary(self, record: ProfileRecord) -> dict:
        """IMSI of the profile's USIM (TS 31.102 §4.2.2) and, for a test profile
        (SGP.22 profileClass test), its published test keys."""
        fs = FileSystem(self.store, record.fsid)
        aid = next((a for a in fs.adfs() if a.startswith(USIM_AID_PREFIX)), None)
        if aid is None:
            return {}
        raw = fs.data(f"{adf_path(aid)}/6F07")
        out = {"usim_aid": aid.hex().upper()}
        if isinstance(raw, bytes) and raw and 2 <= raw[0] <= 8:
            out["imsi"] = iccid_digits(raw[1:1 + raw[0]])[1:]
        sub = self.store.get(fs_keys.aka(record.fsid, aid))
        if sub is not None and record.profile_class == CLASS_TEST:
            out["aka"] = {"algorithm": sub.algorithm, "k": sub.k.hex(), "opc": sub.opc.hex()}
        return out

    def describe(self) -> dict:
        """A summary for `euicc-emu info`: EID, ICCIDs, applets, profiles, ISD-R SCP03 test keys."""
        records = self.services.profiles.records()
        return {
            "eid": self.services.eid.hex().upper(),
            "iccids": [iccid_digits(r.iccid) for r in records],
            "applets": [{"aid": e.aid.hex().upper(), "kind": e.kind,
                         "lifecycle": f"{e.lifecycle:02X}", "privileges": f"{e.privileges:06X}"}
                        for e in self.services.registry.entries()],
            "profiles": [{"isdp_aid": r.isdp_aid.hex().upper(), "iccid": iccid_digits(r.iccid),
                          "state": "enabled" if r.state == STATE_ENABLED else "disabled",
                          "name": r.name, "provider": r.provider, "nickname": r.nickname,
                          **self._usim_summary(r)}
                         for r in records],
            "isd_r_scp03": key_store.describe_isd_r(self.store),
        }
