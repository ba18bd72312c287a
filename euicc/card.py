"""The card: ATR, power and reset, and the one door in, ``Card.transmit`` (ISO/IEC 7816-3 §6, 7816-4).

    card = Card.open(Path("card.state"), applets=catalog(), extensions=[RspExtension()])
    card.transmit(bytes.fromhex("00A40004023F00"))   # any bytes in, a response with a valid SW out

The kernel's card knows no SGP specification: the applets and the extensions (euicc.extension)
it is opened with bring them.  ``euicc.composition.open_card`` opens one with the standard
applets and extensions.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from euicc import provisioning, state_layout
from euicc.apdu import SW, sw_bytes
from euicc.aids import ECASD_AID, ISD_R_AID
from euicc.atr import presented
from euicc.channels import LE_POLICIES
from euicc.config import CardConfig
from euicc.context import CardServices
from euicc.fs import keys as fs_keys
from euicc.fs.filesystem import FileSystem
from euicc.fs.model import adf_path
from euicc.gp import key_store
from euicc.gp.secure_channel import SCP03_FEATURE
from euicc.nvm import POWER_LOSS, PowerCut, StateFileError, Store
from euicc.nvm_codec import Codec
from euicc.profiles.model import CLASS_TEST, STATE_ENABLED, ProfileRecord, iccid_digits
from euicc.session import CardSession

if TYPE_CHECKING:
    from euicc.channels import Application
    from euicc.extension import Extension

log = logging.getLogger(__name__)

USIM_AID_PREFIX = bytes.fromhex("A0000000871002")   # ETSI TS 101 220 Annex E: 3GPP USIM

__all__ = ["Card", "CardConfig"]


def features_of(extensions: Sequence[Extension | type[Extension]]) -> frozenset[str]:
    """Optional features a card with `extensions` may leave out (``CardConfig.disabled``): the
    ISD-R's SCP03 (GP Amd D) and each extension's (SGP.22: its optional ES10 functions)."""
    return frozenset({SCP03_FEATURE}).union(*(ext.FEATURES for ext in extensions))


class Card:
    """A UICC/eUICC: persistent state in a `Store`, volatile state in a `CardSession`."""

    def __init__(self, store: Store, config: CardConfig = CardConfig(),
                 first_profile: str | None = None, *, applets: Mapping[str, type[Application]] | None = None,
                 extensions: Sequence[Extension] = ()) -> None:
        if not 1 <= config.channels <= 20:
            raise ValueError("a UICC has 1 to 20 logical channels")
        if config.le_policy not in LE_POLICIES:
            raise ValueError(f"le_policy is one of {', '.join(LE_POLICIES)}")
        features = features_of(extensions)
        if not features >= config.disabled:
            raise ValueError(f"unknown features: {', '.join(sorted(config.disabled - features))}")
        self.store = store
        self.config = config
        self.extensions = tuple(extensions)
        self.session: CardSession | None = None
        try:
            catalog = dict(applets or {})
            for extension in self.extensions:
                catalog.update(extension.applets())
            self.services = CardServices(store, catalog)
            for extension in self.extensions:
                extension.install(self.services)
            if store.created:
                provisioning.provision(store, self.services.catalog, self.extensions,
                                       first_profile=first_profile or provisioning.DEFAULT_FIRST_PROFILE,
                                       ef_dir_aids=_ef_dir_aids(config))
            else:  # an existing file is used as it is, never provisioned over
                state_layout.check(store, self.extensions)
                provisioning.upgrade(store, self.services.catalog)
            self.power_on()
        except Exception as e:
            if store.created or isinstance(e, StateFileError):
                raise
            log.debug("cannot use the state in %s", store.path, exc_info=True)
            raise StateFileError(store.path, f"unusable card state ({type(e).__name__}: {e})") from e

    @classmethod
    def open(cls, state_path: Path | None, config: CardConfig = CardConfig(),
             first_profile: str | None = None, *, applets: Mapping[str, type[Application]] | None = None,
             extensions: Sequence[Extension] = (), create: bool = True, durability: str = POWER_LOSS) -> Card:
        """Open the card whose state is `state_path` (None: in memory) with `applets` (a catalog
        by name) and `extensions`, or, when the file does not exist and `create` is true, make a
        new card there with `first_profile` of euicc.provisioning.FIRST_PROFILES enabled.  A file
        that is not a usable card (for these extensions) raises StateFileError (one line: path
        and reason) and is left as it was.  `durability` (euicc.nvm.DURABILITIES): whether commits
        also survive a host power loss."""
        path = Path(state_path) if state_path else None
        codec = Codec(state_layout.record_types(extensions), state_layout.layout(extensions))
        store = Store(path, codec, create=create, durability=durability)
        try:
            return cls(store, config, first_profile, applets=applets, extensions=extensions)
        except BaseException:
            store.close()
            if store.created and path is not None:
                path.unlink(missing_ok=True)   # a first run that failed leaves no half-made card
            raise

    @property
    def atr(self) -> bytes:
        return presented(self.config.atr, self.config.ports.count > 1)

    def power_on(self) -> bytes:
        """Cold reset: all volatile state is new (ISO 7816-3 §6.2.2)."""
        self._end_power_cycle()
        self.session = CardSession(self.services, self.config)
        return self.atr

    def reset(self) -> bytes:
        """Warm reset: for this card the same as a cold one."""
        return self.power_on()

    def power_off(self) -> None:
        self._end_power_cycle()
        self.session = None

    def _end_power_cycle(self) -> None:
        """The session with the terminal ends (reset, power off): the toolkit's reset hooks run
        with its context (euicc.cat.toolkit; the BIP layer tells the engines on its channels)."""
        if self.session is not None:
            self.services.toolkit.card_reset(self.session)

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


def _ef_dir_aids(config: CardConfig) -> tuple[bytes, ...]:
    """What a new card's own EF.DIR lists: the configured AIDs, else the ISD-R (at the AID it
    answers at) and the ECASD."""
    return config.ef_dir_aids if config.ef_dir_aids is not None else (config.isd_r_aid, ECASD_AID)
