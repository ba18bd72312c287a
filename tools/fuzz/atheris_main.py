"""Subprocess entry of one atheris (libFuzzer) harness: ``python -m tools.fuzz.atheris_main NAME
[libFuzzer arguments and corpus directories]``.  The card's packages are imported inside
``atheris.instrument_imports`` so that coverage guides the mutations through card code.
"""
from __future__ import annotations

import sys

import atheris

INSTRUMENTED = ["euicc", "applets", "vpcd_bridge"]


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m tools.fuzz.atheris_main NAME [libFuzzer args]")
    with atheris.instrument_imports(include=INSTRUMENTED):
        from tools.fuzz.harnesses import HARNESSES
        target = HARNESSES[argv[1]].target()
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
