"""EUICCInfo1 and EUICCInfo2: SGP.22 v2.5 §5.7.8 (GetEUICCInfo) and §4.1 (data structures).

Values that describe the product rather than follow from the spec are settings
(:class:`EuiccInfoSettings`); the CI key identifier lists come from the stored identity and
``extCardResource`` from the card's current resources (:mod:`euicc.gp.card_resources`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.rsp import der

if TYPE_CHECKING:
    from euicc.config import CardConfig

SVN = bytes((2, 5, 0))
"""SGP.22 version this eUICC implements (EUICCInfo1/2 svn); 2.5.0."""

UICC_CAPABILITY_BITS = (
    1,    # usimSupport: applets/usim.py (ADF prefix A0000000871002)
    2,    # isimSupport: applets/isim.py (ADF prefix A0000000871004)
    4,    # akaMilenage: euicc/auth/milenage.py
    6,    # akaTuak128: euicc/auth/tuak.py, 128-bit K
    7,    # akaTuak256: euicc/auth/tuak.py, 256-bit K
    16,   # multipleUsimSupport: one applet and AKA subscription per USIM ADF (euicc/auth/subscription.py)
    17,   # multipleIsimSupport: likewise per ISIM ADF
)
"""The UICCCapability bits (SGP.22 v2.5 RSPDefinitions) for what this card does.  Not set: no
contactless (0), no CSIM application (3, 18), no CAVE (5), no GBA or MBMS security context in
AUTHENTICATE (10-12, applets/usim.py answers P2 '80'/'81' only), no EAP client (13), Java Card
packages are recorded but never executed (14), no MULTOS (15).  GET IDENTITY works, but its bit
(getIdentity, 22) exists only from SGP.22 v3; this card reports SVN 2.5.0."""


def _bit_string(bits: tuple[int, ...]) -> tuple[bytes, int]:
    """An asn1tools BIT STRING value with the named `bits` set, trailing zeros removed (DER)."""
    size = max(bits) + 1
    value = sum(1 << (size - 1 - b) for b in bits) << (-size % 8)
    return value.to_bytes((size + 7) // 8, "big"), size


_UICC_CAPABILITY = _bit_string(UICC_CAPABILITY_BITS)
# RspCapability: additionalProfile(0), crlSupport(1), testProfileSupport(3)
_RSP_CAPABILITY = (bytes((0b11010000,)), 4)


@dataclass(frozen=True)
class EuiccInfoSettings:
    """Product values of EUICCInfo2 (SGP.22 §4.1); defaults describe this emulator."""

    profile_version: bytes = bytes((2, 3, 1))       # SAIP version supported (2.3.1)
    firmware_version: bytes = bytes((1, 0, 0))
    ts102241_version: bytes | None = bytes((15, 1, 0))
    globalplatform_version: bytes | None = bytes((2, 3, 0))
    euicc_category: int | None = 1                   # basicEuicc
    pp_version: bytes = bytes((1, 0, 0))
    sas_accreditation_number: str = "EUICC-EMU-TEST"
    svn: bytes = SVN                                 # EUICCInfo1/2 svn and the ISD-R FCI's '82'
    # CI key identifiers to list instead of the stored identity's (None: the identity's own)
    ci_pkids_for_verification: tuple[bytes, ...] | None = None
    ci_pkids_for_signing: tuple[bytes, ...] | None = None

    def ci_pkids(self, identity: EuiccIdentity) -> tuple[list[bytes], list[bytes]]:
        """The (verification, signing) CI key identifier lists EUICCInfo1/2 report."""
        return (list(identity.ci_pkids_for_verification if self.ci_pkids_for_verification is None
                     else self.ci_pkids_for_verification),
                list(identity.ci_pkids_for_signing if self.ci_pkids_for_signing is None
                     else self.ci_pkids_for_signing))


DEFAULT_SETTINGS = EuiccInfoSettings()


def settings(config: CardConfig) -> EuiccInfoSettings:
    """The card's EUICCInfo values: a vendor quirk profile's (``CardConfig.euicc_info``), or this
    emulator's own."""
    value = config.euicc_info
    return value if isinstance(value, EuiccInfoSettings) else DEFAULT_SETTINGS


def euicc_info1(identity: EuiccIdentity, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF20 EUICCInfo1 (SGP.22 §5.7.8)."""
    verification, signing = settings.ci_pkids(identity)
    return der.encode("EUICCInfo1", {
        "svn": settings.svn,
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
    })


def euicc_info2_value(identity: EuiccIdentity, resources: bytes,
                      settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> dict:
    """EUICCInfo2 as an asn1tools value (also embedded in euiccSigned1, §5.7.13); `resources` is
    the Extended Card Resources Information (ETSI TS 102 226 §8.2.1.7.2, '81' '82' '83' TLVs)."""
    verification, signing = settings.ci_pkids(identity)
    value: dict = {
        "profileVersion": settings.profile_version,
        "svn": settings.svn,
        "euiccFirmwareVer": settings.firmware_version,
        "extCardResource": resources,
        "uiccCapability": _UICC_CAPABILITY,
        "rspCapability": _RSP_CAPABILITY,
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
        "ppVersion": settings.pp_version,
        "sasAcreditationNumber": settings.sas_accreditation_number,
    }
    if settings.ts102241_version is not None:
        value["javacardVersion"] = settings.ts102241_version
    if settings.globalplatform_version is not None:
        value["globalplatformVersion"] = settings.globalplatform_version
    if settings.euicc_category is not None:
        value["euiccCategory"] = settings.euicc_category
    return value


def euicc_info2(identity: EuiccIdentity, resources: bytes, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF22 EUICCInfo2 (SGP.22 §5.7.8)."""
    return der.encode("EUICCInfo2", euicc_info2_value(identity, resources, settings))
