"""Enterprise Rules on a Multiple Enabled Profiles card (SGP.22 v3.1 §2.4.12 with §2.12): an
enable or disable is checked against every profile it would leave enabled, on every eSIM port;
the profile an enable displaces from its port no longer counts, the ones on the other ports do.

Known answers as in tests/rsp/test_enterprise (published v3.1 module: enableResult / disableResult
ok 0, disallowedByEnterpriseRule 6; enterpriseRuleBits referenceEnterpriseRule 0,
priorityEnterpriseProfile 1).  MEP-A1 with three profile ports (1-3); port 1 holds the new card's
own built-in profile, a non-Enterprise Profile.
"""
from __future__ import annotations

from dataclasses import replace

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp import mep
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from euicc.rsp.identity import import_identity
from tests.rsp import test_enterprise as base
from tests.rsp.helpers import SGP26, Lpa, swap
from tests.rsp.test_enterprise import ACME, OK, PRIORITY, REFERENCE, config, iccid, v3  # noqa: F401
from tests.rsp.test_v3 import V3_SVN

DISALLOWED_BY_ENTERPRISE_RULE = 6
BUILT_IN = "8988100000000000003"             # the built-in profile's ICCID, Luhn digit and 'F' left out


class MepCard(base.Card):
    """tests/rsp/test_enterprise's card with MEP-A1 and three profile ports."""

    def __init__(self, spec) -> None:
        self.spec = spec
        cfg = CardConfig(ports=mep.layout(mep.A1, profile_ports=3),
                         euicc_info=replace(DEFAULT_SETTINGS, highest_svn=V3_SVN))
        card = open_card(None, cfg)
        import_identity(card.store, SGP26)
        self.lpa = Lpa(card)
        self.lpa.select_isd_r()

    def enable_on(self, n: int | None, port: int) -> int:
        ident = swap(BUILT_IN + "1") if n is None else swap(iccid(n))
        return self.es10("EnableProfileRequest", {"profileIdentifier": ("iccid", ident), "refreshFlag": False,
                                                  "targetEsimPort": port}, "EnableProfileResponse")["enableResult"]

    def on_ports(self) -> dict[str, int]:
        return {swap(p["iccid"].hex()).hex().upper().rstrip("F"): p["enabledOnEsimPort"]
                for p in self.profiles() if "enabledOnEsimPort" in p}


def test_every_enabled_port_counts_against_the_reference_rule(v3):
    card = MepCard(v3)
    card.install(1, config(ACME, REFERENCE, PRIORITY, limit=1))     # E: priority, one consumer profile
    card.install(2)                                                   # C: a consumer profile
    assert card.on_ports() == {BUILT_IN + "1": 1}
    assert card.enable_on(1, 2) == OK                                 # E beside the built-in one
    assert card.enable_on(2, 3) == DISALLOWED_BY_ENTERPRISE_RULE      # two consumer profiles enabled
    assert card.enable_on(2, 1) == OK                                 # C replaces the built-in one
    assert card.on_ports() == {iccid(2): 1, iccid(1): 2}
    assert card.enable_on(None, 2) == DISALLOWED_BY_ENTERPRISE_RULE   # it would displace E
    assert card.enable_on(None, 3) == DISALLOWED_BY_ENTERPRISE_RULE   # a second consumer profile
    assert card.disable(1) == DISALLOWED_BY_ENTERPRISE_RULE           # priority: E stays enabled
    assert card.disable(2) == OK
    assert card.enable_on(None, 3) == OK
    assert card.on_ports() == {iccid(1): 2, BUILT_IN + "1": 3}


def test_priority_lets_other_ports_be_used_while_the_reference_profile_stays(v3):
    """With priorityEnterpriseProfile and no limit on consumer profiles, enabling on another port
    is allowed when the reference profile stays enabled, and refused on the port it is on."""
    card = MepCard(v3)
    card.install(1, config(ACME, REFERENCE, PRIORITY, limit=2))
    card.install(2)
    assert card.enable_on(1, 2) == OK
    assert card.enable_on(2, 2) == DISALLOWED_BY_ENTERPRISE_RULE      # on E's port: E displaced
    assert card.enable_on(2, 3) == OK
    assert card.on_ports() == {BUILT_IN + "1": 1, iccid(1): 2, iccid(2): 3}
