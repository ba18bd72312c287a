"""The `euicc-emu` command line as a newcomer meets it: every (sub)command of the whole parser tree,
mounted tools included, found by walking it (so new commands are checked without editing this file)."""
from __future__ import annotations

import argparse
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from tools import cli

ROOT = Path(__file__).resolve().parents[2]
REST = re.compile(r"``|:(mod|func|class|meth):`|card\.describe|Card\.describe")
"""reStructuredText markup and internal names that must not reach a user's screen."""
EXAMPLE_EID = "89049032000000000000000000000163"  # tools.pki sample eUICC (tools/pki/test_pki/README.md)


def _children(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def command_tree() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(command words, parser) for `euicc-emu` and each (sub)command below it; a mounted tool's
    own parser stands in for its placeholder."""
    top = cli.build_parser()
    tree = []

    def walk(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:
        tree.append((path, parser))
        for name, child in _children(parser).items():
            if not path and name in top.mounted:
                child = top.mounted[name].build_parser()
            walk(path + (name,), child)

    walk((), top)
    return tree


TREE = command_tree()
PATHS = [path for path, _ in TREE]
IDS = [" ".join(path) or "euicc-emu" for path in PATHS]


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    """``euicc-emu ARGV`` in process: exit status, stdout, stderr."""
    capsys.readouterr()
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def test_the_tree_holds_every_command_and_mounted_tool():
    top = cli.build_parser()
    commands = {path[0] for path in PATHS if path}
    assert commands == set(_children(top))
    assert {"run", "info", "pki", "profile", "smsr", "ota", "terminal"} <= commands
    assert set(top.mounted) <= commands and {"pki", "profile", "smsr"} <= set(top.mounted)
    assert ("smsr", "audit") in PATHS and ("pki", "eid") in PATHS and ("lpa", "profile") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_help_usage_and_plain_description(path, capsys):
    status, out, err = run(capsys, [*path, "--help"])
    assert status == 0, err
    assert out.startswith(" ".join(["usage: euicc-emu", *path]) + " ")
    parser = dict(TREE)[path]
    description = (parser.description or "").strip()
    assert description, f"{' '.join(path)}: no description"
    assert description.splitlines()[0] in out
    assert all(name in out for name in _children(parser)), f"{' '.join(path)} --help does not list its sub-commands"
    assert not REST.search(out), f"{' '.join(path)}: markup or internal name in help: {REST.search(out)[0]!r}"


@pytest.mark.parametrize("path", [p for p in PATHS if len(p) <= 1], ids=[i for p, i in zip(PATHS, IDS) if len(p) <= 1])
def test_each_command_help_shows_an_example(path, capsys):
    _, out, _ = run(capsys, [*path, "--help"])
    example = out[out.index("example"):] if "example" in out else ""
    assert re.search(r"^example(s)?:$", out, re.MULTILINE), f"{' '.join(path)}: no 'example:' section"
    assert re.search("^  " + re.escape(" ".join(["euicc-emu", *path])) + r"( |$)", example, re.MULTILINE), \
        f"{' '.join(path)}: no example line"


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=[i for p, i in zip(PATHS, IDS) if p])
def test_log_level_in_every_position(path, capsys):
    """Accepted before the command and after each (sub)command word; an invalid level is refused
    there too (which shows that the parser at that position, not a later one, read the option)."""
    for i in range(len(path) + 1):
        words = list(path)
        for level, expected in (("DEBUG", 0), ("debug", 0), ("NOPE", 2)):
            argv = [*words[:i], "--log-level", level, *words[i:], "--help"]
            status, out, err = run(capsys, argv)
            assert status == expected, (argv, err)
            if expected == 0:
                assert out.startswith(" ".join(["usage: euicc-emu", *path]) + " ")
            else:
                assert "invalid choice: 'NOPE'" in err, argv


@pytest.mark.parametrize("argv", [
    ["--log-level", "DEBUG", "pki", "eid", "check", EXAMPLE_EID],                    # mounted tool
    ["pki", "--log-level", "DEBUG", "eid", "check", EXAMPLE_EID],
    ["pki", "eid", "check", EXAMPLE_EID, "--log-level", "DEBUG"],
    ["--log-level", "DEBUG", "info", "--state", "/nonexistent/card.state"],         # register() plug-in
    ["info", "--state", "/nonexistent/card.state", "--log-level", "DEBUG"],
])
def test_log_level_reaches_logging(argv, capsys, monkeypatch):
    levels = []
    monkeypatch.setattr(cli, "_configure_logging", levels.append)
    run(capsys, argv)
    assert levels == ["DEBUG"]
    run(capsys, [a for a in argv if a not in ("--log-level", "DEBUG")])
    assert levels == ["DEBUG", "INFO"]


def test_mounted_tool_runs_with_top_level_options(capsys):
    """SGP.29 EID check digits (ISO 7064 MOD 97-10), through `euicc-emu pki` as a user types it."""
    assert run(capsys, ["--log-level", "WARNING", "pki", "eid", "check", EXAMPLE_EID]) == (0, "valid\n", "")
    assert run(capsys, ["pki", "eid", "check", EXAMPLE_EID[:-1] + "4"])[:2] == (1, "invalid\n")


def test_no_arguments_prints_usage_and_commands(capsys):
    status, out, err = run(capsys, [])
    assert status == 2 and "Traceback" not in err
    assert err.startswith("usage: euicc-emu ")
    listed = {line.split()[0] for line in err.split("commands:\n", 1)[1].splitlines() if line.startswith("  ")}
    assert listed == {path[0] for path in PATHS if path}


def test_unknown_command_is_one_line_exit_2(capsys):
    status, out, err = run(capsys, ["nope", "--state", "x"])
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and "unknown command 'nope'" in err
    assert run(capsys, ["--log-level", "DEBUG", "nope"])[0] == 2


def _project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as stream:
        return tomllib.load(stream)["project"]["version"]


def test_version(capsys):
    status, out, _ = run(capsys, ["--version"])
    assert status == 0 and out.startswith(f"euicc-emu {_project_version()}")


def test_version_from_a_checkout_that_is_not_installed(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(cli.metadata, "version", not_installed)
    assert cli.version() == f"{_project_version()} (source checkout)"
