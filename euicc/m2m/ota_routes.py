"""SGP.02's part of the card's remote management (TS 102 225 / TS 102 226 through
:mod:`euicc.ota.secured_packet`): its TAR routes, its SCP03t script items and its per-packet hooks.

TARs (SGP.02 Annex H, TS 101 220 Annex D):
- '000001': the ISD-R, with the ISD-R key sets;
- the TAR inside an ISD-P's AID (bytes 13-15): that ISD-P, secured with the ISD-R key sets by
  default (``isdp_tars_use_isdr_keys``), admitting the SCP03t items '84'/'85'/'86' of ES8
  DownloadAndInstallation (SGP.02 §4.1.3.3) in its expanded scripts;
- ``rfm_tars`` (asked after the enabled profile's own RFM/RAM TARs): remote file management of
  the enabled profile with the SGP.02-installed key sets of its ISD-P.
All of them require ``isdr_minimum_security_level``.

Around each packet: the test credentials are given to a card without any (``prepare``), and the
platform management ticks (overdue rollbacks, notifications due) once it was answered.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.aids import ISD_R_AID as ISDR_AID
from euicc.crypto.scp80 import Scp80Settings
from euicc.m2m import es8
from euicc.m2m.admin_agent import Scp81Agent
from euicc.m2m.keystore import Scp80Keys
from euicc.m2m.personalization import ensure_personalized
from euicc.m2m.platform_management import PlatformManagement
from euicc.m2m.runtime import M2mRuntime
from euicc.m2m.settings import ISDR_TAR
from euicc.ota.routing import (PRIORITY_CARD_ISSUER, PRIORITY_FALLBACK, PRIORITY_PROFILE, FileSystemScripts, Route,
                               SecurityDomainScripts, TarRouter)
from euicc.ota.profile_ota import ProfileRoutes
from euicc.ota.scp81.trigger import TAG_TRIGGER
from euicc.ota.script import ItemHandler, ItemResult
from euicc.ota.secured_packet import RemoteManagement
from euicc.profiles.manager import ISD_P_ELF

if TYPE_CHECKING:
    from euicc.context import Context

ISDP_TAR_OFFSET = 12            # SGP.02 Annex H: the TAR is bytes 13-15 of the ISD-P AID
TAR_LENGTH = 3


class IssuerRoutes:
    """The ISD-R TAR (taking the SCP81 session trigger '81' of ``agent``, GP Amd B §3.8) and the
    ISD-P TARs."""

    def __init__(self, runtime: M2mRuntime, agent: Scp81Agent) -> None:
        self.runtime, self.agent = runtime, agent

    def route(self, ctx: Context, tar: bytes) -> Route | None:
        store, settings = ctx.store, self.runtime.settings
        minimum = settings.isdr_minimum_security_level
        if tar == ISDR_TAR:
            entry = ctx.registry.get(ISDR_AID)
            return Route(ISDR_AID, Scp80Keys.isdr(store), "isdr", SecurityDomainScripts(ctx.applet(entry)),
                         minimum, pushes={TAG_TRIGGER: self.agent.trigger}) if entry else None
        for entry in ctx.registry.entries():
            if entry.elf == ISD_P_ELF and entry.aid[ISDP_TAR_OFFSET:ISDP_TAR_OFFSET + TAR_LENGTH] == tar:
                isdr_keys = settings.isdp_tars_use_isdr_keys
                keys = Scp80Keys.isdr(store) if isdr_keys else Scp80Keys.isdp(store, entry.aid)
                return Route(entry.aid, keys, "isdr" if isdr_keys else entry.aid.hex().upper(),
                             SecurityDomainScripts(ctx.applet(entry)), minimum, _scp03t_items(entry.aid))
        return None


class ProfileRfmRoutes:
    """``rfm_tars``: the enabled profile's file system with its ISD-P's SGP.02 key sets."""

    def __init__(self, runtime: M2mRuntime) -> None:
        self.runtime = runtime

    def route(self, ctx: Context, tar: bytes) -> Route | None:
        settings = self.runtime.settings
        enabled = ctx.services.profiles.enabled()
        if tar not in settings.rfm_tars or enabled is None:
            return None
        return Route(b"", Scp80Keys.isdp(ctx.store, enabled.isdp_aid), enabled.isdp_aid.hex().upper(),
                     FileSystemScripts(), settings.isdr_minimum_security_level)


def _scp03t_items(aid: bytes) -> dict[int, ItemHandler]:
    """SCP03t command TLVs for ISD-P ``aid``; an error response ('9F..') ends the script."""
    def handle(ctx: Context, tag: int, value: bytes) -> ItemResult:
        response = es8.scp03t_item(ctx, aid, tag, value)
        return ItemResult(response, stops=response[:1] == b"\x9f")
    return dict.fromkeys(es8.SCP03T_TAGS, handle)


def remote_management(runtime: M2mRuntime, settings: Scp80Settings | None = None,
                      agent: Scp81Agent | None = None) -> RemoteManagement:
    """The card's remote management with SGP.02's routes and hooks registered (and ``agent``, the
    ISD-R's SCP81 administration agent, bound to it)."""
    agent = agent or Scp81Agent(runtime)
    router = TarRouter()
    router.register(IssuerRoutes(runtime, agent), PRIORITY_CARD_ISSUER)
    router.register(ProfileRoutes(), PRIORITY_PROFILE)
    router.register(ProfileRfmRoutes(runtime), PRIORITY_FALLBACK)

    def prepare(ctx: Context) -> None:
        ensure_personalized(ctx.store)
        runtime.volatile(ctx)

    def settle(ctx: Context) -> None:
        PlatformManagement(ctx, runtime).tick(runtime.volatile(ctx).attached)

    remote = RemoteManagement(router, settings or runtime.settings.scp80, prepare, settle)
    agent.bind(remote)
    return remote
