"""``euicc-emu``: the command line (console script ``tools.cli:main``).

Subcommands are plug-ins, so each engineer adds theirs in their own module:

* a module ``tools/cli_<name>.py``, or
* a module ``tools/<package>/cli.py``

defining ``register(subparsers)``, which adds one or more ``argparse`` sub-parsers (with ``help``,
a plain-text ``description`` when it says more than ``help``, and an ``epilog`` with an example) and
sets ``func`` (called with the parsed ``argparse.Namespace``, returns the exit status) via
``set_defaults``.  A ``tools/<package>/cli.py`` with ``main(argv)`` and ``build_parser()`` (a
:class:`CommandParser` whose ``prog`` is ``euicc-emu COMMAND`` and whose description starts with a
one-line summary) instead is mounted as
``euicc-emu COMMAND ...`` (``COMMAND``: the module's ``COMMAND``, else the package name) and
receives the rest of the command line.  Every parser of the tree accepts ``--log-level`` (see
:class:`CommandParser`), so the option works before and after any (sub)command.  Shared helpers for
plug-ins: :func:`default_state_path`, :func:`add_state_argument`.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import signal
import sys
import tomllib
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType

import tools

APP_DIR = "euicc-emu"
STATE_FILE = "card.state"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "INFO"
DISTRIBUTION = "euicc-emu"
EPILOG = """\
examples:
  euicc-emu run                 present the default card on vpcd slot 0 until Ctrl-C
  euicc-emu info                show its EID, ICCIDs, applets and profiles

Run 'euicc-emu COMMAND --help' for the options and an example of each command."""


class _Commands(argparse._SubParsersAction):
    """Sub-commands whose ``description`` defaults to their ``help``; ``summaries`` maps each
    name to that one-line help."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.summaries: dict[str, str] = {}

    def add_parser(self, name: str, **kwargs):  # type: ignore[override]
        if kwargs.get("description") is None:
            kwargs["description"] = kwargs.get("help")
        self.summaries[name] = kwargs.get("help") or ""
        return super().add_parser(name, **kwargs)


class CommandParser(argparse.ArgumentParser):
    """The parser of every ``euicc-emu`` (sub)command: help texts keep their line breaks, sub-parsers
    are of the same class, a sub-command's ``description`` defaults to its ``help``, and each parser
    accepts ``--log-level`` (options that belong to every command work in every position)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=argparse.SUPPRESS,
                          metavar="LEVEL",
                          help=f"logging threshold: {', '.join(LOG_LEVELS)} (default {DEFAULT_LOG_LEVEL})")

    def add_subparsers(self, **kwargs):  # type: ignore[override]
        kwargs.setdefault("action", _Commands)
        return super().add_subparsers(**kwargs)


def version() -> str:
    """The installed distribution's version; from a source checkout that is not installed, the
    version in its ``pyproject.toml``."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        pass
    try:
        with open(Path(tools.__file__).resolve().parent.parent / "pyproject.toml", "rb") as stream:
            return f"{tomllib.load(stream)['project']['version']} (source checkout)"
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown (not installed)"


