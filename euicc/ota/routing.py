"""TAR routing of secured packets (ETSI TS 102 225 §5.1.1, TS 102 226 §8.2.1.3.2.1, TS 101 220
Annex D): which application a Command Packet's TAR selects, which key sets secure it, its
Minimum Security Level (TS 102 226 §8.2.1.3.2.2) and what runs its remote APDUs.

The router knows no TAR itself: route providers register with it (SGP.02's ISD-R and ISD-P rules
from :mod:`euicc.m2m.ota_routes`, the enabled profile's RFM and RAM from
:mod:`euicc.ota.profile_ota`) and are asked in priority order; the first route wins.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from euicc.apdu import SW, sw_bytes
from euicc.crypto.scp80 import CounterState, KeyProvider, KeyUsage, MinimumSecurityLevel
from euicc.ota.origin import OtaOrigin, current_origin, script_origin
from euicc.ota.script import ItemHandler, ScriptExecutor

if TYPE_CHECKING:
    from euicc.applet import Applet
    from euicc.context import Context

# Provider priorities: lower is asked first.
PRIORITY_CARD_ISSUER = 10      # the card's own security domains (e.g. SGP.02 ISD-R, ISD-Ps)
PRIORITY_PROFILE = 50          # the enabled profile's RFM instances and RAM
PRIORITY_FALLBACK = 90         # catch-all TARs (e.g. SGP.02 ``rfm_tars``)


class CountedKeys(KeyProvider, Protocol):
    """Key sets of one owner with their replay counters (TS 102 225 §5.1.1), persisted by the caller
    once a packet passed every check."""

    def counter(self, kvn: int) -> CounterState: ...

    def set_counter(self, kvn: int, counter: CounterState) -> None: ...


@dataclass(frozen=True)
class Route:
    """Where a TAR leads: the target AID (b'' for the file system), its key sets, the key-set
    owner's name, what runs the script, the Minimum Security Level and the extra script items
    the target admits (e.g. SGP.02 SCP03t for an ISD-P) and the push commands it takes
    (:class:`PushHandler`, by tag)."""

    target: bytes
    keys: CountedKeys
    owner: str
    executor: ScriptExecutor
    minimum: MinimumSecurityLevel = MinimumSecurityLevel()
    items: Mapping[int, ItemHandler] = field(default_factory=dict)
    pushes: Mapping[int, PushHandler] = field(default_factory=dict)


class PushHandler(Protocol):
    """Processes secured data that is a push command (first byte: its tag) instead of a script,
    e.g. GP Amd B §3.8's administration session trigger; returns the PoR's response data."""

    def __call__(self, ctx: Context, data: bytes, origin: OtaOrigin) -> bytes: ...


class RouteProvider(Protocol):
    def route(self, ctx: Context, tar: bytes) -> Route | None: ...


class TarRouter:
    """The route providers of one card, asked in priority order (ties: registration order)."""

    def __init__(self) -> None:
        self._providers: list[tuple[int, int, RouteProvider]] = []

    def register(self, provider: RouteProvider, priority: int = PRIORITY_PROFILE) -> None:
        self._providers.append((priority, len(self._providers), provider))
        self._providers.sort(key=lambda entry: entry[:2])

    def route(self, ctx: Context, tar: bytes) -> Route | None:
        for _priority, _order, provider in self._providers:
            found = provider.route(ctx, tar)
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class SecurityDomainScripts:
    """Remote APDUs to a security domain or application: it accepts none from a packet without a
    cryptographic checksum, which proves no key (TS 102 225 §5.1.3, SGP.02 §2.4.1), so the script
    stops at its first command with '6982' (TS 102 226 §5.1.1)."""

    applet: Applet

    def execute(self, ctx: Context, commands: list[bytes]) -> list[bytes]:
        origin = current_origin(ctx)
        if origin is None or origin.kvn == 0:
            return [sw_bytes(SW.SECURITY_STATUS_NOT_SATISFIED)]
        return ctx.execute(self.applet, commands, origin.transport.origin)


class FileSystemScripts:
    """Remote file management from the MF with the terminal's access rights (TS 102 226 §7)."""

    def execute(self, ctx: Context, commands: list[bytes]) -> list[bytes]:
        return ctx.execute(None, commands, script_origin(ctx))


class NoKeys:
    """Key provider of a refusal before any key set was identified (the PoR goes unsecured)."""

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None:
        return None

    def key_type(self, kvn: int) -> int | None:
        return None
