"""The composition root of the card: the kernel's Card with the standard applets (``applets/``)
and the extensions chosen by name (euicc.extension).

    card = open_card(Path("card.state"))                       # both extensions
    card = open_card(None, extensions=["rsp"])                 # a consumer-only eUICC
    card = open_card(None, m2m=M2mRuntime(clock=lambda: 0.0))  # SGP.02 with a fixed clock

``euicc-emu run --extensions`` chooses them on the command line.  Without a choice, the names come
from the environment variable :data:`ENV` (comma-separated, e.g. ``EUICC_EXTENSIONS=rsp``, how the
test suite runs with one extension alone) or, when it is not set, :data:`ALL`.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from applets import catalog
from euicc.card import Card, features_of
from euicc.config import CardConfig
from euicc.extension import Extension
from euicc.m2m.extension import M2mExtension
from euicc.nvm import POWER_LOSS
from euicc.m2m.runtime import M2mRuntime
from euicc.rsp.extension import RspExtension
from euicc.rsp.runtime import RspRuntime

ENV = "EUICC_EXTENSIONS"
ALL = ("rsp", "m2m")
EXTENSIONS: dict[str, type[Extension]] = {"rsp": RspExtension, "m2m": M2mExtension}
FEATURES = features_of(tuple(EXTENSIONS.values()))
"""Every optional feature a card may leave out (``CardConfig.disabled``), whatever its extensions."""


def parse_names(text: str) -> tuple[str, ...]:
    """Names of a comma-separated list (ValueError: an unknown name, or none)."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in EXTENSIONS]
    if unknown or not names:
        raise ValueError(f"unknown extension {', '.join(unknown) or '(none)'}; "
                         f"choose from {', '.join(EXTENSIONS)}")
    return names


def default_names() -> tuple[str, ...]:
    """The extensions a card gets when the caller does not choose: :data:`ENV`, else :data:`ALL`."""
    text = os.environ.get(ENV, "")
    return parse_names(text) if text.strip() else ALL


def make_extensions(names: Iterable[str] | None = None, *, rsp: RspRuntime | None = None,
               m2m: M2mRuntime | None = None) -> list[Extension]:
    """The extensions `names` (None: :func:`default_names`), with the runtimes given.  A runtime
    for an extension that is not chosen is an error (the caller expects it to be used)."""
    chosen = tuple(names) if names is not None else default_names()
    for name in chosen:
        if name not in EXTENSIONS:
            raise ValueError(f"unknown extension {name!r}")
    out: list[Extension] = []
    for name in chosen:
        out.append(RspExtension(rsp) if name == "rsp" else M2mExtension(m2m))
    missing = [n for n, r in (("rsp", rsp), ("m2m", m2m)) if r is not None and n not in chosen]
    if missing:
        raise ValueError(f"a runtime for {', '.join(missing)}, which the card is not opened with")
    return out


def open_card(state_path: Path | None, config: CardConfig = CardConfig(), first_profile: str | None = None,
              *, extensions: Sequence[str] | None = None, rsp: RspRuntime | None = None,
              m2m: M2mRuntime | None = None, create: bool = True, durability: str = POWER_LOSS) -> Card:
    """``Card.open`` with the standard applets and the extensions `extensions` (names; None: the
    default), each with its runtime when given."""
    chosen = make_extensions(extensions, rsp=rsp, m2m=m2m)
    return Card.open(state_path, config, first_profile, applets=catalog(), extensions=chosen, create=create,
                     durability=durability)

