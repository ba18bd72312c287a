"""Tests that need an extension of the card (euicc.composition) when the suite runs with only some
(``EUICC_EXTENSIONS=rsp`` or ``=m2m``): they are skipped with the reason shown, never silently."""
from __future__ import annotations

import os

import pytest

from euicc.composition import ENV, default_names


def _missing(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n not in default_names()]


def _reason(missing: list[str]) -> str:
    return f"needs the {', '.join(missing)} extension ({ENV}={os.environ.get(ENV, '')})"


def requires(*names: str) -> pytest.MarkDecorator:
    """Decorator: skip the test when the cards are opened without one of `names`."""
    missing = _missing(names)
    return pytest.mark.skipif(bool(missing), reason=_reason(missing))


def need(*names: str) -> None:
    """Inside a test: skip it when the cards are opened without one of `names`."""
    missing = _missing(names)
    if missing:
        pytest.skip(_reason(missing))
