"""Multiple Enabled Profiles: SGP.22 v3.1 §2.12 (eSIM ports), §3.2.1 / §5.7.16 (EnableProfile
with ``targetEsimPort``), §5.7.15 (``enabledOnEsimPort`` in ProfileInfo).

An eSIM port is a logical SE interface of ETSI TS 102 221 (the kernel's :mod:`euicc.ports`):
ports are numbered from 0, each shows at most one enabled profile and a profile is enabled on at
most one port; enabling assigns the profile to a port, disabling frees it.  The MEP option is a
card setting (``CardConfig.ports``, made by :func:`layout`):

* ``off``: one enabled profile, the v2 behaviour (the default);
* ``A1``: the ISD-R is selected on port 0 only, profiles are enabled on ports 1 and up, the LPA
  names the port (``targetEsimPort``);
* ``A2``: as A1, but the eUICC chooses the port;
* ``B``: profiles on ports 0 and up, the ISD-R on any port; EnableProfile is sent on the port
  it enables the profile on (command port = target port).

Enabling on a port whose profile is enabled disables that profile (its PPR1 is checked:
disallowedByPolicy), as the single enabled profile is in v2.  Decisions where the sources at
hand are silent (named here, [U]): A1 without ``targetEsimPort`` -> commandError (7); a
``targetEsimPort`` that is not a profile port (A1: port 0 or beyond the last) ->
noEsimPortAvailable (10); A2 with a ``targetEsimPort`` -> commandError; A2 with every port in
use -> noEsimPortAvailable; B with a ``targetEsimPort`` other than the command port ->
commandError.  The REFRESH of refreshFlag, and catBusy, concern the proactive session of the
port the profile is enabled on or disabled from (each port has its own, euicc.lsi).

MEP-B, DisableProfile (§2.12: "ES10c.EnableProfile and, if CAT is initialised on the Target Port,
ES10c.DisableProfile are always sent on the Target Port ... If CAT is not initialised on the
Target Port, ES10c.DisableProfile can be sent on any eSIM Port"): CAT is initialised on a port
once its terminal has sent TERMINAL PROFILE there (TS 102 223 §5.2, euicc.cat.proactive).  A
DisableProfile of a profile enabled on such a port that comes in on another port is refused
with commandError (7) [U: the §5.7.17 text naming the result was not readable; commandError is
the v3 result this card gives for every other port rule].  An RPM disable is DisableProfile
(euicc.rsp.rpm_commands): the same rule applies to the port LoadRpmPackage comes in on [U].
MEP-A1/A2 send every ES10 command on port 0, so the rule does not apply to them.  SGP.22
v3.1's NotificationMetadata carries no port, so notifications are those of v2.

The optional MEP setup of §3.4.1 rides on MANAGE LSI "configure LSIs" (:func:`configure_lsis`):
the eUICC supports the one option it is set to, and answers which mode the Device and it share
(none when the Device did not list it) and how many ports can hold enabled profiles.  The
setting is not changed by it (one mode per card; a Device that shares none gets '00').  SGP.22
v3.1's EUICCInfo2 has no MEP member, so GetEUICCInfo2 is unchanged.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.ports import SINGLE, PortLayout
from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import ProfileRecord

if TYPE_CHECKING:
    from euicc.cat.proactive import ProactiveSession
    from euicc.context import Context

OFF, A1, A2, B = "off", "A1", "A2", "B"
MODES = (OFF, A1, A2, B)
MODE_CODES = {A1: 0x01, A2: 0x02, B: 0x03}
"""[U] MEP modes in MANAGE LSI "configure LSIs" ('00': no jointly supported mode)."""
NO_JOINT_MODE = 0x00
MEP_MODES_TAG, ENABLED_PROFILE_LSIS_TAG = 0x90, 0x91
"""[U] SGP.22 v3 §3.4.1 TLVs of "configure LSIs": the MEP modes (request: the Device's, by
priority; response: the jointly supported one, then every mode the eUICC supports) and the
number of LSIs for enabled profiles (request: the Device's maximum; response: the joint one)."""
COMMAND_ERROR, NO_ESIM_PORT_AVAILABLE = 7, 10     # EnableProfileResponse enableResult (v3.1)
DEFAULT_PROFILE_PORTS = 2
"""Ports that can hold an enabled profile (A1/A2: ports 1 and 2, B: ports 0 and 1); [U] the
number is the product's (SGP.22 leaves it to the eUICC)."""


def layout(mode: str, profile_ports: int = DEFAULT_PROFILE_PORTS) -> PortLayout:
    """The card's LSIs for the MEP option `mode` (:data:`MODES`)."""
    if mode == OFF:
        return SINGLE
    if mode in (A1, A2):
        return PortLayout(count=profile_ports + 1, profile_base=1, isd_r_ports=frozenset({0}), mode=mode)
    if mode == B:
        return PortLayout(count=profile_ports, profile_base=0, mode=mode)
    raise ValueError(f"MEP mode is one of {', '.join(MODES)}")


def active(ctx: Context) -> bool:
    """The card runs a MEP option (its ES10c messages are then those of v3.1)."""
    return ctx.config.ports.mode != OFF


def profiles(ctx: Context) -> ProfileManager:
    """The profile manager over the card's eSIM ports."""
    return ProfileManager(ctx.store, ctx.config.ports)


def esim_port(ctx: Context, record: ProfileRecord) -> int | None:
    """``enabledOnEsimPort`` of `record` (None: disabled, or the card has no MEP option)."""
    return profiles(ctx).port_of(record) if active(ctx) else None


def cat(ctx: Context, port: int | None) -> ProactiveSession:
    """The proactive session a profile change on eSIM port `port` concerns: that port's (its
    REFRESH, its catBusy), or the command's own when there is no port (no MEP option)."""
    return ctx.cat if port is None else ctx.cat_of(port)


def target_port(ctx: Context, request: dict, manager: ProfileManager) -> tuple[int | None, int | None]:
    """(port, None) where EnableProfile enables, or (None, enableResult) when refused; (None,
    None) on a card without MEP (the v2 rule: the one enabled profile is replaced)."""
    mode, ports = ctx.config.ports.mode, ctx.config.ports
    wanted = request.get("targetEsimPort")
    if mode == OFF:
        return None, None
    if mode == A1:
        if wanted is None:
            return None, COMMAND_ERROR
        return (wanted, None) if wanted in ports.profile_ports else (None, NO_ESIM_PORT_AVAILABLE)
    if mode == A2:
        if wanted is not None:
            return None, COMMAND_ERROR
        free = next((p for p in ports.profile_ports if manager.enabled_on(p) is None), None)
        return (free, None) if free is not None else (None, NO_ESIM_PORT_AVAILABLE)
    if wanted is not None and wanted != ctx.lsi:    # B: the command port is the target port
        return None, COMMAND_ERROR
    return ctx.lsi, None


def disable_refused(ctx: Context, port: int | None) -> int | None:
    """commandError when DisableProfile of the profile enabled on `port` must come in on that
    port and did not (MEP-B with CAT initialised there, module docstring), else None."""
    if ctx.config.ports.mode != B or port is None or port == ctx.lsi:
        return None
    return COMMAND_ERROR if ctx.cat_of(port).enabled else None


def configure_lsis(ctx: Context, request: dict[int, bytes]) -> bytes:
    """SGP.22 v3 §3.4.1: the MEP part of MANAGE LSI "configure LSIs" (euicc.lsi), present when
    the Device sent its MEP modes ('90') and the card runs a MEP option."""
    if not active(ctx) or MEP_MODES_TAG not in request:
        return b""
    wanted = request[MEP_MODES_TAG]
    mine = MODE_CODES[ctx.config.ports.mode]
    out = tlv.tlv(MEP_MODES_TAG, bytes((mine if mine in wanted else NO_JOINT_MODE, mine)))
    if ENABLED_PROFILE_LSIS_TAG in request:
        proposed = request[ENABLED_PROFILE_LSIS_TAG]
        if len(proposed) != 1:
            raise SwError(SW.INCORRECT_DATA)
        joint = min(proposed[0], len(ctx.config.ports.profile_ports))
        out += tlv.tlv(ENABLED_PROFILE_LSIS_TAG, bytes((joint,)))
    return out
