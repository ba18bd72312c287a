"""The Profile Package Interpreter: installs an Unprotected Profile Package (TCA eUICC Profile
Package / SAIP v3.3.1 §2.2, §8) into one profile's file system; GSMA SGP.22 v2.5 §2.5.5 calls
it from the BPP loader, which reports the result as a ProfileInstallationResult.

    installed = install_profile(store, fsid, upp)      # inside the caller's transaction

Every element is interpreted in package order (header first, end last).  Writes go to a
staging view and reach the store only when the whole package was accepted, so a refused
package leaves the store exactly as it was, whatever the caller does with its transaction.
A refusal raises :class:`InstallError` carrying the SGP.22 ``errorReason``, the SAIP
``PEStatus`` code, the element index and identification, and the ``EUICCResponse``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from euicc.asn1 import saip
from euicc.fs import keys as fs_keys
from euicc.fs.filesystem import MF_PATH, FileSystem
from euicc.fs.model import child_path
from euicc.nvm import Store
from euicc.profiles import pe_keys
from euicc.profiles.pe_filesystem import (TEMPLATE_PES, InstallContext,
                                          install_generic_file_management, install_template_pe)
from euicc.profiles.saip_codec import SaipDecodeError, decode_upp
from euicc.profiles.saip_files import (BAD_VALUES, FEATURE_NOT_SUPPORTED, INVALID_REQUEST_FORMAT,
                                       NOT_ENOUGH_MEMORY, PE_NOT_SUPPORTED, TEMPLATE_NOT_SUPPORTED,
                                       UNSUPPORTED_PROFILE_VERSION, FileBuilder, PeError)
from euicc.profiles.templates import TEMPLATES

# SGP.22 v2.5 ProfileInstallationResultData errorReason
PE_PROCESSING_ERROR = 12               # installFailedDueToPEProcessingError
INSUFFICIENT_MEMORY = 10               # installFailedDueToInsufficientMemoryForProfile
SUPPORTED_MAJOR_VERSIONS = frozenset({2, 3})
# ServicesList entries this card provides (SAIP §8.1.1).  javacard: application PEs are accepted,
# recorded and reported as not executable; csim: files only (no CAVE).
SUPPORTED_SERVICES = frozenset({
    "usim", "isim", "csim", "milenage", "tuak128", "tuak256", "usim-test-algorithm",
    "multiple-usim", "multiple-isim", "multiple-csim", "ber-tlv", "dfLink", "get-identity",
    "profile-a-x25519", "profile-b-p256", "javacard"})
# PEs this interpreter does not implement; refused only when the package mandates them.
SKIPPABLE_PES = frozenset({"nonStandard", "eap", "df-snpn", "df-5gprose", "iot", "opt-iot",
                           "rfu1", "rfu2", "rfu3", "rfu4", "rfu5"})
EF_ICCID = 0x2FE2


class InstallError(Exception):
    """The package was refused; nothing was installed."""

    def __init__(self, status: int, detail: str, index: int | None = None,
                 identification: int | None = None, status_message: str | None = None) -> None:
        super().__init__(detail if index is None else f"element {index}: {detail}")
        self.reason = INSUFFICIENT_MEMORY if status == NOT_ENOUGH_MEMORY else PE_PROCESSING_ERROR
        self.status = status
        self.detail = detail
        self.index = index
        self.identification = identification
        self.status_message = status_message        # EUICCResponse statusMessage (2..64 chars)

    @property
    def sima_response(self) -> bytes:
        """DER ``EUICCResponse`` reporting the failing PE (SAIP §8.x / PEDefinitions)."""
        status: dict[str, Any] = {"status": self.status}
        if self.identification is not None:
            status["identification"] = self.identification
        response: dict[str, Any] = {"peStatus": [status], "profileInstallationAborted": None}
        if self.status_message is not None:
            response["statusMessage"] = self.status_message
        return saip().encode("EUICCResponse", response)


@dataclass(frozen=True)
class InstalledProfile:
    """What the installation produced (for ProfileInfo, ES10 results and `euicc-emu info`)."""

    iccid: bytes                       # as in EF.ICCID / SGP.22 Iccid (nibble-swapped BCD)
    profile_type: str
    version: tuple[int, int]           # SAIP major, minor version of the package
    mandatory_services: tuple[str, ...]
    templates: tuple[str, ...]         # eUICC-Mandatory-GFSTEList
    pol: bytes                         # ProfileHeader pol (SGP.02 POL1), b"" when absent
    aids: tuple[bytes, ...]            # NAA ADFs (USIM, ISIM, CSIM) in package order
    security_domains: tuple[bytes, ...]
    applications: tuple[bytes, ...]    # Java Card packages/instances: recorded, not executable
    sima_response: bytes               # DER EUICCResponse


class _Staging:
    """A write overlay over a Store: reads see staged writes; :meth:`apply` puts them for real."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._writes: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._writes:
            return self._writes[key]
        return self._store.get(key, default)

    def put(self, key: str, value: Any) -> None:
        self._writes[key] = value

    def keys(self, prefix: str) -> list[str]:
        return sorted(set(self._store.keys(prefix)) | {k for k in self._writes
                                                        if k.startswith(prefix)})

    def apply(self) -> None:
        with self._store.transaction():
            for key, value in self._writes.items():
                self._store.put(key, value)


def header_iccid(value: bytes) -> bytes:
    """ProfileHeader.iccid is plain BCD; EF.ICCID and SGP.22 Iccid swap the nibbles."""
    return bytes(((b & 0x0F) << 4) | (b >> 4) for b in value)


