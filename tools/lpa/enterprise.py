"""The LPA's Enterprise Profile checks before PrepareDownload (SGP.22 v3.1 §3.1.3): when the
profile metadata carries an ``enterpriseConfiguration``, the LPA ends the session with
ES10b/ES9+.CancelSession instead of downloading what the eUICC would refuse:

* the eUICC does not support Enterprise Profiles (EUICCInfo2 ``euiccRspCapability`` bit 9
  ``enterpriseProfilesSupport`` clear): reason enterpriseProfilesNotSupported (17);
* the configuration has Enterprise Rules and this Device is not an Enterprise Capable Device:
  reason enterpriseRulesNotAllowed (18).

The checks that need the installed profiles (OID mismatch, a second Reference Enterprise Rule,
only-Enterprise Profiles) are left to the eUICC, which refuses them in StoreMetadata.
"""
from __future__ import annotations

from euicc.asn1 import rsp3
from tools.lpa.es10 import Es10Client

ENTERPRISE_PROFILES_NOT_SUPPORTED, ENTERPRISE_RULES_NOT_ALLOWED = 17, 18     # CancelSessionReason
ENTERPRISE_PROFILES_SUPPORT = 9                                               # EuiccRspCapability


def _supported(es10: Es10Client) -> bool:
    info2 = rsp3().decode("EUICCInfo2", es10.call("GetEuiccInfo2Request", {}))
    data, size = info2.get("euiccRspCapability", (b"", 0))
    byte, bit = divmod(ENTERPRISE_PROFILES_SUPPORT, 8)
    return size > ENTERPRISE_PROFILES_SUPPORT and bool(data[byte] & (0x80 >> bit))


def cancel_reason(es10: Es10Client, enterprise_capable: bool, metadata: dict) -> int | None:
    """The CancelSessionReason for this profile's metadata (module docstring), None to go on."""
    configuration = metadata.get("enterpriseConfiguration")
    if configuration is None:
        return None
    if not _supported(es10):
        return ENTERPRISE_PROFILES_NOT_SUPPORTED
    if "enterpriseRules" in configuration and not enterprise_capable:
        return ENTERPRISE_RULES_NOT_ALLOWED
    return None
