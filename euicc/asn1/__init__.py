"""Compiled ASN.1 modules of the card: GSMA SGP.22 RSP and TCA SAIP (eUICC Profile Package).

The module texts ship inside this package (the product never reads ``/work/shared``):

* ``RSPDefinitions.asn`` (GSMA SGP.22 v2.x ``RSPDefinitions``) with the RFC 5280 modules
  ``PKIX1Explicit88.asn`` / ``PKIX1Implicit88.asn`` it imports;
* ``PE_Definitions-3.3.1.asn`` (TCA "eUICC Profile Package: Interoperable Format Technical
  Specification" v3.3.1, ``PEDefinitions``), in pySim's edited form;
* ``RSPDefinitions-v3.1.asn`` (GSMA SGP.22 v3.1 ``RSPDefinitions``, module OID ``sgp22v3(3)``),
  compiled as a second database (:func:`rsp3`) with the PKIX modules and ``PEDefinitions`` it
  imports: v2 and v3.1 both name their module ``RSPDefinitions``, so they cannot share one.
  Provenance: transcribed from the specification by ``Trup3s/resimulate`` (commit ``99bebb2d``,
  ``resimulate/asn/rsp_definitions_v3_1.asn``, no licence stated; the text is GSMA's) with the
  project reference folder's edits E1-E8 (``ANY`` stand-ins put back to the spec's types,
  ``vendorSpecificData [1] EXPLICIT ANY``, the identifiers ``crlStaplingV3Used`` and
  ``smdpSignature5`` repaired from PDF damage); sha256 ``e27df282...a50``.  Two identifiers are
  unconfirmed against the v3.1 PDF (``unknowndcSessionId``, ``lpaeUsingE4Esupported``); neither
  is used by the card.

One correction to pySim's text: ``DeviceInfo.tac`` is ``Octet4`` as SGP.22 defines it (the TAC
is 8 digits), not ``Octet8``.

Each set is compiled once per process with asn1tools' DER codec (``functools.cache``); ``euicc-emu
run`` calls :func:`precompile` before it presents the card, so the first ES10 command does not pay
for it.  The compilation (before the fix-ups below, which are re-applied each time) is cached in
``$XDG_CACHE_HOME/euicc-emu/asn1/`` (default ``~/.cache``): a file is named by a SHA-256 of the
module texts, the asn1tools and Python versions, and carries that key and a SHA-256 of its payload;
anything that does not match, or cannot be read or unpickled, is ignored and compiled afresh.
``EUICC_ASN1_CACHE=off`` disables the cache.

The ``PE-AKAParameter.sqnInit`` fix-up: the TCA text declares
``sqnInit SEQUENCE (SIZE (32)) OF OCTET STRING (SIZE (6)) DEFAULT { '000000000000'H, ... }``
(32 zero SQNs), which asn1tools cannot parse; the edited module says ``DEFAULT '000000000000'H``,
which asn1tools turns into the ill-typed string ``'0x000000000000'``, so a decoded package cannot
be re-encoded. :func:`saip` replaces that default by the value the TCA text means (32 x six zero
bytes). Decoding then fills an absent ``sqnInit`` with that list and DER encoding omits it again
when equal (X.690 §11.5), so decode -> encode is byte-identical.

The ``SEQUENCE OF`` guard: asn1tools 0.169's DER ``SEQUENCE OF`` decoder loops forever when an
element does not match its type (e.g. a ``SEQUENCE OF CHOICE`` such as SAIP ``File`` meeting an
unexpected tag: the CHOICE reports a mismatch without consuming bytes). Both specifications get
each ``SEQUENCE OF`` / ``SET OF`` decoder replaced by one that raises ``DecodeError`` when an
element consumes no bytes or runs past the contents (X.690 §8.10/§8.12 contents = the elements).
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

import asn1tools
from asn1tools.codecs import DecodeError
from asn1tools.codecs import der

RSP_MODULES = ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")
SAIP_MODULES = ("PE_Definitions-3.3.1.asn",)
RSP3_MODULES = ("RSPDefinitions-v3.1.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn",
                "PE_Definitions-3.3.1.asn")

#: INTEGER DEFAULTs given as a named number, which asn1tools 0.169 fills in as the name (a str
#: that then fails every comparison with the integer): RFC 5280 ``Version`` v1(0), SGP.22 v3.1
#: ``ProfileClass`` operational(2) (StoreMetadataRequest.profileClass DEFAULT operational).
NAMED_INTEGER_DEFAULTS = {"v1": 0, "operational": 2}

#: TCA SAIP v3.3.1 PE-AKAParameter: sqnInit DEFAULT = 32 sequence numbers of 6 zero octets.
SQN_INIT_DEFAULT: list[bytes] = [bytes(6)] * 32


CACHE_ENV = "EUICC_ASN1_CACHE"


def cache_dir() -> Path | None:
    """Where compiled modules are cached (XDG Base Directory), or None when disabled."""
    if os.environ.get(CACHE_ENV, "").lower() == "off":
        return None
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "euicc-emu" / "asn1"


def cache_key(names: tuple[str, ...], texts: list[str]) -> str:
    """SHA-256 over what the compilation depends on: module texts, asn1tools and Python versions."""
    digest = hashlib.sha256(f"{asn1tools.__version__}|{sys.version}".encode())
    for name, text in zip(names, texts):
        digest.update(f"|{name}|{len(text)}|".encode() + text.encode())
    return digest.hexdigest()


def _cached(directory: Path, key: str) -> asn1tools.compiler.Specification | None:
    """The cached compilation for `key`, or None (absent, foreign, damaged or unreadable)."""
    try:
        stored_key, stored_digest, payload = (directory / f"{key}.pickle").read_bytes().split(b"\n", 2)
        if stored_key.decode() != key or stored_digest.decode() != hashlib.sha256(payload).hexdigest():
            return None
        spec = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - any unreadable cache file means: compile again
        return None
    return spec if isinstance(spec, asn1tools.compiler.Specification) else None


def _store(directory: Path, key: str, spec: asn1tools.compiler.Specification) -> None:
    """Write the cache file atomically; a cache that cannot be written is simply not kept."""
    try:
        payload = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            os.replace(temporary, directory / f"{key}.pickle")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, RecursionError):
        pass


def _compile(names: tuple[str, ...]) -> asn1tools.compiler.Specification:
    base = resources.files(__package__)
    texts = [base.joinpath(name).read_text(encoding="utf-8") for name in names]
    directory, key = cache_dir(), cache_key(names, texts)
    spec = _cached(directory, key) if directory is not None else None
    if spec is None:
        spec = asn1tools.compile_string("\n".join(texts), codec="der")
        if directory is not None:
            _store(directory, key, spec)
    seen: set[int] = set()
    for compiled in spec.types.values():
        for node in _walk(compiled.type, seen):
            if isinstance(node, der.ArrayType):
                node.decode_content = _guarded_array_decoder(node)
            elif isinstance(node, der.Integer) and isinstance(node.default, str):
                node.set_default(NAMED_INTEGER_DEFAULTS[node.default])   # KeyError: a new name to map
    return spec


def _guarded_array_decoder(node: Any) -> Callable[[bytes, int, int], tuple[list[Any], int]]:
    """SEQUENCE OF / SET OF contents decoder that always makes progress (see module doc)."""

    def decode_content(data: bytes, offset: int, length: int) -> tuple[list[Any], int]:
        end = offset + length
        values = []
        while offset < end:
            value, next_offset = node.element_type.decode(data, offset)
            if next_offset <= offset or next_offset > end:
                raise DecodeError(f"element does not fit the SEQUENCE OF at offset {offset}", node)
            values.append(value)
            offset = next_offset
        return values, offset

    return decode_content


@functools.cache
def rsp() -> asn1tools.compiler.Specification:
    """GSMA SGP.22 ``RSPDefinitions`` (+ PKIX1Explicit88/Implicit88), DER codec."""
    return _compile(RSP_MODULES)


@functools.cache
def rsp3() -> asn1tools.compiler.Specification:
    """GSMA SGP.22 v3.1 ``RSPDefinitions`` (+ PKIX, ``PEDefinitions`` for UICCCapability), DER."""
    return _compile(RSP3_MODULES)


@functools.cache
def saip() -> asn1tools.compiler.Specification:
    """TCA SAIP v3.3.1 ``PEDefinitions``, DER codec, with the ``sqnInit`` DEFAULT fixed."""
    spec = _compile(SAIP_MODULES)
    patched = 0
    seen: set[int] = set()
    for compiled in spec.types.values():
        for node in _walk(compiled.type, seen):
            if node.name == "sqnInit" and isinstance(node.default, str):
                node.set_default(list(SQN_INIT_DEFAULT))
                patched += 1
    if patched == 0:  # the module text changed: fail loudly rather than mis-encode
        raise RuntimeError("PEDefinitions: sqnInit member not found for the DEFAULT fix-up")
    return spec


def precompile() -> None:
    """Compile (or load) every specification now, e.g. before a card is presented to PC/SC."""
    rsp()
    rsp3()
    saip()


def _walk(node: Any, seen: set[int]) -> Iterator[Any]:
    """Every node of a compiled asn1tools type tree, each once (``seen`` holds visited ids)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for attr in ("members", "root_members", "element_type", "inner"):
            child = getattr(current, attr, None)
            if isinstance(child, list):
                stack.extend(child)
            elif child is not None:
                stack.append(child)
        for addition in getattr(current, "additions", None) or ():
            stack.extend(addition if isinstance(addition, list) else [addition])