def _check_header(value: dict[str, Any]) -> None:
    """ProfileHeader (SAIP §8.1): version, mandatory services, templates, mandatory packages."""
    if value["major-version"] not in SUPPORTED_MAJOR_VERSIONS:
        raise PeError(UNSUPPORTED_PROFILE_VERSION, f"SAIP version {value['major-version']}")
    missing = sorted(set(value["eUICC-Mandatory-services"]) - SUPPORTED_SERVICES)
    if missing:
        raise PeError(FEATURE_NOT_SUPPORTED, "mandatory services not supported: "
                                             + ", ".join(missing))
    templates = [t for t in value["eUICC-Mandatory-GFSTEList"] if t not in TEMPLATES]
    if templates:
        raise PeError(TEMPLATE_NOT_SUPPORTED, "templates not supported: " + ", ".join(templates))
    if value.get("eUICC-Mandatory-AIDs"):
        raise PeError(FEATURE_NOT_SUPPORTED, "mandatory Java Card packages are not available")


def _identification(value: dict[str, Any]) -> int | None:
    for k, v in value.items():
        if k.lower().endswith("header") and isinstance(v, dict):
            return v.get("identification")
    return None


def _mandated(value: dict[str, Any]) -> bool:
    return any(k.lower().endswith("header") and isinstance(v, dict) and "mandated" in v
               for k, v in value.items())


class _Interpreter:
    """Dispatches each PE of one package to its handler (SAIP §8)."""

    def __init__(self, ctx: InstallContext) -> None:
        self.ctx = ctx
        self.keys = pe_keys.KeyState()

    def element(self, name: str, value: dict[str, Any]) -> None:
        ctx, keys = self.ctx, self.keys
        if name in TEMPLATE_PES:
            install_template_pe(ctx, name, value)
        elif name == "genericFileManagement":
            install_generic_file_management(ctx, value)
        elif name == "pukCodes":
            pe_keys.install_puk_codes(ctx, keys, value)
        elif name == "pinCodes":
            pe_keys.install_pin_codes(ctx, keys, value)
        elif name == "akaParameter":
            pe_keys.install_aka_parameter(ctx, value)
        elif name == "cdmaParameter":
            pe_keys.install_cdma_parameter(ctx, value)
        elif name == "securityDomain":
            pe_keys.install_security_domain(ctx, keys, value)
        elif name == "rfm":
            pe_keys.install_rfm(ctx, value)
        elif name == "application":
            pe_keys.install_application(ctx, keys, value)
        elif name in SKIPPABLE_PES and not _mandated(value):
            return
        else:
            raise PeError(PE_NOT_SUPPORTED, f"{name} elements are not supported")


def _elements(upp: bytes) -> Iterator[tuple[int, str, dict[str, Any]]]:
    try:
        elements = decode_upp(upp)
    except SaipDecodeError as exc:
        raise InstallError(INVALID_REQUEST_FORMAT, exc.reason, exc.index) from None
    if not elements or elements[0].name != "header":
        raise InstallError(INVALID_REQUEST_FORMAT, "the package must start with a header", 0)
    if elements[-1].name != "end":
        raise InstallError(INVALID_REQUEST_FORMAT, "the package must end with an end element",
                           len(elements) - 1)
    for index, element in enumerate(elements):
        yield index, element.name, element.value


def install_profile(store: Store, fsid: str, upp: bytes) -> InstalledProfile:
    """Install `upp` as the file system, PINs and keys of ``fs/<fsid>/`` (SAIP §8)."""
    if store.keys(fs_keys.root(fsid)):
        raise InstallError(BAD_VALUES, f"file system {fsid} is not empty")
    staging = _Staging(store)
    fs = FileSystem(staging, fsid)      # type: ignore[arg-type]  # Store-like overlay
    ctx = InstallContext(fs, FileBuilder(fs))
    interpreter = _Interpreter(ctx)
    header: dict[str, Any] = {}
    for index, name, value in _elements(upp):
        try:
            if index == 0:
                _check_header(value)
                header = value
            elif name != "end":
                interpreter.element(name, value)
        except PeError as exc:
            raise InstallError(exc.status, f"{name}: {exc.detail}", index,
                               _identification(value)) from None
    iccid = header_iccid(header["iccid"])
    _check_iccid(fs, iccid)
    staging.apply()
    return InstalledProfile(
        iccid=iccid, profile_type=header.get("profileType", ""),
        version=(header["major-version"], header["minor-version"]),
        mandatory_services=tuple(header["eUICC-Mandatory-services"]),
        templates=tuple(header["eUICC-Mandatory-GFSTEList"]), pol=header.get("pol", b""),
        aids=tuple(ctx.aids), security_domains=tuple(interpreter.keys.security_domains),
        applications=tuple(interpreter.keys.applications),
        sima_response=saip().encode("EUICCResponse", {"peStatus": [{"status": 0}]}))


def _check_iccid(fs: FileSystem, iccid: bytes) -> None:
    """The package must create the MF with an EF.ICCID holding the header's ICCID."""
    if fs.node(MF_PATH) is None:
        raise InstallError(BAD_VALUES, "the package creates no MF")
    content = fs.data(child_path(MF_PATH, EF_ICCID))
    if content != iccid:
        raise InstallError(BAD_VALUES, f"EF.ICCID {bytes(content).hex()} differs from the "
                                       f"header ICCID {iccid.hex()}")
