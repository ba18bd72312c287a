"""The host-side EIS / keys file that lets command-line runs chain like a real SM-SR (JSON).

What a real SM-SR keeps between two conversations with an eUICC (GSMA SGP.02 v4.2 §5.1.1.2 EIS):
the ISD-R SCP80 key set(s) in use (KVN, KIc/KID algorithms and keys), its SCP81 PSK-TLS key sets
(KVN, PSK, DEK; GP Amd B) and the replay counter of
each (ETSI TS 102 225 §5.1.1: the next packet must carry a higher counter), the ECASD certificate
read by eUICCCapabilityAudit, the ISD-Ps as last seen, the confirmed notification sequence numbers;
and, in its own section, what the test SM-DP keeps: the ISD-P SCP03 key sets it established
(SGP.02 §4.1.3.1) and the delete-token keys it put (§4.1.1.6), per ISD-P AID.  The SM-SR code never
reads the SM-DP section.  Writes are atomic (temporary file in the same folder, then ``os.replace``).
Test material: the file holds secret keys in clear.

The SCP80 counter belongs to the card's key set, not to one file: every run also keeps, per key set,
the highest counter it used in a :class:`CounterLedger` (``$XDG_STATE_HOME/euicc-emu/``, default
``~/.local/state/euicc-emu/``), and starts from one more than the higher of the EIS file's counter
and the ledger's.  Runs with the keys on the command line and runs with any EIS file holding the same
key set therefore chain (the card only asks for a higher counter, TS 102 225 §5.1.1 SPI b5-b4 '10';
a skipped value is harmless).  The ledger keys a key set by a SHA-256 of its KVN, algorithms and
keys, never the keys themselves.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.ota.packet import AES, TDES2, TDES3, OtaKeyset
from tools.scp.scp03_host import HostKeySet
from tools.smsr.eis import Eis, ProfileInfo, PskKeyset

FORMAT = "euicc-emu EIS 1"
ALGORITHMS = {"aes": AES, "3des2": TDES2, "3des3": TDES3}
"""TS 102 225 §5.1.2 KIc/KID algorithm codes by the names the command line uses."""
_NAMES = {code: name for name, code in ALGORITHMS.items()}


class EisFileError(ValueError):
    """The EIS file is not JSON of the expected form (its path and the reason in the message)."""


@dataclass
class IsdpKeys:
    """The SM-DP's keys for one ISD-P: SCP03 key set and, once put, the delete-token key."""

    scp03: HostKeySet
    token_key: bytes | None = None


@dataclass
class EisDocument:
    """Everything the file holds: the SM-SR's EIS with the key set in use, the SM-DP's ISD-P keys."""

    eis: Eis = field(default_factory=Eis)
    active_kvn: int | None = None
    isdp_keys: dict[bytes, IsdpKeys] = field(default_factory=dict)

    def active_keyset(self, kvn: int | None = None) -> OtaKeyset | None:
        """The key set ``kvn`` (default: the one in use) if the file holds it."""
        return self.eis.keysets.get(self.active_kvn if kvn is None else kvn)

    def use_keyset(self, keyset: OtaKeyset) -> None:
        self.eis.keysets[keyset.kvn] = keyset
        self.active_kvn = keyset.kvn


def _keyset_json(keyset: OtaKeyset, counter: int) -> dict[str, Any]:
    return {"kvn": keyset.kvn, "kic_algorithm": _NAMES[keyset.kic_algorithm], "kic": keyset.kic.hex().upper(),
            "kid_algorithm": _NAMES[keyset.kid_algorithm], "kid": keyset.kid.hex().upper(), "counter": counter}


def to_json(doc: EisDocument) -> dict[str, Any]:
    eis = doc.eis
    return {
        "format": FORMAT,
        "eid": eis.eid.hex().upper(),
        "ecasd_certificate": eis.ecasd_certificate.hex().upper(),
        "active_kvn": doc.active_kvn,
        "keysets": [_keyset_json(k, eis.counters.get(kvn, 0)) for kvn, k in sorted(eis.keysets.items())],
        "psk_keysets": [{"kvn": k.kvn, "psk": k.psk.hex().upper(), "dek": k.dek.hex().upper()}
                        for _, k in sorted(eis.psk_keysets.items())],
        "counters": {str(kvn): n for kvn, n in sorted(eis.counters.items())},
        "profiles": [{"isdp_aid": p.isdp_aid.hex().upper(), "state": p.state, "fallback": p.fallback,
                      "emergency": p.emergency, "smdp": p.smdp} for p in eis.profiles.values()],
        "notifications": list(eis.notifications),
        "next_tar": eis.next_tar,
        "smdp": {"isdps": [{"isdp_aid": aid.hex().upper(), "kvn": k.scp03.kvn, "enc": k.scp03.enc.hex().upper(),
                            "mac": k.scp03.mac.hex().upper(), "dek": k.scp03.dek.hex().upper(),
                            "token_key": k.token_key.hex().upper() if k.token_key else None}
                           for aid, k in doc.isdp_keys.items()]},
    }


