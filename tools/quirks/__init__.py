"""Vendor quirk profiles: named presets that make the card look like a card model
(``euicc-emu run --quirks NAME|FILE``, ``euicc-emu quirks list|show``).

A profile is a small TOML file turned into the card's :class:`euicc.card.CardConfig`: the presets
shipped here (``tools/quirks/NAME.toml``), the user's own ``NAME.toml`` in
``$XDG_CONFIG_HOME/euicc-emu/quirks/`` (default ``~/.config/euicc-emu/quirks``), or any file given
by path.  Every key but ``description`` is optional; what a file leaves out keeps the default card's
value.  A file is checked whole when it is loaded: an unknown key, a wrong type or a value out of
range is a :class:`QuirkError` with a one-line message naming the key.

Keys (see ``default.toml`` for the commented list): ``description``, ``source``; ``protocols``
(a built-in ATR of :mod:`euicc.atr`) or ``atr`` (hex) with ``t1_direct``; ``le_policy``,
``channels``, ``max_store_data_block``, ``isd_r_aid``, ``ef_dir_aids``, ``disabled_features``,
``mep`` (SGP.22 v3 Multiple Enabled Profiles option, euicc.rsp.mep); and a table
``[euicc_info]`` with the EUICCInfo1/2 values of SGP.22 v2.5 §4.1 / §5.7.8.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from euicc.atr import DEFAULT_INTERFACE, INTERFACES
from euicc.composition import FEATURES
from euicc.config import CardConfig
from euicc.channels import LE_POLICIES
from euicc.rsp import mep
from euicc.rsp.euicc_info import DEFAULT_SETTINGS, SVN_V3
from euicc.rsp.euicc_info import settings as euicc_info_settings

PRESET_DIR = Path(__file__).resolve().parent
SUFFIX = ".toml"
#: EUICCInfo2 euiccCategory (SGP.22 v2.5 §4.1, RSPDefinitions); "absent": the field is left out
CATEGORIES = {"other": 0, "basic": 1, "medium": 2, "contactless": 3, "absent": None}
_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


class QuirkError(ValueError):
    """A quirk profile that cannot be found, read or accepted (one line)."""


@dataclass(frozen=True)
class QuirkProfile:
    """A loaded profile: where it came from, what it says about itself, and the card it makes."""

    name: str
    path: Path
    description: str
    source: str
    protocols: str | None      # the built-in ATR it names (euicc.atr.INTERFACES); None: a hex ATR
    config: CardConfig


def user_dir(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/euicc-emu/quirks`` (XDG Base Directory default ``~/.config``)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME", str(Path.home()))) / ".config"
    return root / "euicc-emu" / "quirks"


def presets(environ: dict[str, str] | None = None) -> dict[str, Path]:
    """Profile names and files: the shipped ones, then the user's (a user file does not replace a
    shipped profile of the same name: give its path instead)."""
    found = {p.stem: p for p in sorted(PRESET_DIR.glob("*" + SUFFIX))}
    folder = user_dir(environ)
    if folder.is_dir():
        for path in sorted(folder.glob("*" + SUFFIX)):
            found.setdefault(path.stem, path)
    return found


def resolve(name_or_file: str, environ: dict[str, str] | None = None) -> Path:
    """The file of a profile given by name or by path."""
    known = presets(environ)
    if name_or_file in known:
        return known[name_or_file]
    path = Path(name_or_file)
    if path.is_file():
        return path
    raise QuirkError(f"no profile of that name and no such file (profiles: {', '.join(known)})")


def load(name_or_file: str, environ: dict[str, str] | None = None) -> QuirkProfile:
    """Find, read and check one profile."""
    path = resolve(name_or_file, environ)
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise QuirkError(f"cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuirkError(f"not TOML: {exc}") from None
    return parse(data, path.stem, path)


# -- checking values ------------------------------------------------------------------------------
Check = Callable[[str, Any], Any]


def _typed(kind: type, what: str) -> Check:
    def check(key: str, value: Any) -> Any:
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise QuirkError(f"{key}: expected {what}, got {type(value).__name__} {value!r}")
        return value
    return check


_str, _bool, _int = _typed(str, "a string"), _typed(bool, "true or false"), _typed(int, "an integer")


def _line(key: str, value: Any) -> str:
    text = _str(key, value)
    if "\n" in text or not text.strip():
        raise QuirkError(f"{key}: expected one non-empty line")
    return text


def _range(low: int, high: int) -> Check:
    def check(key: str, value: Any) -> int:
        number = _int(key, value)
        if not low <= number <= high:
            raise QuirkError(f"{key}: {number} is not in {low}..{high}")
        return number
    return check


def _choice(choices) -> Check:
    def check(key: str, value: Any) -> Any:
        if _str(key, value) not in choices:
            raise QuirkError(f"{key}: {value!r} is not one of {', '.join(choices)}")
        return value
    return check


def _hex(low: int, high: int) -> Check:
    def check(key: str, value: Any) -> bytes:
        try:
            raw = bytes.fromhex(_str(key, value).replace(" ", ""))
        except ValueError:
            raise QuirkError(f"{key}: not hex: {value!r}") from None
        if not low <= len(raw) <= high:
            raise QuirkError(f"{key}: {len(raw)} bytes, expected {low}..{high}")
        return raw
    return check


def _list(item: Check) -> Check:
    def check(key: str, value: Any) -> tuple:
        if not isinstance(value, list):
            raise QuirkError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        return tuple(item(f"{key}[{i}]", v) for i, v in enumerate(value))
    return check


def _version(key: str, value: Any) -> bytes:
    """VersionType (SGP.22 §4.1): three bytes major.minor.revision."""
    match = _VERSION.match(_str(key, value))
    if match is None or any(int(n) > 255 for n in match.groups()):
        raise QuirkError(f"{key}: expected a version 'major.minor.revision' (0..255 each), got {value!r}")
    return bytes(int(n) for n in match.groups())


def _version_or_absent(key: str, value: Any) -> bytes | None:
    return None if value == "absent" else _version(key, value)


TOP: dict[str, Check] = {
    "description": _line, "source": _str,
    "protocols": _choice(tuple(INTERFACES)), "atr": _hex(2, 33), "t1_direct": _bool,
    "le_policy": _choice(LE_POLICIES), "channels": _range(1, 20),
    "max_store_data_block": _range(1, 65535), "isd_r_aid": _hex(5, 16),
    "ef_dir_aids": _list(_hex(5, 16)),
    "disabled_features": _list(_choice(tuple(sorted(FEATURES)))),
    "mep": _choice(mep.MODES),
}
EUICC_INFO: dict[str, Check] = {
    "svn": _version, "highest_svn": _version, "profile_version": _version, "firmware_version": _version,
    "pp_version": _version, "ts102241_version": _version_or_absent,
    "globalplatform_version": _version_or_absent, "euicc_category": _choice(tuple(CATEGORIES)),
    "sas_accreditation_number": _line,
    "ci_pkids_for_verification": _list(_hex(1, 64)), "ci_pkids_for_signing": _list(_hex(1, 64)),
    # SGP.22 v3.1 features (euicc.rsp.enterprise, .trust, .device_change)
    "ci_pkids_for_signing_v3": _list(_hex(1, 64)), "enterprise_profiles": _bool, "cert_chain_v3": _bool,
    "device_change": _bool,
}


def _checked(table: dict, schema: dict[str, Check], prefix: str = "") -> dict[str, Any]:
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise QuirkError(f"unknown key {prefix}{unknown[0]} (known: {', '.join(schema)})")
    return {key: schema[key](prefix + key, value) for key, value in table.items()}


def parse(data: dict, name: str, path: Path) -> QuirkProfile:
    """A profile from the decoded TOML of `path` (all of it checked)."""
    info_table = data.get("euicc_info", {})
    if not isinstance(info_table, dict):
        raise QuirkError("euicc_info: expected a table [euicc_info]")
    top = _checked({k: v for k, v in data.items() if k != "euicc_info"}, TOP)
    info = _checked(info_table, EUICC_INFO, "euicc_info.")
    if "description" not in top:
        raise QuirkError("description: missing (one line saying what card this is)")
    if "atr" in top and "protocols" in top:
        raise QuirkError("atr and protocols exclude each other (an ATR names its own protocols)")
    protocols = None if "atr" in top else top.get("protocols", DEFAULT_INTERFACE)
    direct = top.get("t1_direct", False)
    if direct and protocols == "t0":
        raise QuirkError("t1_direct: a T=0-only ATR delivers data with 61xx/6Cxx")
    if protocols is None:
        atr, t0 = top["atr"], not direct
    else:
        atr, t0 = INTERFACES[protocols].atr, INTERFACES[protocols].t0_delivery and not direct
    if "euicc_category" in info:
        info["euicc_category"] = CATEGORIES[info["euicc_category"]]
    _check_svns(info)
    for key in ("ci_pkids_for_verification", "ci_pkids_for_signing", "ci_pkids_for_signing_v3"):
        if key in info and not info[key]:
            raise QuirkError(f"euicc_info.{key}: a list of at least one key identifier")
    base = CardConfig()
    euicc_info = replace(DEFAULT_SETTINGS, **info)
    config = replace(base, atr=atr, t0=t0,
                     le_policy=top.get("le_policy", base.le_policy),
                     channels=top.get("channels", base.channels),
                     max_store_data_block=top.get("max_store_data_block", base.max_store_data_block),
                     isd_r_aid=top.get("isd_r_aid", base.isd_r_aid),
                     ef_dir_aids=tuple(top["ef_dir_aids"]) if "ef_dir_aids" in top else None,
                     # None: the SGP.22 extension's own values (euicc.rsp.euicc_info.settings)
                     euicc_info=None if euicc_info == DEFAULT_SETTINGS else euicc_info,
                     disabled=frozenset(top.get("disabled_features", ())),
                     ports=mep.layout(top.get("mep", mep.OFF)))
    return QuirkProfile(name, path, top["description"], top.get("source", ""), protocols, config)


def _check_svns(info: dict[str, Any]) -> None:
    """highest_svn: SGP.22 v3.1 (3.1.0, the only v3 the card implements) or, for a v2-only card,
    its svn; the default is 3.1.0 (euicc.rsp.euicc_info.SVN_V3)."""
    svn = info.get("svn", DEFAULT_SETTINGS.svn)
    highest = info.get("highest_svn", DEFAULT_SETTINGS.highest_svn)
    if highest not in (svn, SVN_V3):
        raise QuirkError(f"euicc_info.highest_svn: {_version_text(SVN_V3)} or the svn "
                         f"{_version_text(svn)} (a v2-only card), got {_version_text(highest)}")


def _version_text(value: bytes | None) -> str:
    return "absent" if value is None else ".".join(str(b) for b in value)


def settings(profile: QuirkProfile) -> dict[str, Any]:
    """The resolved settings of a profile, defaults included, as ``euicc-emu quirks show`` prints
    them (key names as in the file)."""
    config, info = profile.config, euicc_info_settings(profile.config)
    category = {v: k for k, v in CATEGORIES.items()}[info.euicc_category]
    return {
        "atr": (config.atr or b"").hex().upper(),
        "protocols": profile.protocols or "(from the ATR)",
        "response_delivery": "T=0: 61xx + GET RESPONSE" if config.t0 else "direct (T=1)",
        "le_policy": config.le_policy,
        "channels": config.channels,
        "max_store_data_block": config.max_store_data_block or "no limit (65535)",
        "isd_r_aid": config.isd_r_aid.hex().upper(),
        "ef_dir_aids": ([a.hex().upper() for a in config.ef_dir_aids] if config.ef_dir_aids is not None
                        else "the ISD-R and the ECASD (on a new card)"),
        "disabled_features": sorted(config.disabled),
        "mep": config.ports.mode,
        "euicc_info.svn": _version_text(info.svn),
        "euicc_info.highest_svn": _version_text(info.highest_svn),
        "euicc_info.profile_version": _version_text(info.profile_version),
        "euicc_info.firmware_version": _version_text(info.firmware_version),
        "euicc_info.ts102241_version": _version_text(info.ts102241_version),
        "euicc_info.globalplatform_version": _version_text(info.globalplatform_version),
        "euicc_info.pp_version": _version_text(info.pp_version),
        "euicc_info.euicc_category": category,
        "euicc_info.sas_accreditation_number": info.sas_accreditation_number,
        "euicc_info.ci_pkids_for_verification": _pkids(info.ci_pkids_for_verification),
        "euicc_info.ci_pkids_for_signing": _pkids(info.ci_pkids_for_signing),
    }


def _pkids(value: tuple[bytes, ...] | None) -> list[str] | str:
    return "the card's own (its eUICC certificates)" if value is None else [p.hex().upper() for p in value]
