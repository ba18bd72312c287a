"""The card description: what the runner knows about the card under test from outside it.

A small JSON or TOML file (``tools/conformance/cards/euicc-emu-default.json`` is the project's
default card, with the values its README documents).  Nothing here is read from the card's code:
for a physical eUICC, write the values its vendor publishes (test keys, PINs, EID).
"""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CARD = Path(__file__).resolve().parent / "cards" / "euicc-emu-default.json"


M2M_FILES = ("m2m_smdp_key", "m2m_smdp_certificate", "m2m_ci_key", "m2m_eum_certificate")


class DescriptionError(ValueError):
    """The card description file is missing a value or has a malformed one."""


@dataclass(frozen=True)
class Scp80Keys:
    kvn: int
    kic: bytes
    kid: bytes
    algorithm: str


@dataclass(frozen=True)
class CardDescription:
    """Values a test lab would know about a card (its data sheet and test keys)."""

    name: str
    eid: str | None = None
    eid_prefix: str = ""
    svn: tuple[int, int, int] = (2, 2, 0)
    trusted_ci: tuple[Path, ...] = ()
    smdp_certs: Path | None = None
    isd_r_aid: bytes = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
    ecasd_aid: bytes = bytes.fromhex("A0000005591010FFFFFFFF8900000200")
    usim_aid_prefix: bytes = bytes.fromhex("A0000000871002")
    scp03: dict[str, bytes | int] = field(default_factory=dict)
    scp80: Scp80Keys | None = None
    pins: dict[str, str] = field(default_factory=dict)
    usim: dict[str, bytes | str] = field(default_factory=dict)
    iccid: str | None = None
    m2m: bool = False
    m2m_validity_period: float | None = None   # seconds before an unconfirmed switch is rolled back
    m2m_smdp_key: Path | None = None           # SK.DP.ECDSA (PEM) of an SM-DP the card's CI certified ...
    m2m_smdp_certificate: Path | None = None   # ... and its CERT.DP.ECDSA (GP '7F21', hex text), for ES8
    m2m_ci_key: Path | None = None             # or a test CI's private key (PEM): the runner makes that SM-DP
    m2m_eum_certificate: Path | None = None    # EUM certificate (X.509) or key (PEM) that signs CERT.ECASD.ECKA
    m2m_pol1_disabling_not_allowed: int = 0x01   # POL1 bit "disabling not allowed" [U: SPEC_NOTES §2.6]

    def trusted_ci_pkids(self) -> list[bytes]:
        """SubjectKeyIdentifier of each trusted CI certificate (SGP.22 §4.5.2.1: the CI PKId)."""
        out = []
        for path in self.trusted_ci:
            cert = x509.load_der_x509_certificate(path.read_bytes())
            out.append(cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest)
        return out


def _hex(value: object, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise DescriptionError(f"{what}: not hex: {value!r}") from None


def _path(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path if (base / path).exists() else REPO / path)


def load(path: Path = DEFAULT_CARD) -> CardDescription:
    """Read a description (``.json`` or ``.toml``); relative paths are relative to the file,
    else to the project checkout."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise DescriptionError(f"{path}: {exc}") from None
    base = path.parent
    try:
        scp80 = raw.get("scp80")
        return CardDescription(
            name=raw["name"], eid=raw.get("eid"), eid_prefix=raw.get("eid_prefix", ""),
            svn=tuple(int(x) for x in raw.get("svn", "2.2.0").split(".")),  # type: ignore[arg-type]
            trusted_ci=tuple(_path(base, p) for p in raw.get("trusted_ci", [])),
            smdp_certs=_path(base, raw["smdp_certs"]) if raw.get("smdp_certs") else None,
            scp03={k: (int(v, 16) if k == "kvn" else _hex(v, f"scp03.{k}")) for k, v in raw.get("scp03", {}).items()},
            scp80=Scp80Keys(int(scp80["kvn"], 16), _hex(scp80["kic"], "scp80.kic"), _hex(scp80["kid"], "scp80.kid"),
                            scp80.get("algorithm", "aes")) if scp80 else None,
            pins=dict(raw.get("pins", {})),
            usim={k: str(v) if k == "imsi" else _hex(v, f"usim.{k}") for k, v in raw.get("usim", {}).items()},
            iccid=raw.get("iccid"), m2m=bool(raw.get("m2m", False)),
            m2m_validity_period=float(raw["m2m_validity_period"]) if "m2m_validity_period" in raw else None,
            **{name: _path(base, raw[name]) for name in M2M_FILES if raw.get(name)},
            m2m_pol1_disabling_not_allowed=int(raw.get("m2m_pol1_disabling_not_allowed", "01"), 16),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DescriptionError(f"{path}: {exc!r}") from None
