"""Hand-off to the Profile Package Interpreter: SGP.22 v2.5 §2.4.7 / §2.5.5 and TCA SAIP v3.3.1.

:func:`install_profile` is the single call the BPP loader makes with the decrypted Unprotected
Profile Package.  Until the SAIP installer (``euicc.profiles.installer``) lands, this stand-in
decodes every Profile Element (:mod:`euicc.profiles.saip_codec`), keeps the package under
``fs/<fsid>/upp`` and builds the default file system (:mod:`euicc.fs.default_fs`) with
EF.ICCID from the ProfileHeader.  It returns the ICCID and the ``simaResponse`` (DER
``EUICCResponse``, SAIP §8.x) for the ProfileInstallationResult.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc.asn1 import saip
from euicc.fs import default_fs
from euicc.fs.filesystem import MF_PATH, FileSystem
from euicc.fs.model import child_path
from euicc.nvm import Store
from euicc.profiles.saip_codec import SaipDecodeError, decode_upp

EF_ICCID = 0x2FE2
PE_PROCESSING_ERROR = 12          # ErrorReason installFailedDueToPEProcessingError


class InstallError(Exception):
    """The package cannot be installed; ``reason`` is the SGP.22 ErrorReason."""

    def __init__(self, reason: int, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class Installed:
    iccid: bytes              # EF.ICCID coding (nibble-swapped BCD), as in StoreMetadata
    sima_response: bytes      # DER EUICCResponse


def header_iccid(header_value: bytes) -> bytes:
    """ProfileHeader.iccid is plain BCD; EF.ICCID and SGP.22 Iccid swap the nibbles."""
    return bytes(((b & 0x0F) << 4) | (b >> 4) for b in header_value)


def install_profile(store: Store, fsid: str, upp: bytes) -> Installed:
    """Install the Profile Elements of ``upp`` into the file system ``fsid`` (caller's transaction)."""
    try:
        elements = decode_upp(upp)
    except SaipDecodeError as exc:
        raise InstallError(PE_PROCESSING_ERROR, str(exc)) from None
    if not elements or elements[0].name != "header" or elements[-1].name != "end":
        raise InstallError(PE_PROCESSING_ERROR, "package must start with a header and end with end")
    iccid = header_iccid(elements[0].value["iccid"])
    fs = FileSystem(store, fsid)
    default_fs.build(fs)
    fs.set_data(child_path(MF_PATH, EF_ICCID), iccid)
    store.put(f"fs/{fsid}/upp", bytes(upp))
    response = saip().encode("EUICCResponse", {"peStatus": [{"status": 0}]})
    return Installed(iccid, response)