def default_state_path(environ: dict[str, str] | None = None) -> Path:
    """Per-user state file: ``$XDG_DATA_HOME/euicc-emu/card.state``, XDG Base Directory spec
    default ``~/.local/share`` when the variable is unset or not absolute."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME", str(Path.home()))) / ".local" / "share"
    return root / APP_DIR / STATE_FILE


def add_state_argument(parser: argparse.ArgumentParser) -> None:
    """``--state PATH`` with the per-user default, and ``--extensions`` (the card's functions)."""
    parser.add_argument(
        "--state", type=Path, default=None, metavar="PATH",
        help=f"card state file (default: {default_state_path()})",
    )
    parser.add_argument("--extensions", type=_extension_names, default=None, metavar="LIST",
                        help="the card's functions, comma-separated: rsp (SGP.22 consumer RSP), m2m "
                             "(SGP.02 M2M); default both, or $EUICC_EXTENSIONS. A state file holding "
                             "records of an extension left out is refused")


def _extension_names(text: str) -> tuple[str, ...]:
    from euicc.composition import parse_names
    try:
        return parse_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def state_path(args: argparse.Namespace) -> Path:
    """The ``--state`` value, or the default when it was not given."""
    return args.state if args.state is not None else default_state_path()


def subcommand_modules() -> list[str]:
    """Names of the plug-in modules, in a stable order (see module docstring)."""
    names = []
    for info in pkgutil.iter_modules(tools.__path__):
        if not info.ispkg and info.name.startswith("cli_"):
            names.append(f"tools.{info.name}")
        elif info.ispkg and (Path(tools.__path__[0]) / info.name / "cli.py").is_file():
            names.append(f"tools.{info.name}.cli")
    return sorted(names)


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # one broken plug-in must not take the whole CLI down
        print(f"euicc-emu: warning: subcommands of {name} unavailable: {exc}", file=sys.stderr)
        return None


def _mount_main(sub: argparse._SubParsersAction, name: str, module: ModuleType) -> str:
    """List a tool with its own ``main(argv)`` as a subcommand; :func:`main` hands it the rest of
    the line (the placeholder parser here only names it in ``euicc-emu --help``)."""
    command = getattr(module, "COMMAND", name.split(".")[1].replace("_", "-"))
    summary = (module.build_parser().description or "").strip().split("\n", 1)[0].rstrip(".")
    if summary[1:2].islower():  # "Act as ..." -> "act as ...", as the other commands' help
        summary = summary[0].lower() + summary[1:]
    parser = sub.add_parser(command, help=summary, add_help=False)
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    return command


def build_parser() -> CommandParser:
    """The ``euicc-emu`` parser; ``.commands`` is its sub-commands action, ``.mounted`` maps the
    commands of mounted tools to their module."""
    parser = CommandParser(
        prog="euicc-emu", epilog=EPILOG,
        description="A software eUICC (embedded SIM) that PC/SC programs see as a smart card in the\n"
                    "vsmartcard virtual reader (vpcd), and test tools to drive it.")
    parser.add_argument("--version", action="version", version=f"euicc-emu {version()}")
    parser.set_defaults(log_level=DEFAULT_LOG_LEVEL)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    parser.commands = sub  # type: ignore[attr-defined]
    parser.mounted = {}  # type: ignore[attr-defined]
    for name in subcommand_modules():
        module = _load(name)
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
        elif callable(getattr(module, "main", None)) and callable(getattr(module, "build_parser", None)):
            parser.mounted[_mount_main(sub, name, module)] = module  # type: ignore[attr-defined]
    return parser


def overview(parser: CommandParser) -> str:
    """Short usage and the command list: what ``euicc-emu`` alone prints."""
    summaries = parser.commands.summaries  # type: ignore[attr-defined]
    width = max(map(len, summaries))
    lines = [parser.format_usage().rstrip(), "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in summaries.items()]
    lines += ["", "Run 'euicc-emu COMMAND --help' for the options and an example of each command."]
    return "\n".join(lines)


def _split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """The command word after the top-level options, and the arguments that follow it."""
    front = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    front.add_argument("--log-level")
    front.add_argument("command", nargs="?")
    front.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        args, _ = front.parse_known_args(argv)
    except argparse.ArgumentError:  # e.g. --log-level without a value: the real parser says so
        return None, []
    return args.command, args.rest


def _log_level(argv: list[str]) -> str | None:
    """The (valid) ``--log-level`` among a mounted tool's arguments; the tool's parser reports bad ones."""
    scan = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    scan.add_argument("--log-level", type=str.upper)
    try:
        level = scan.parse_known_args(argv)[0].log_level
    except argparse.ArgumentError:
        return None
    return level if level in LOG_LEVELS else None


def _configure_logging(level: str) -> None:
    """The one logging set-up of every command (``--log-level``)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _run_command(command: Callable[[], int | None]) -> int:
    """Run a command; a state file that is not a usable card is one line and exit status 1.  A
    reader of the output that goes away (``euicc-emu info | head -3``) ends the command quietly
    with the status a shell gives a program killed by SIGPIPE (128 + 13), not a traceback."""
    from euicc.nvm import StateFileError
    try:
        status = int(command() or 0)
        sys.stdout.flush()   # a broken pipe shows here, not in the interpreter's exit flush
        return status
    except StateFileError as exc:
        print(f"euicc-emu: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # nothing left to flush at exit
        return 128 + signal.SIGPIPE


def main(argv: list[str] | None = None) -> int:
    """Run ``euicc-emu ARGV``; returns the exit status (2: usage error, as argparse)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv:
        print(overview(parser), file=sys.stderr)
        return 2
    command, rest = _split_command(argv)
    if command is not None and command not in parser.commands.choices:  # type: ignore[attr-defined]
        print(f"euicc-emu: unknown command '{command}' (run 'euicc-emu' for the list)", file=sys.stderr)
        return 2
    tool = parser.mounted.get(command)  # type: ignore[attr-defined]
    if tool is not None:  # a tool with its own argument parser gets the rest of the line
        top = parser.parse_args(argv[:len(argv) - len(rest)])  # top-level options and the command
        _configure_logging(_log_level(rest) or top.log_level)
        return _run_command(lambda: tool.main(rest))
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    return _run_command(lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
