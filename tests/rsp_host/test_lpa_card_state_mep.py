"""`euicc-emu lpa --card-state FILE --mep A1|A2|B`: the LPA drives an in-process card with the
Multiple Enabled Profiles option of `euicc-emu run --mep` (SGP.22 v3.1 §2.12), so it can manage
the eSIM ports of a MEP card state file.  Known answers: the ports of the MEP tables in README
(A1: profiles on ports 1-2, the LPA names the port; B: ports 0-1, the port of the command), the
TS.48 v7 test profile's ICCID 89000123456789012341, the built-in test profile's
89001000000000000010 (tests/rsp/test_mep).
"""
from __future__ import annotations

import json

from euicc.rsp import mep
from tests.rsp.test_mep import mep_card
from tools.lpa import cli

TS48, BUILT_IN = "89000123456789012341", "89001000000000000010"


def ports(args: list[str], capsys) -> dict[str, int | None]:
    assert cli.main([*args, "profile", "list"]) == 0
    return {p["iccid"]: p.get("esimPort") for p in json.loads(capsys.readouterr().out)}


def test_lpa_enables_on_an_esim_port_of_a_mep_a1_state_file(tmp_path, capsys):
    state = tmp_path / "a1.state"
    mep_card(mep.A1, state)[0].close()
    base = ["--card-state", str(state), "--mep", "A1"]
    assert ports(base, capsys) == {BUILT_IN: 1, TS48: None}
    assert cli.main([*base, "profile", "enable", TS48, "--port", "2"]) == 0
    assert json.loads(capsys.readouterr().out) == {"result": 0, "esimPort": 2}
    assert ports(base, capsys) == {BUILT_IN: 1, TS48: 2}
    assert cli.main([*base, "profile", "disable", BUILT_IN]) == 0
    capsys.readouterr()
    assert ports(base, capsys) == {BUILT_IN: None, TS48: 2}
    # the same file without the option: a single-enabled card, no ports in its answers
    assert ports(["--card-state", str(state)], capsys) == {BUILT_IN: None, TS48: None}


def test_lpa_on_a_mep_b_state_file_sends_enable_on_the_target_port(tmp_path, capsys):
    state = tmp_path / "b.state"
    mep_card(mep.B, state)[0].close()
    assert cli.main(["--card-state", str(state), "--mep", "B", "--lsi", "1", "profile", "enable", TS48]) == 0
    assert json.loads(capsys.readouterr().out) == {"result": 0, "esimPort": 1}
    assert ports(["--card-state", str(state), "--mep", "B"], capsys) == {BUILT_IN: 0, TS48: 1}


def test_lpa_prints_the_port_a_mep_a2_card_chose(tmp_path, capsys):
    """MEP-A2: the eUICC chooses the port (its first free one, port 2 while the built-in profile is
    on port 1, README MEP table); the EnableProfileResponse ``targetEsimPort`` (SGP.22 v3.1) is
    printed as "esimPort", the key of ``profile list``.  A refusal names no port."""
    state = tmp_path / "a2.state"
    mep_card(mep.A2, state)[0].close()
    base = ["--card-state", str(state), "--mep", "A2"]
    assert cli.main([*base, "profile", "enable", TS48]) == 0
    assert json.loads(capsys.readouterr().out) == {"result": 0, "esimPort": 2}
    assert ports(base, capsys) == {BUILT_IN: 1, TS48: 2}
    assert cli.main([*base, "profile", "enable", TS48]) == 1
    assert json.loads(capsys.readouterr().out) == {"result": 2}             # profileNotInDisabledState


def test_mep_needs_an_in_process_card(capsys):
    assert cli.main(["--mep", "A1", "profile", "list"]) == 2
    assert "--card-state" in capsys.readouterr().err
