"""What a command sees of the card while it runs (the kernel's shared types).

- :class:`Origin`: who sent the command: the terminal over the card interface (TS 102 221 §10),
  or a remote entity through an OTA script (TS 102 226 §5: over SMS-PP, TS 102 225; over HTTPS,
  GP Amd B).  Whoever runs commands sets it: ``CardSession.process`` (terminal), the OTA script
  engine (``CardSession.execute``).  Nothing infers it from which channel object is in use.
- the typed volatile records of the extensions (euicc.volatile), reached as ``ctx.volatile``
  (power cycle) and ``ctx.channel.volatile`` (channel).
- :class:`CardServices`: the card's persistent services and the ports extensions fill in
  (envelope handlers, ISD-R functions, runtimes, toolkit events and deadlines, BIP channels).
- :class:`Context`: the card as one command sees it.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from euicc.cat.bip import BipService
from euicc.cat.toolkit import EVENT_DOWNLOAD, TIMER_EXPIRATION, Toolkit
from euicc.gp.registry import Registry
from euicc import keys as card_keys
from euicc.profiles import keys as profile_keys
from euicc.profiles.manager import ProfileManager
from euicc.volatile import Volatile

if TYPE_CHECKING:
    from euicc.apdu import Command
    from euicc.cat.proactive import ProactiveSession
    from euicc.config import CardConfig
    from euicc.channels import Application, Channel
    from euicc.fs.filesystem import FileSystem
    from euicc.fs.pin import PinService
    from euicc.gp.registry import RegistryEntry
    from euicc.nvm import Store

T = TypeVar("T")


class Origin(enum.Enum):
    """Where the command being processed came from."""

    TERMINAL = "terminal"          # a C-APDU over the card interface (TS 102 221 §10)
    OTA_SMS = "OTA over SMS"       # a remote APDU of a secured SMS-PP packet (TS 102 225 / 226)
    OTA_HTTPS = "OTA over HTTPS"   # a remote APDU of an SCP81 HTTPS session (GP Amd B)


EnvelopeHandler = Callable[["Context", int, bytes], bytes]   # (ctx, tag, value) -> response data


class IsdRFunctions(Protocol):
    """What an extension adds to the ISD-R (SGP.22 ES10 over STORE DATA, SGP.02 ES5).

    The ISD-R asks each extension in turn; the first whose :meth:`claims` is true processes the
    command.  :meth:`template` is the extension's part of the FCI's 'E0' template,
    :meth:`get_status` may extend a GET STATUS answer (SGP.02 eUICCCapabilityAudit).
    """

    def claims(self, ctx: Context, cmd: Command) -> bool: ...

    def process(self, ctx: Context, cmd: Command, isdr_aid: bytes) -> bytes: ...

    def template(self, ctx: Context) -> bytes: ...

    def get_status(self, ctx: Context, data: bytes) -> bytes: ...


class CardServices:
    """The card's persistent services, shared by every session of one open state file, and the
    ports the extensions fill in when the card is opened (see euicc.extension)."""

    def __init__(self, store: Store, catalog: Mapping[str, type[Application]]) -> None:
        self.store = store
        self.registry = Registry(store)
        self.profiles = ProfileManager(store)
        self.catalog = dict(catalog)
        self.isd_r_functions: list[IsdRFunctions] = []
        self.toolkit = Toolkit()        # events and deadlines the extensions declare (TS 102 223)
        self.bip = BipService(self.toolkit)   # BIP channels for the engines (TS 102 223 §6.4.27)
        self.envelope_handlers: dict[int, EnvelopeHandler] = {
            EVENT_DOWNLOAD: self.toolkit.event_download, TIMER_EXPIRATION: self.toolkit.timer_expiration}
        self._runtimes: dict[type, object] = {}

    @property
    def eid(self) -> bytes:
        return self.store.get(card_keys.EID, b"")

    @property
    def active_fsid(self) -> str:
        return self.store.get(profile_keys.ACTIVE_FS, "")

    def add_runtime(self, runtime: object) -> None:
        """An extension's settings, clock and randomness (one object per class)."""
        self._runtimes[type(runtime)] = runtime

    def runtime(self, cls: type[T]) -> T:
        """The runtime of class `cls` the card was opened with (KeyError: no such extension)."""
        return self._runtimes[cls]   # type: ignore[return-value]


class CommandRunner(Protocol):
    """What a context needs of the card session that runs its command (euicc.session)."""

    services: CardServices
    config: CardConfig
    fs: FileSystem
    pins: PinService
    cat: ProactiveSession
    volatile: Volatile

    def applet(self, entry: RegistryEntry) -> Application: ...

    def execute(self, applet: Application | None, apdus: list[bytes], origin: Origin,
                pins: PinService | None = None) -> list[bytes]: ...


class Context:
    """What an applet or file command sees of the card while it processes one command."""

    __slots__ = ("_session", "channel", "origin")

    def __init__(self, session: CommandRunner, channel: Channel, origin: Origin = Origin.TERMINAL) -> None:
        self._session = session
        self.channel = channel
        self.origin = origin

    @property
    def services(self) -> CardServices:
        return self._session.services

    @property
    def store(self) -> Store:
        return self._session.services.store

    @property
    def config(self) -> CardConfig:
        """The card's settings (euicc.config)."""
        return self._session.config

    @property
    def registry(self) -> Registry:
        return self._session.services.registry

    @property
    def fs(self) -> FileSystem:
        return self._session.fs

    @property
    def pins(self) -> PinService:
        return self._session.pins

    @property
    def cat(self) -> ProactiveSession:
        """The proactive session of the card (TS 102 223 §6)."""
        return self._session.cat

    @property
    def volatile(self) -> Volatile:
        """Records that live for the power cycle (:attr:`Lifetime.POWER_CYCLE`)."""
        return self._session.volatile

    def applet(self, entry: RegistryEntry) -> Application:
        """The session's instance of a registered applet."""
        return self._session.applet(entry)

    def execute(self, applet: Application | None, apdus: list[bytes], origin: Origin,
                pins: PinService | None = None) -> list[bytes]:
        """Run an OTA script's commands with `origin` (see CardSession.execute)."""
        return self._session.execute(applet, apdus, origin, pins)

    def runtime(self, cls: type[T]) -> T:
        return self._session.services.runtime(cls)

    def __repr__(self) -> str:
        return f"Context(channel={self.channel.number}, origin={self.origin.name})"