def _hex(value: Any, what: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise EisFileError(f"{what} is not a hex string")
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise EisFileError(f"{what} is not hex: {value!r}") from None
    if size is not None and len(data) != size:
        raise EisFileError(f"{what} is {len(data)} bytes, not {size}")
    return data


def _int(value: Any, what: str, top: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        raise EisFileError(f"{what} is not an integer 0..{top}")
    return value


def _algorithm(value: Any, what: str) -> int:
    if value not in ALGORITHMS:
        raise EisFileError(f"{what} must be one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[value]


def from_json(data: Any) -> EisDocument:
    """Decode the JSON form written by :func:`to_json`; :class:`EisFileError` on anything else."""
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise EisFileError(f"not an EIS file (format must be {FORMAT!r})")
        eis = Eis(eid=_hex(data.get("eid", ""), "eid"),
                  ecasd_certificate=_hex(data.get("ecasd_certificate", ""), "ecasd_certificate"),
                  next_tar=_int(data.get("next_tar", 0x10), "next_tar", 0xFFFFFF))
        for n, (kvn, counter) in enumerate(data.get("counters", {}).items()):
            eis.counters[_int(int(kvn), f"counters[{n}] KVN", 0x0F)] = _int(counter, "counter", 0xFFFFFFFFFF)
        for n, k in enumerate(data.get("keysets", [])):
            kvn = _int(k["kvn"], f"keysets[{n}].kvn", 0x0F)
            eis.keysets[kvn] = OtaKeyset(kvn, _algorithm(k["kic_algorithm"], f"keysets[{n}].kic_algorithm"),
                                         _hex(k["kic"], f"keysets[{n}].kic"),
                                         _algorithm(k["kid_algorithm"], f"keysets[{n}].kid_algorithm"),
                                         _hex(k["kid"], f"keysets[{n}].kid"))
            eis.counters[kvn] = max(eis.counters.get(kvn, 0), _int(k.get("counter", 0), "counter", 0xFFFFFFFFFF))
        for n, k in enumerate(data.get("psk_keysets", [])):
            kvn = _int(k["kvn"], f"psk_keysets[{n}].kvn", 0x7F)
            eis.psk_keysets[kvn] = PskKeyset(kvn, _hex(k["psk"], f"psk_keysets[{n}].psk"),
                                             _hex(k.get("dek", ""), f"psk_keysets[{n}].dek"))
        for n, p in enumerate(data.get("profiles", [])):
            aid = _hex(p["isdp_aid"], f"profiles[{n}].isdp_aid")
            eis.profiles[aid] = ProfileInfo(aid, str(p.get("state", "SELECTABLE")), bool(p.get("fallback")),
                                            bool(p.get("emergency")), p.get("smdp"))
        eis.notifications = [_int(s, "notification sequence", 0xFFFF) for s in data.get("notifications", [])]
        active = data.get("active_kvn")
        doc = EisDocument(eis, None if active is None else _int(active, "active_kvn", 0x0F))
        for n, i in enumerate(data.get("smdp", {}).get("isdps", [])):
            aid = _hex(i["isdp_aid"], f"smdp.isdps[{n}].isdp_aid")
            keys = HostKeySet(_int(i["kvn"], "ISD-P KVN", 0xFF), _hex(i["enc"], "enc", 16), _hex(i["mac"], "mac", 16),
                              _hex(i["dek"], "dek", 16))
            token = i.get("token_key")
            doc.isdp_keys[aid] = IsdpKeys(keys, None if token is None else _hex(token, "token_key", 16))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, EisFileError):
            raise
        raise EisFileError(f"bad EIS file entry: {exc!r}") from None
    return doc


def load(path: Path) -> EisDocument:
    """Read ``path``; a file that does not exist yet is an empty EIS."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return EisDocument()
    except OSError as exc:
        raise EisFileError(f"{path}: {exc}") from exc
    try:
        return from_json(json.loads(text))
    except json.JSONDecodeError as exc:
        raise EisFileError(f"{path}: not JSON: {exc}") from None
    except EisFileError as exc:
        raise EisFileError(f"{path}: {exc}") from None


def save(path: Path, doc: EisDocument) -> None:
    """Write ``doc`` atomically: a temporary file beside ``path`` (mode 0600), then ``os.replace``."""
    _write_json(Path(path), to_json(doc))


def _write_json(path: Path, data: Any) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


LEDGER_FORMAT = "euicc-emu SCP80 counters 1"


def default_ledger_path() -> Path:
    """``$XDG_STATE_HOME/euicc-emu/scp80-counters.json`` (XDG Base Directory: default ``~/.local/state``)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "euicc-emu" / "scp80-counters.json"


def keyset_id(keyset: OtaKeyset) -> str:
    """A key set's name in the ledger: SHA-256 of KVN, algorithms and keys (hex)."""
    material = bytes((keyset.kvn, keyset.kic_algorithm, keyset.kid_algorithm)) + keyset.kic + b"/" + keyset.kid
    return hashlib.sha256(material).hexdigest()


@dataclass
class CounterLedger:
    """The highest SCP80 counter used with each key set, whatever EIS file (or none) the run used."""

    path: Path
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> CounterLedger:
        path = path or default_ledger_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, json.JSONDecodeError) as exc:
            raise EisFileError(f"{path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != LEDGER_FORMAT \
                or not isinstance(data.get("counters"), dict):
            raise EisFileError(f"{path}: not a counter ledger (format must be {LEDGER_FORMAT!r})")
        return cls(path, {str(k): _int(v, f"{path}: counter", 0xFFFFFFFFFF) for k, v in data["counters"].items()})

    def last(self, keyset: OtaKeyset) -> int:
        return self.counters.get(keyset_id(keyset), 0)

    def record(self, eis: Eis) -> None:
        """Keep the counter of every key set of ``eis`` (never lowering one) and write atomically."""
        for kvn, keyset in eis.keysets.items():
            name = keyset_id(keyset)
            self.counters[name] = max(self.counters.get(name, 0), eis.counters.get(kvn, 0))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(self.path, {"format": LEDGER_FORMAT, "counters": dict(sorted(self.counters.items()))})
