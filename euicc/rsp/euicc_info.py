"""EUICCInfo1 and EUICCInfo2: SGP.22 v2.5 §5.7.8 (GetEUICCInfo) and §4.1 (data structures).

Values that describe the product rather than follow from the spec are settings
(:class:`EuiccInfoSettings`); the CI key identifier lists come from the stored identity.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.rsp import der

SVN = bytes((2, 5, 0))
"""SGP.22 version this eUICC implements (EUICCInfo1/2 svn); 2.5.0."""

# UICCCapability bits (RSPDefinitions): usimSupport(1), isimSupport(2), akaMilenage(4),
# akaTuak128(6), akaTuak256(7) -- the AKA algorithms euicc.auth implements.
_UICC_CAPABILITY = (bytes((0b01101011, 0x00)), 8)
# RspCapability: additionalProfile(0), crlSupport(1), testProfileSupport(3)
_RSP_CAPABILITY = (bytes((0b11010000,)), 4)


@dataclass(frozen=True)
class EuiccInfoSettings:
    """Product values of EUICCInfo2 (SGP.22 §4.1); defaults describe this emulator."""

    profile_version: bytes = bytes((2, 3, 1))       # SAIP version supported (2.3.1)
    firmware_version: bytes = bytes((1, 0, 0))
    # ETSI TS 102 226 §8.2.1.7.2: '81' installed applications, '82' free NVM, '83' free RAM [R]
    ext_card_resource: bytes = bytes.fromhex("81010082040010000083024000")
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


def euicc_info1(identity: EuiccIdentity, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF20 EUICCInfo1 (SGP.22 §5.7.8)."""
    verification, signing = settings.ci_pkids(identity)
    return der.encode("EUICCInfo1", {
        "svn": settings.svn,
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
    })


def euicc_info2_value(identity: EuiccIdentity, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> dict:
    """EUICCInfo2 as an asn1tools value (also embedded in euiccSigned1, §5.7.13)."""
    verification, signing = settings.ci_pkids(identity)
    value: dict = {
        "profileVersion": settings.profile_version,
        "svn": settings.svn,
        "euiccFirmwareVer": settings.firmware_version,
        "extCardResource": settings.ext_card_resource,
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


def euicc_info2(identity: EuiccIdentity, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF22 EUICCInfo2 (SGP.22 §5.7.8)."""
    return der.encode("EUICCInfo2", euicc_info2_value(identity, settings))
