"""euicc-emu argument handling, plug-in discovery and `info` formatting."""
from pathlib import Path

import pytest

from tools import cli
from tools.cli_info import format_description
from tools.cli_run import card_config, card_plan, m2m_runtime


def test_default_state_path_follows_xdg():
    assert cli.default_state_path({"XDG_DATA_HOME": "/x/data", "HOME": "/home/u"}) == Path("/x/data/euicc-emu/card.state")
    assert cli.default_state_path({"HOME": "/home/u"}) == Path("/home/u/.local/share/euicc-emu/card.state")
    # XDG Base Directory spec: a relative value is invalid and must be ignored
    assert cli.default_state_path({"XDG_DATA_HOME": "rel", "HOME": "/h"}) == Path("/h/.local/share/euicc-emu/card.state")


def test_subcommands_discovered():
    names = cli.subcommand_modules()
    assert "tools.cli_run" in names and "tools.cli_info" in names
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--state", "/tmp/s", "--slot", "1", "--cards", "2", "--atr", "3B 00",
                              "--vpcd-host", "10.0.0.1", "--vpcd-port", "4000", "--t1-direct", "--trace",
                              "--log-level", "debug"])
    assert (args.state, args.slot, args.cards, args.atr) == (Path("/tmp/s"), 1, 2, b"\x3b\x00")
    assert (args.vpcd_host, args.vpcd_port, args.t1_direct, args.trace, args.log_level) == \
        ("10.0.0.1", 4000, True, "-", "DEBUG")
    defaults = parser.parse_args(["run"])
    assert (defaults.state, defaults.slot, defaults.cards, defaults.vpcd_port, defaults.trace, defaults.log_level) == \
        (None, 0, 1, 35963, None, "INFO")
    assert parser.parse_args(["run", "--trace", "t.log"]).trace == "t.log"


@pytest.mark.parametrize("argv", [["run", "--atr", "zz"], ["run", "--atr", "3B"], ["run", "--cards", "0"],
                                  ["run", "--slot", "-1"], ["run", "--m2m-validity-period", "0"],
                                  ["run", "--m2m-validity-period", "-5"], ["run", "--m2m-validity-period", "x"],
                                  ["run", "--m2m-validity-period", "nan"],
                                  ["run", "--m2m-notification-transport", "smtp"],
                                  ["run", "--m2m-notification-retry-interval", "0"], ["nope"], []])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(argv)
    assert exc.value.code == 2


def test_m2m_validity_period_reaches_the_sgp02_runtime(monkeypatch):
    """--m2m-validity-period sets the rollback period (SGP.02 §3.2) of the card's M2M runtime;
    without it the card keeps its own settings (no runtime passed); a card without the m2m extension
    refuses it (``run`` exits 2 on that ValueError)."""
    monkeypatch.delenv("EUICC_EXTENSIONS", raising=False)   # the default card: both extensions
    parser = cli.build_parser()
    runtime = m2m_runtime(parser.parse_args(["run", "--m2m-validity-period", "5"]))
    assert runtime is not None and runtime.settings.validity_period == 5.0
    assert m2m_runtime(parser.parse_args(["run", "--m2m-validity-period", "2.5"])).settings.validity_period == 2.5
    assert m2m_runtime(parser.parse_args(["run"])) is None
    with pytest.raises(ValueError, match="without the m2m extension"):
        m2m_runtime(parser.parse_args(["run", "--extensions", "rsp", "--m2m-validity-period", "5"]))


