"""The SGP.02 v4.2 (M2M) extension of the card kernel (euicc.extension).

It brings the SGP.02 records (euicc.m2m.records), the ISD-P applet that takes ES8, the manufacturing
credentials of a new card (euicc.m2m.personalization), ES5 on the ISD-R (from its secured OTA
channel only), and the envelope handlers of the OTA path: 'D1' SMS-PP data download (the remote
management layer, euicc.ota, with SGP.02's routes of euicc.m2m.ota_routes; TS 102 225 / 226, TS 31.115);
through the card's toolkit it registers the location status event (Fall-Back, TS 102 223 §7.5.4)
and keeps its deadlines with the terminal's timers (euicc.m2m.events).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from euicc.apdu import Command
from euicc.cat.envelope import SMS_PP_DOWNLOAD
from euicc.extension import Extension
from euicc.m2m import es5, personalization, records
from euicc.m2m.admin_agent import Scp81Agent
from euicc.m2m.cat_tp_agent import CatTpAgent
from euicc.m2m.events import EVENT_LOCATION_STATUS, LocationStatus, M2mDeadlines, poll_location
from euicc.m2m.isd_p import IsdP
from euicc.m2m.ota_routes import remote_management
from euicc.m2m.runtime import M2mRuntime
from euicc.ota.origin import current_origin
from euicc.ota.transport_sms import SmsPpDataDownload

if TYPE_CHECKING:
    from euicc.channels import Application
    from euicc.context import CardServices, Context
    from euicc.nvm import Store


class Es5Functions:
    """ES5 on the ISD-R (SGP.02 §4.1.1): INSTALL, DELETE, DGI STORE DATA, GET DATA 'BF30' / 'FF21',
    PUSH (TS 102 226 §9, the CAT_TP link request of :mod:`euicc.m2m.cat_tp_agent`),
    and the ISD-P attributes of a GET STATUS from the SM-SR (eUICCCapabilityAudit, §4.1.1.5)."""

    def claims(self, ctx: Context, cmd: Command) -> bool:
        return es5.is_es5(cmd)

    def process(self, ctx: Context, cmd: Command, isdr_aid: bytes) -> bytes:
        return es5.process(ctx, cmd, isdr_aid)

    def template(self, ctx: Context) -> bytes:
        return b""

    def get_status(self, ctx: Context, data: bytes) -> bytes:
        return data if current_origin(ctx) is None else es5.isdp_attributes(ctx, data)


class M2mExtension(Extension):
    """SGP.02 on the card, with `runtime` (settings, clock, randomness)."""

    NAME = "m2m"
    RECORD_TYPES = records.PERSISTENT_TYPES
    LAYOUT = records.LAYOUT
    REQUIRED = records.REQUIRED

    def __init__(self, runtime: M2mRuntime | None = None) -> None:
        self.runtime = runtime or M2mRuntime()

    def applets(self) -> Mapping[str, type[Application]]:
        return {"isd_p": IsdP}

    def install(self, services: CardServices) -> None:
        services.add_runtime(self.runtime)
        agent = Scp81Agent(self.runtime)
        services.add_runtime(agent)
        remote = remote_management(self.runtime, agent=agent)
        services.envelope_handlers[SMS_PP_DOWNLOAD] = SmsPpDataDownload(remote)
        cat_tp = CatTpAgent(self.runtime, remote)
        services.add_runtime(cat_tp)
        services.toolkit.on_event(EVENT_LOCATION_STATUS, LocationStatus(self.runtime))
        services.toolkit.keep_deadlines(M2mDeadlines(self.runtime))
        services.toolkit.after_profile(lambda ctx: poll_location(ctx, self.runtime))
        services.toolkit.after(agent.open_due)
        services.toolkit.after(cat_tp.open_due)
        services.toolkit.keep_deadlines(cat_tp)
        services.toolkit.keep_deadlines(agent)
        services.isd_r_functions.append(Es5Functions())

    def provision(self, store: Store) -> None:
        personalization.ensure_personalized(store)

    def __repr__(self) -> str:
        return f"M2mExtension({self.runtime!r})"
