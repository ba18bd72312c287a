"""EUICCInfo1 and EUICCInfo2: SGP.22 v2.5 / v3.1 §5.7.8 (GetEUICCInfo) and §4.1 (data structures).

Values that describe the product rather than follow from the spec are settings
(:class:`EuiccInfoSettings`); the CI key identifier lists come from the stored identity and
``extCardResource`` from the card's current resources (:mod:`euicc.gp.card_resources`).

Two forms (SGP.22 v3.1 RSPDefinitions keeps every v2 member on its v2 tag: ``svn [2]`` is
``lowestSvn [2]``, ``profileVersion [1]`` is ``baseProfilePackageVersion [1]``, ``rspCapability
[8]`` is ``euiccRspCapability [8]``, and adds members on tags v2 does not use):

* v2 form (:func:`euicc_info2_value` with ``v3=False``): exactly what a v2.5 card returns;
* v3 form: the v2 members plus ``euiccRspCapability`` / ``highestSvn`` in EUICCInfo1 and
  ``certificationDataObject``, ``lpaMode``, ``highestSvn`` in EUICCInfo2.

A card whose :attr:`EuiccInfoSettings.highest_svn` is 3.x answers GetEUICCInfo1/2 in the v3 form
(before any session the card cannot know the LPA's version; a v2 decoder skips the members it does
not know, which the tests check with the published v2 module).  Inside AuthenticateServer the
form follows the session's version (:mod:`euicc.rsp.es10b`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.rsp import der

if TYPE_CHECKING:
    from euicc.config import CardConfig

SVN = bytes((2, 5, 0))
"""Lowest SGP.22 version this eUICC implements (v2 ``svn`` = v3 ``lowestSvn``); 2.5.0."""
SVN_V3 = bytes((3, 1, 0))
"""Highest SGP.22 version this eUICC implements (v3 ``highestSvn``); 3.1.0."""

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
(getIdentity, 22) exists only from SGP.22 v3: it is set in the v3 form only."""
GET_IDENTITY_BIT = 22