def test_m2m_notification_transport_reaches_the_sgp02_runtime(monkeypatch, tmp_path, capsys):
    """--m2m-notification-transport sets how notifications go to the SM-SR (SGP.02 §3.15), with
    --m2m-validity-period and --m2m-notification-retry-interval in the same runtime; a card without the m2m extension is refused with
    exit status 2 before any slot is claimed or state file created."""
    monkeypatch.delenv("EUICC_EXTENSIONS", raising=False)
    parser = cli.build_parser()
    assert parser.parse_args(["run"]).m2m_notification_transport is None
    settings = m2m_runtime(parser.parse_args(["run", "--m2m-notification-transport", "https"])).settings
    assert (settings.notification_transport, settings.validity_period) == ("https", 180.0)
    settings = m2m_runtime(parser.parse_args(["run", "--m2m-notification-transport", "sms", "--m2m-validity-period",
                                              "7", "--m2m-notification-retry-interval", "2.5"])).settings
    assert (settings.notification_transport, settings.validity_period) == ("sms", 7.0)
    assert settings.notification_retry_interval == 2.5
    state = tmp_path / "s"
    assert cli.main(["run", "--state", str(state), "--slot", "9", "--extensions", "rsp",
                     "--m2m-notification-transport", "https"]) == 2
    assert "--m2m-notification-transport: the card is opened without the m2m extension" in capsys.readouterr().err
    assert not state.exists()


T0_ONLY = bytes.fromhex("3B9796801FC78031E073FE215FFB")
T0_T1 = bytes.fromhex("3B979680811FC78031E073FE215F7A")
T1_ONLY = bytes.fromhex("3B9796811FC78031E073FE215FFA")


@pytest.mark.parametrize("extra,atr,t0", [
    ([], T0_ONLY, True),
    (["--protocols", "t0"], T0_ONLY, True),
    (["--protocols", "t0-t1"], T0_T1, True),
    (["--protocols", "t0-t1", "--t1-direct"], T0_T1, False),
    (["--protocols", "t1"], T1_ONLY, False),          # a T=1-only card delivers directly
    (["--atr", "3B0214 50"], bytes.fromhex("3B021450"), True),
    (["--atr", "3B021450", "--t1-direct"], bytes.fromhex("3B021450"), False),
])
def test_card_config_from_protocol_options(extra, atr, t0):
    config = card_config(cli.build_parser().parse_args(["run", *extra]))
    assert (config.atr, config.t0) == (atr, t0)


def test_t1_direct_refused_for_a_t0_only_card(tmp_path, capsys):
    # a T=0-only ATR with direct delivery would answer case 4 in a way no T=0 link carries
    assert cli.main(["run", "--state", str(tmp_path / "s"), "--t1-direct"]) == 2
    assert "--t1-direct needs an ATR that offers T=1" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_protocols_and_atr_exclusive(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["run", "--protocols", "t1", "--atr", "3B00"])
    assert exc.value.code == 2


def test_card_plan():
    assert card_plan(Path("/s/card.state"), 1, 1) == [(1, Path("/s/card.state"))]
    assert card_plan(Path("/s/card.state"), 0, 3) == [
        (0, Path("/s/card.state.0")), (1, Path("/s/card.state.1")), (2, Path("/s/card.state.2"))]


def test_info_on_missing_state_fails_clearly(tmp_path, capsys):
    assert cli.main(["info", "--state", str(tmp_path / "none.state")]) == 1
    assert capsys.readouterr().err == (f"euicc-emu: {tmp_path / 'none.state'}: no card state here "
                                       "(`euicc-emu run` creates one)\n")
    assert not (tmp_path / "none.state").exists()


def test_format_description():
    text = format_description({
        "eid": "89049032123451234512345678901235", "iccids": ["8944476500001224158"],
        "applets": [{"aid": "A0000005591010FFFFFFFF8900000100", "kind": "ISD-R", "lifecycle": "PERSONALIZED",
                     "privileges": ["SD", "CM"]}],
        "profiles": [],
    })
    assert text.splitlines()[0] == "EID:      89049032123451234512345678901235"
    assert "ICCIDs:   8944476500001224158" in text
    assert "A0000005591010FFFFFFFF8900000100" in text and "SD,CM" in text
    assert text.endswith("Profiles: (none)")
