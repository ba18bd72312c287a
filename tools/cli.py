"""``euicc-emu``: the command line (console script ``tools.cli:main``).

Subcommands are plug-ins, so each engineer adds theirs in their own module:

* a module ``tools/cli_<name>.py``, or
* a module ``tools/<package>/cli.py``

defining ``register(subparsers)``, which adds one or more ``argparse`` sub-parsers and sets
``func`` (called with the parsed ``argparse.Namespace``, returns the exit status) via
``set_defaults``.  A ``tools/<package>/cli.py`` with only ``main(argv)`` is mounted as
``euicc-emu <COMMAND or package> ...`` and receives the rest of the command line.  Shared helpers for plug-ins: :func:`default_state_path`,
:func:`add_state_argument`.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import tools

APP_DIR = "euicc-emu"
STATE_FILE = "card.state"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def default_state_path(environ: dict[str, str] | None = None) -> Path:
    """Per-user state file: ``$XDG_DATA_HOME/euicc-emu/card.state``, XDG Base Directory spec
    default ``~/.local/share`` when the variable is unset or not absolute."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME", str(Path.home()))) / ".local" / "share"
    return root / APP_DIR / STATE_FILE


def add_state_argument(parser: argparse.ArgumentParser) -> None:
    """``--state PATH`` with the per-user default."""
    parser.add_argument(
        "--state", type=Path, default=None, metavar="PATH",
        help=f"card state file (default: {default_state_path()})",
    )


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
    """Mount a tool's own ``main(argv)`` as a subcommand that takes the rest of the line."""
    command = getattr(module, "COMMAND", name.split(".")[1].replace("_", "-"))
    doc = (module.__doc__ or "").strip().splitlines()
    parser = sub.add_parser(command, help=doc[0] if doc else None, add_help=False)
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    parser.set_defaults(func=lambda args: module.main(args.argv))
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="euicc-emu", description="A software eUICC presented to PC/SC through vpcd.")
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="logging threshold")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.mounted = {}  # type: ignore[attr-defined]  # command -> main(argv) of mounted tools
    for name in subcommand_modules():
        module = _load(name)
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
        elif callable(getattr(module, "main", None)):
            parser.mounted[_mount_main(sub, name, module)] = module.main  # type: ignore[attr-defined]
    for subparser in sub.choices.values():  # accept `euicc-emu <cmd> --log-level X` too
        subparser.add_argument("--log-level", default=argparse.SUPPRESS, type=str.upper, choices=LOG_LEVELS,
                               help="logging threshold (default INFO)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    tool_main = parser.mounted.get(argv[0]) if argv else None  # type: ignore[attr-defined]
    if tool_main is not None:  # a tool with its own argument parser gets the rest of the line
        logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return int(tool_main(argv[1:]) or 0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from euicc.nvm import StateFileError
    try:
        return int(args.func(args) or 0)
    except StateFileError as exc:   # any subcommand given a state file that is not a usable card
        print(f"euicc-emu: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