def _bit_string(bits: tuple[int, ...]) -> tuple[bytes, int]:
    """An asn1tools BIT STRING value with the named `bits` set, trailing zeros removed (DER)."""
    size = max(bits) + 1
    value = sum(1 << (size - 1 - b) for b in bits) << (-size % 8)
    return value.to_bytes((size + 7) // 8, "big"), size


_UICC_CAPABILITY = _bit_string(UICC_CAPABILITY_BITS)
_UICC_CAPABILITY_V3 = _bit_string(UICC_CAPABILITY_BITS + (GET_IDENTITY_BIT,))
# RspCapability: additionalProfile(0), crlSupport(1), testProfileSupport(3)
_RSP_CAPABILITY = (bytes((0b11010000,)), 4)
EUICC_RSP_CAPABILITY_V3_BITS = (
    0,    # additionalProfile
    1,    # loadCrlSupport: ES10b.LoadCRL still works for v2 LPAs (v3.1: "SupportedOnlyBeforeV3")
    2,    # rpmSupport: ES10b.LoadRpmPackage (euicc.rsp.rpm)
    3,    # testProfileSupport
    7,    # serviceProviderMessageSupport: StoreMetadata 'BE' accepted and kept (euicc.rsp.metadata)
    18,   # euiccRspCapInInfo1: EUICCInfo1 carries euiccRspCapability
)
"""EuiccRspCapability (SGP.22 v3.1 RSPDefinitions) of the v3 form.  Not set, because the card
does not do them (yet): the other v3 features.  lpaProxySupport (8), enterpriseProfilesSupport
(9), deviceChangeSupport (11; with encryptedDeviceChangeDataSupport 12), crlStaplingV3Support (15)
and certChainV3VerificationSupport (16) follow the settings (:func:`_euicc_rsp_capability_v3`)."""
ENTERPRISE_PROFILES_SUPPORT = 9
CERT_CHAIN_V3_VERIFICATION_SUPPORT = 16
DEVICE_CHANGE_SUPPORT = (11, 12)     # deviceChangeSupport, encryptedDeviceChangeDataSupport
LPA_PROXY_SUPPORT, CRL_STAPLING_V3_SUPPORT = 8, 15


def _euicc_rsp_capability_v3(settings: EuiccInfoSettings) -> tuple[bytes, int]:
    """EuiccRspCapability of the v3 form: the fixed bits plus those the settings switch on."""
    optional = ((ENTERPRISE_PROFILES_SUPPORT,) if settings.enterprise_profiles else ()) + (
        (CERT_CHAIN_V3_VERIFICATION_SUPPORT,) if settings.cert_chain_v3 else ()) + (
        DEVICE_CHANGE_SUPPORT if settings.device_change else ()) + (
        (LPA_PROXY_SUPPORT,) if settings.lpa_proxy else ()) + (
        (CRL_STAPLING_V3_SUPPORT,) if settings.crl_stapling else ())
    return _bit_string(EUICC_RSP_CAPABILITY_V3_BITS + optional)


LPA_MODE_LPAD = 0
"""LpaMode lpad (0): the active LPA is in the Device (this card has no LPAe)."""


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
    svn: bytes = SVN                                 # EUICCInfo1/2 svn = lowestSvn, ISD-R FCI '82'
    # highestSvn: 3.1.0 makes the card speak SGP.22 v3.1 to v3 servers; 2.x (= svn): v2 only
    highest_svn: bytes = SVN_V3
    # certificationDataObject (v3 form; GlobalPlatform DLOA values): [U] this emulator has no
    # certification, these are placeholders
    platform_label: str = "euicc-emu"
    discovery_base_url: str = "https://dloa.invalid/"
    # CI key identifiers to list instead of the stored identity's (None: the identity's own)
    ci_pkids_for_verification: tuple[bytes, ...] | None = None
    ci_pkids_for_signing: tuple[bytes, ...] | None = None
    # Enterprise Profiles (v3.1, euicc.rsp.enterprise; EuiccRspCapability enterpriseProfilesSupport)
    enterprise_profiles: bool = True
    # certificate chains with sub-CAs (v3.1, euicc.rsp.trust; certChainV3VerificationSupport)
    cert_chain_v3: bool = True
    # Device Change and Profile Recovery (v3.1, euicc.rsp.device_change; deviceChangeSupport)
    device_change: bool = True
    # lprConfiguration kept with a profile (v3.1 LPA Proxy: euicc.rsp.metadata; lpaProxySupport)
    lpa_proxy: bool = True
    # CRLs stapled to AuthenticateServer checked (v3.1, euicc.rsp.crl_stapling; crlStaplingV3Support)
    crl_stapling: bool = True
    # euiccCiPKIdListForSigningV3 (v3 form; None: the identity's signing CIs, whose chains
    # eUICC -> EUM -> CI are Variant O / Ov3)
    ci_pkids_for_signing_v3: tuple[bytes, ...] | None = None

    def ci_pkids_for_signing_v3_of(self, identity: EuiccIdentity) -> list[bytes]:
        """euiccCiPKIdListForSigningV3 (EUICCInfo1/2 v3 form, tag 'B1')."""
        if self.ci_pkids_for_signing_v3 is not None:
            return list(self.ci_pkids_for_signing_v3)
        return self.ci_pkids(identity)[1]

    def ci_pkids(self, identity: EuiccIdentity) -> tuple[list[bytes], list[bytes]]:
        """The (verification, signing) CI key identifier lists EUICCInfo1/2 report."""
        return (list(identity.ci_pkids_for_verification if self.ci_pkids_for_verification is None
                     else self.ci_pkids_for_verification),
                list(identity.ci_pkids_for_signing if self.ci_pkids_for_signing is None
                     else self.ci_pkids_for_signing))


    @property
    def v3(self) -> bool:
        """The card implements SGP.22 v3 (highestSvn major version 3)."""
        return self.highest_svn[0] >= 3


DEFAULT_SETTINGS = EuiccInfoSettings()


def settings(config: CardConfig) -> EuiccInfoSettings:
    """The card's EUICCInfo values: a vendor quirk profile's (``CardConfig.euicc_info``), or this
    emulator's own."""
    value = config.euicc_info
    return value if isinstance(value, EuiccInfoSettings) else DEFAULT_SETTINGS


def euicc_info1(identity: EuiccIdentity, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF20 EUICCInfo1 (SGP.22 §5.7.8): the v3 form when the card implements v3."""
    verification, signing = settings.ci_pkids(identity)
    if not settings.v3:
        return der.encode("EUICCInfo1", {
            "svn": settings.svn,
            "euiccCiPKIdListForVerification": verification,
            "euiccCiPKIdListForSigning": signing,
        })
    return der.encode("EUICCInfo1", {
        "lowestSvn": settings.svn,
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
        "euiccRspCapability": _euicc_rsp_capability_v3(settings),
        "euiccCiPKIdListForSigningV3": settings.ci_pkids_for_signing_v3_of(identity),
        "highestSvn": settings.highest_svn,
    }, v3=True)


_V3_NAMES = {
    "profileVersion": "baseProfilePackageVersion",
    "svn": "lowestSvn",
    "euiccFirmwareVer": "euiccFirmwareVersion",
    "rspCapability": "euiccRspCapability",
    "javacardVersion": "ts102241Version",
}
"""EUICCInfo2 members SGP.22 v3.1 renames (same tags as v2); every other v2 member keeps its name."""


def euicc_info2_value(identity: EuiccIdentity, resources: bytes,
                      settings: EuiccInfoSettings = DEFAULT_SETTINGS, *, v3: bool = False) -> dict:
    """EUICCInfo2 as an asn1tools value (also embedded in euiccSigned1, §5.7.13) of the v2 or
    (`v3`) v3.1 module; `resources` is the Extended Card Resources Information (ETSI TS 102 226
    §8.2.1.7.2, '81' '82' '83' TLVs).  One path: the v2 members (v3.1 keeps their tags, renames
    some: :data:`_V3_NAMES`), then, in the v3 form, the members v3.1 adds."""
    verification, signing = settings.ci_pkids(identity)
    value: dict = {
        "profileVersion": settings.profile_version,
        "svn": settings.svn,
        "euiccFirmwareVer": settings.firmware_version,
        "extCardResource": resources,
        "uiccCapability": _UICC_CAPABILITY_V3 if v3 else _UICC_CAPABILITY,
        "rspCapability": _euicc_rsp_capability_v3(settings) if v3 else _RSP_CAPABILITY,
        "euiccCiPKIdListForVerification": verification,
        "euiccCiPKIdListForSigning": signing,
        "ppVersion": settings.pp_version,
        "sasAcreditationNumber": settings.sas_accreditation_number,
    }
    optional = {"javacardVersion": settings.ts102241_version,
                "globalplatformVersion": settings.globalplatform_version,
                "euiccCategory": settings.euicc_category}
    value.update((name, member) for name, member in optional.items() if member is not None)
    if not v3:
        return value
    value = {_V3_NAMES.get(name, name): member for name, member in value.items()}
    value.update({
        "certificationDataObject": {"platformLabel": settings.platform_label,
                                    "discoveryBaseURL": settings.discovery_base_url},
        "lpaMode": LPA_MODE_LPAD,
        "euiccCiPKIdListForSigningV3": settings.ci_pkids_for_signing_v3_of(identity),
        "highestSvn": settings.highest_svn,
    })
    return value


def euicc_info2(identity: EuiccIdentity, resources: bytes, settings: EuiccInfoSettings = DEFAULT_SETTINGS) -> bytes:
    """BF22 EUICCInfo2 (SGP.22 §5.7.8): the v3 form when the card implements v3."""
    return der.encode("EUICCInfo2", euicc_info2_value(identity, resources, settings, v3=settings.v3),
                      v3=settings.v3)
