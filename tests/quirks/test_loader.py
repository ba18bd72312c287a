"""Vendor quirk profiles as files: the shipped presets, hand-written user files, and what a bad file
gets (a one-line `euicc-emu: quirks FILE: ...`, exit status 1, never a traceback).

Expected values are written out here from the sources the presets name (the sysmoEUICC1-C2T ATR
and EUICCInfo2 recorded in pySim's test suite), not read back from the preset files.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from tools import cli
from tools.quirks import QuirkError, load, presets

SYSMO_ATR = bytes.fromhex("3B9F96803F87828031E073FE211F574543753130136502")   # pySim cardinfo test
ATR_T0 = bytes.fromhex("3B9796801FC78031E073FE215FFB")                        # euicc-emu's default
ATR_T1 = bytes.fromhex("3B9796811FC78031E073FE215FFA")


def write(tmp_path: Path, text: str, name: str = "card.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_shipped_presets_load():
    assert {"default", "sysmoeuicc1", "phone-euicc", "legacy-v2.2"} <= set(presets())
    for name in ("default", "sysmoeuicc1", "phone-euicc", "legacy-v2.2"):
        profile = load(name)
        assert profile.description and "\n" not in profile.description
        open_card(None, profile.config).close()   # the card accepts every preset's settings


def test_default_preset_is_todays_card():
    config = load("default").config
    assert config == CardConfig(atr=ATR_T0)
    assert open_card(None).atr == ATR_T0


def test_sysmoeuicc1_values():
    config = load("sysmoeuicc1").config
    assert config.atr == SYSMO_ATR and config.t0
    assert (config.channels, config.max_store_data_block, config.le_policy) == (8, 255, "6Cxx")
    info = config.euicc_info
    assert (info.svn, info.profile_version, info.firmware_version) == (bytes((2, 3, 0)), bytes((2, 3, 1)),
                                                                       bytes((35, 6, 35)))
    assert (info.pp_version, info.sas_accreditation_number) == (bytes((1, 0, 0)), "SYSMOCOM-TEST-1")
    assert info.euicc_category is None


def test_user_file_with_every_key(tmp_path):
    path = write(tmp_path, """
