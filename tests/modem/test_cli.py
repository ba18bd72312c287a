"""``euicc-emu modem`` argument handling (the plug-in rule of tools/cli.py)."""
from tools import cli


def test_modem_is_a_subcommand_with_its_quirk_options():
    assert "tools.modem.cli" in cli.subcommand_modules()
    args = cli.build_parser().parse_args(["modem", "--reader", "Virtual PCD 00 00", "--link", "/tmp/x", "--lower-hex",
                                          "--no-logical-channels", "--max-apdu", "64", "--csim-length", "bytes",
                                          "--fetch-response", "--ccho-prefix"])
    assert (args.reader, str(args.link), args.max_apdu, args.csim_length) == ("Virtual PCD 00 00", "/tmp/x", 64, "bytes")
    assert args.lower_hex and args.no_logical_channels and args.fetch_response and args.ccho_prefix


def test_state_and_reader_exclude_each_other_and_apdu_needs_a_header(tmp_path, capsys):
    assert cli.main(["modem", "--state", str(tmp_path / "c.state"), "--reader", "0"]) == 2
    assert cli.main(["modem", "--state", str(tmp_path / "c.state"), "--max-apdu", "3"]) == 2
    err = capsys.readouterr().err
    assert "exclude each other" in err and "--max-apdu must be at least 4" in err


def test_unreadable_state_file_is_an_error_not_a_traceback(tmp_path, capsys):
    state = tmp_path / "bad.state"
    state.write_bytes(b"not a state file at all")
    assert cli.main(["modem", "--state", str(state)]) == 1
    assert "euicc-emu modem:" in capsys.readouterr().err
