"""The SGP.22 v2.5 (consumer RSP) extension of the card kernel (euicc.extension).

It brings the RSP records (the eUICC identity in the ECASD, RAT, addresses, notifications, CRLs),
the eUICC identity of a new card (euicc.rsp.identity), and ES10a/b/c over the ISD-R's STORE DATA
(SGP.22 §5.7.2) with the SVN in the ISD-R's 'E0' template.  Its runtime (clock, randomness, key
generation: euicc.rsp.runtime) is what the card uses for challenges and keys.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import keys as card_keys
from euicc import tlv
from euicc.apdu import Command
from euicc.extension import Extension, Refuse
from euicc.gp import store_data
from euicc.rsp import es10, euicc_info, identity, mep
from euicc.rsp import keys as rsp_keys
from euicc.rsp.runtime import RspRuntime

if TYPE_CHECKING:
    from euicc.context import CardServices, Context
    from euicc.nvm import Store

INS_STORE_DATA = 0xE2


class Es10Functions:
    """ES10 over STORE DATA (SGP.22 §5.7.2): the blocks of one command collected (GP §11.11),
    then dispatched by its tag; the 'E0' template carries the SVN ('82', SGP.22 §2.2.1)."""

    def claims(self, ctx: Context, cmd: Command) -> bool:
        # not the DGI format (GP §11.11.2.1): SGP.02 ES5 uses it
        return cmd.ins == INS_STORE_DATA and cmd.p1 & 0x18 != 0x08

    def process(self, ctx: Context, cmd: Command, isdr_aid: bytes) -> bytes:
        data = store_data.collect(cmd, ctx.channel.applet_state)
        return b"" if data is None else es10.dispatch(ctx, data)

    def template(self, ctx: Context) -> bytes:
        return tlv.tlv(0x82, euicc_info.settings(ctx.config).svn)

    def get_status(self, ctx: Context, data: bytes) -> bytes:
        return data


class RspExtension(Extension):
    """SGP.22 on the card, with `runtime` (clock, randomness, key generation)."""

    NAME = "rsp"
    LAYOUT = rsp_keys.LAYOUT
    REQUIRED = (rsp_keys.IDENTITY,)
    FEATURES = frozenset(es10.OPTIONAL_FUNCTIONS.values())

    def __init__(self, runtime: RspRuntime | None = None) -> None:
        self.runtime = runtime or RspRuntime()

    def install(self, services: CardServices) -> None:
        services.add_runtime(self.runtime)
        services.isd_r_functions.append(Es10Functions())
        services.lsi_configurators.append(mep.configure_lsis)

    def provision(self, store: Store) -> None:
        identity.create_default(store, store.get(card_keys.EID).hex().upper(), self.runtime)

    def check(self, store: Store, refuse: Refuse) -> None:
        try:
            identity.load(store)
        except (identity.IdentityError, ValueError, TypeError, KeyError) as e:
            refuse(f"{rsp_keys.IDENTITY} is unusable ({e})")

    def __repr__(self) -> str:
        return f"RspExtension({self.runtime!r})"