description = "a vendor card"
source = "hand-written"
atr = "3B 97 96 81 1F C7 80 31 E0 73 FE 21 5F FA"
t1_direct = true
le_policy = "direct"
channels = 4
max_store_data_block = 120
isd_r_aid = "A0000005591010FFFFFFFF8900050500"
ef_dir_aids = ["A0000005591010FFFFFFFF8900050500", "A00000015141434C00"]
disabled_features = ["get_rat", "scp03"]
[euicc_info]
svn = "2.2.2"
profile_version = "2.1.0"
firmware_version = "9.8.7"
ts102241_version = "absent"
globalplatform_version = "2.2.1"
pp_version = "0.0.1"
euicc_category = "medium"
sas_accreditation_number = "VENDOR-1"
ci_pkids_for_verification = ["0102030405060708090A0B0C0D0E0F1011121314"]
ci_pkids_for_signing = ["F54172BDF98A95D65CBEB88A38A1C11D800A85C3"]
ci_pkids_for_signing_v3 = ["F54172BDF98A95D65CBEB88A38A1C11D800A85C3"]
enterprise_profiles = false
cert_chain_v3 = false
device_change = false
""")
    profile = load(str(path))
    config = profile.config
    assert (profile.name, profile.protocols) == ("card", None)
    assert config.atr == ATR_T1 and not config.t0
    assert (config.le_policy, config.channels, config.max_store_data_block) == ("direct", 4, 120)
    assert config.isd_r_aid == bytes.fromhex("A0000005591010FFFFFFFF8900050500")
    assert config.ef_dir_aids == (bytes.fromhex("A0000005591010FFFFFFFF8900050500"),
                                  bytes.fromhex("A00000015141434C00"))
    assert config.disabled == {"get_rat", "scp03"}
    info = config.euicc_info
    assert (info.svn, info.ts102241_version, info.euicc_category) == (bytes((2, 2, 2)), None, 2)
    assert info.ci_pkids_for_signing == (bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3"),)
    assert info.ci_pkids_for_signing_v3 == info.ci_pkids_for_signing
    assert not (info.enterprise_profiles or info.cert_chain_v3 or info.device_change)


def test_user_folder_profiles_are_listed_by_name(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "euicc-emu" / "quirks"
    folder.mkdir(parents=True)
    write(folder, 'description = "my lab card"\nchannels = 2\n', "lab.toml")
    write(folder, 'description = "not the shipped one"\n', "default.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load("lab").config.channels == 2
    assert load("default").description.startswith("this emulator's own card")   # shipped one wins
    status, out, _ = run_cli(capsys, ["quirks", "list"])
    assert status == 0 and "lab          my lab card\n" in out and "sysmoeuicc1  " in out


@pytest.mark.parametrize("text,message", [
    ('description = "x"\nchanels = 4\n', "unknown key chanels"),
    ('description = "x"\n[euicc_info]\nsvm = "2.2.0"\n', "unknown key euicc_info.svm"),
    ('description = "x"\nchannels = "4"\n', "channels: expected an integer, got str '4'"),
    ('description = "x"\nchannels = true\n', "channels: expected an integer, got bool True"),
    ('description = "x"\nchannels = 21\n', "channels: 21 is not in 1..20"),
    ('description = "x"\nmax_store_data_block = 0\n', "max_store_data_block: 0 is not in 1..65535"),
    ('description = "x"\natr = "3B9G"\n', "atr: not hex: '3B9G'"),
    ('description = "x"\nisd_r_aid = "A000"\n', "isd_r_aid: 2 bytes, expected 5..16"),
    ('description = "x"\nle_policy = "61xx"\n', "le_policy: '61xx' is not one of 6Cxx, direct"),
    ('description = "x"\nprotocols = "t2"\n', "protocols: 't2' is not one of t0, t0-t1, t1"),
    ('description = "x"\ndisabled_features = "scp03"\n', "disabled_features: expected a list"),
    ('description = "x"\ndisabled_features = ["ara_m"]\n', "disabled_features[0]: 'ara_m' is not one of"),
    ('description = "x"\nt1_direct = "yes"\n', "t1_direct: expected true or false"),
    ('description = "x"\nt1_direct = true\n', "t1_direct: a T=0-only ATR delivers data with 61xx/6Cxx"),
    ('description = "x"\natr = "3B00"\nprotocols = "t1"\n', "atr and protocols exclude each other"),
    ('source = "x"\n', "description: missing"),
    ('description = ""\n', "description: expected one non-empty line"),
    ('description = "x"\neuicc_info = 3\n', "euicc_info: expected a table"),
    ('description = "x"\n[euicc_info]\nsvn = "2.2"\n', "euicc_info.svn: expected a version"),
    ('description = "x"\n[euicc_info]\nsvn = "2.256.0"\n', "euicc_info.svn: expected a version"),
    ('description = "x"\n[euicc_info]\neuicc_category = 1\n', "euicc_info.euicc_category: expected a string"),
    ('description = "x"\n[euicc_info]\nci_pkids_for_signing = []\n', "at least one key identifier"),
    ('description = "x"\n[euicc_info]\nci_pkids_for_signing = ["zz"]\n', "ci_pkids_for_signing[0]: not hex"),
    ('description = "x\n', "not TOML"),
])
def test_bad_file_is_one_line_exit_1(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    with pytest.raises(QuirkError) as raised:
        load(str(path))
    assert message in str(raised.value)
    run_argv = ["run", "--quirks", str(path), "--state", str(tmp_path / "s")]
    for argv in (["quirks", "show", str(path)], run_argv):
        status, out, err = run_cli(capsys, argv)
        assert (status, out) == (1, ""), argv
        assert err.startswith(f"euicc-emu: quirks {path}: ") and err.count("\n") == 1, err
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()   # no card was created


def test_unknown_name(capsys):
    status, _, err = run_cli(capsys, ["quirks", "show", "nokia-3310"])
    assert status == 1 and err.startswith("euicc-emu: quirks nokia-3310: no profile of that name")
    assert "sysmoeuicc1" in err and err.count("\n") == 1


def test_show_prints_resolved_settings(capsys):
    status, out, _ = run_cli(capsys, ["quirks", "show", "sysmoeuicc1"])
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert status == 0
    assert lines["atr"].strip() == SYSMO_ATR.hex().upper()
    assert lines["euicc_info.svn"].strip() == "2.3.0" and lines["channels"].strip() == "8"
    assert lines["disabled_features"].strip() == "none"
    status, out, _ = run_cli(capsys, ["quirks", "show", "--json", "phone-euicc"])
    import json
    values = json.loads(out)
    assert values["channels"] == 4 and values["euicc_info.svn"] == "2.5.0"   # default kept


@pytest.mark.parametrize("extra,atr,t0", [
    ([], SYSMO_ATR, True),
    (["--protocols", "t1"], ATR_T1, False),                   # explicit options override the profile
    (["--atr", "3B00"], bytes.fromhex("3B00"), True),
    (["--atr", "3B00", "--t1-direct"], bytes.fromhex("3B00"), False),
])
def test_run_options_override_the_profile(extra, atr, t0):
    from tools.cli_run import card_config
    config = card_config(cli.build_parser().parse_args(["run", "--quirks", "sysmoeuicc1", *extra]))
    assert (config.atr, config.t0) == (atr, t0)
    assert config.channels == 8 and config.euicc_info.svn == bytes((2, 3, 0))   # the rest is kept


def test_t1_direct_with_a_t0_only_profile_is_refused(capsys, tmp_path):
    from tools.cli_run import card_config
    with pytest.raises(ValueError, match="offers T=0 only"):
        card_config(cli.build_parser().parse_args(["run", "--quirks", "default", "--t1-direct"]))
    config = card_config(cli.build_parser().parse_args(["run", "--quirks", "phone-euicc", "--t1-direct"]))
    assert not config.t0 and config.channels == 4


@pytest.mark.parametrize(("extra", "svn", "highest"), [
    ([], "2.5.0", "3.1.0"),
    (["--svn", "2.5.0"], "2.5.0", "2.5.0"),
    (["--quirks", "legacy-v2.2"], "2.2.0", "2.2.0"),
    (["--quirks", "legacy-v2.2", "--svn", "3.1.0"], "2.2.0", "3.1.0"),
    (["--quirks", "sysmoeuicc1"], "2.3.0", "2.3.0"),
])
def test_svn_option_and_profiles(extra, svn, highest):
    """`run --svn`: the highest SGP.22 version (EUICCInfo highestSvn); 2.5.0 = v2 only."""
    from tools.cli_run import card_config
    info = card_config(cli.build_parser().parse_args(["run", *extra])).euicc_info
    assert (".".join(map(str, info.svn)), ".".join(map(str, info.highest_svn))) == (svn, highest)


def test_highest_svn_must_be_the_svn_or_3_1_0(tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text('description = "odd"\n[euicc_info]\nsvn = "2.2.0"\nhighest_svn = "3.0.0"\n')
    with pytest.raises(QuirkError, match="highest_svn"):
        load(str(path))


def test_mep_option_and_profile_key(tmp_path):
    """`run --mep` / quirk key `mep`: the eSIM ports of SGP.22 v3 MEP (euicc.rsp.mep); MEP is v3,
    so a v2-only card refuses it."""
    from tools.cli_run import card_config
    config = card_config(cli.build_parser().parse_args(["run", "--mep", "A1"]))
    assert (config.ports.mode, config.ports.count, config.ports.profile_base) == ("A1", 3, 1)
    assert config.ports.isd_r_ports == frozenset({0})
    assert card_config(cli.build_parser().parse_args(["run"])).ports.count == 1
    with pytest.raises(ValueError, match="SGP.22 v3"):
        card_config(cli.build_parser().parse_args(["run", "--mep", "B", "--svn", "2.5.0"]))
    path = tmp_path / "mep.toml"
    path.write_text('description = "MEP-B phone eUICC"\nmep = "B"\n')
    assert load(str(path)).config.ports.mode == "B"
    path.write_text('description = "bad"\nmep = "C"\n')
    with pytest.raises(QuirkError, match="mep"):
        load(str(path))
