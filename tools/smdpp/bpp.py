"""Bound Profile Package generation: GSMA SGP.22 v2.5 §2.5.5 (BPP structure), §5.5 (ES8+
functions carried in it) and §2.6.4 / Annex G (BSP: ECKA, X9.63 KDF, SCP03t segments).

The segment protection itself is :mod:`tools.scp.bsp_host` (host-side BSP); this module builds
the plaintexts (ConfigureISDP, StoreMetadata, ReplaceSessionKeys, the UPP), the signed
InitialiseSecureChannel request, and the ``BF36`` envelope in the order of §2.5.5:
``BF36 { BF23, A0 {87..}, A1 {88..}, [A2 {87}], A3 {86..} }``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.asn1 import rsp, rsp3
from euicc.tlv import tlv
from tools.scp import bsp_host
from tools.smdpp import signing

REMOTE_OP_INSTALL_BPP = 1        # RemoteOpId installBoundProfilePackage(1)
KEY_TYPE_AES = 0x88              # GP Card Spec Table 11-16, SGP.22 ControlRefTemplate.keyType
KEY_LENGTH = 0x10                # SGP.22 ControlRefTemplate.keyLen: 16 bytes
MAX_SEGMENT = bsp_host.MAX_SEGMENT


def point_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Uncompressed public point 04 || X || Y (SGP.22 otPK encoding, BSI TR-03111)."""
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def initialise_secure_channel(transaction_id: bytes, host_id: bytes, smdp_otpk: bytes, euicc_otpk: bytes,
                              pb_key: ec.EllipticCurvePrivateKey) -> bytes:
    """ES8+.InitialiseSecureChannel request ``BF23`` (§5.5.1).

    smdpSign is over remoteOpId || transactionId || controlRefTemplate || smdpOtpk || euiccOtpk,
    each as its complete DER data object (tags 82, 80, A6, 5F49, 5F49)."""
    crt = tlv(0x80, bytes([KEY_TYPE_AES])) + tlv(0x81, bytes([KEY_LENGTH])) + tlv(0x84, host_id)
    signed = (tlv(0x82, bytes([REMOTE_OP_INSTALL_BPP])) + tlv(0x80, transaction_id) + tlv(0xA6, crt)
              + tlv(0x5F49, smdp_otpk))
    signature = signing.sign(pb_key, signed + tlv(0x5F49, euicc_otpk))
    return tlv(0xBF23, signed + tlv(0x5F37, signature))


def configure_isdp(dp_oid: str | None) -> bytes:
    """ES8+.ConfigureISDP request ``BF24`` (§5.5.2), with dpProprietaryData {dpOid} when given."""
    value = {} if dp_oid is None else {"dpProprietaryData": {"dpOid": dp_oid}}
    return rsp().encode("ConfigureISDPRequest", value)


@dataclass(frozen=True)
class NotificationTarget:
    """One NotificationConfigurationInformation entry (§5.5.3): events and the address to notify."""

    events: tuple[str, ...]      # notificationInstall / Enable / Disable / Delete
    address: str


_EVENT_BITS = {"notificationInstall": 0, "notificationEnable": 1, "notificationDisable": 2,
               "notificationDelete": 3, "notificationRpmEnable": 4, "notificationRpmDisable": 5,
               "notificationRpmDelete": 6}


def _bit_string(names: tuple[str, ...], table: dict[str, int]) -> tuple[bytes, int]:
    """asn1tools BIT STRING value (bytes, bit count) with the named bits (all below 8) set."""
    bits = [table[n] for n in names]
    width = max(bits) + 1 if bits else 0
    value = 0
    for b in bits:
        value |= 0x80 >> b
    return bytes([value]) if width else b"", width


ENTERPRISE_RULE_BITS = {"reference": 0, "priority": 1, "only-enterprise": 2}
"""enterpriseRuleBits (SGP.22 v3.1 EnterpriseConfiguration): referenceEnterpriseRule,
priorityEnterpriseProfile, onlyEnterpriseProfilesCanBeInstalled."""


@dataclass(frozen=True)
class EnterpriseOrder:
    """An Enterprise Profile's EnterpriseConfiguration (SGP.22 v3.1 §2.4a.1.7): the enterprise OID and
    name, and, with ``rules`` (names of ENTERPRISE_RULE_BITS) or ``non_enterprise_profiles``, its
    Enterprise Rules."""

    oid: str
    name: str
    rules: tuple[str, ...] = ()
    non_enterprise_profiles: int | None = None

    def value(self) -> dict:
        value: dict = {"enterpriseOid": self.oid, "enterpriseName": self.name}
        if self.rules or self.non_enterprise_profiles is not None:
            value["enterpriseRules"] = {"enterpriseRuleBits": _bit_string(self.rules, ENTERPRISE_RULE_BITS),
                                        "numberOfNonEnterpriseProfiles": self.non_enterprise_profiles or 0}
        return value


@dataclass(frozen=True)
class ProfileMetadata:
    """The StoreMetadataRequest fields (§5.5.3) the SM-DP+ sends for a profile."""

    iccid: bytes                            # as coded in EF.ICCID (nibble-swapped BCD)
    service_provider_name: str
    profile_name: str
    profile_class: int | None = None        # 0 test, 1 provisioning, 2 operational (default)
    notifications: tuple[NotificationTarget, ...] = ()
    ppr_ids: tuple[str, ...] = ()           # e.g. ("ppr1",)
    profile_owner: bytes | None = None      # OperatorID.mccMnc, 3 bytes (TS 24.008 §10.5.1.3 coding)
    service_provider_message: str | None = None   # v3.1 serviceProviderMessage 'BE' (English)
    enterprise: EnterpriseOrder | None = None     # v3.1 enterpriseConfiguration 'BD'
    device_change_address: str | None = None      # v3.1 deviceChangeConfiguration requestToDp
    rpm_configuration: dict | None = None   # v3.1 rpmConfiguration 'BA' (tools.smdpp.rpm.rpm_configuration)
    pcmp_address: str | None = None         # v3.1 lprConfiguration 'BC' {pcmpAddress} (LPA Proxy)

    def encode(self, v3: bool = False) -> bytes:
        """DER of StoreMetadataRequest (``BF25``); in a v3 session (SGP.22 v3.1 module) with the
        service-provider message, which a v2 session cannot carry."""
        value: dict = {"iccid": self.iccid, "serviceProviderName": self.service_provider_name,
                       "profileName": self.profile_name}
        if self.profile_class is not None:
            value["profileClass"] = self.profile_class
        if self.notifications:
            value["notificationConfigurationInfo"] = [
                {"profileManagementOperation": _bit_string(n.events, _EVENT_BITS), "notificationAddress": n.address}
                for n in self.notifications]
        if self.profile_owner is not None:
            value["profileOwner"] = {"mccMnc": self.profile_owner}
        if self.ppr_ids:
            value["profilePolicyRules"] = _bit_string(self.ppr_ids, {"pprUpdateControl": 0, "ppr1": 1, "ppr2": 2,
                                                                    "ppr3": 3})
        if not v3:
            return rsp().encode("StoreMetadataRequest", value)
        if self.service_provider_message is not None:
            value["serviceProviderMessage"] = {"languageTag": "en", "message": self.service_provider_message}
        if self.enterprise is not None:
            value["enterpriseConfiguration"] = self.enterprise.value()
        if self.device_change_address is not None:
            value["deviceChangeConfiguration"] = ("requestToDp", {"smdpAddressForDc": self.device_change_address})
        if self.rpm_configuration is not None:
            value["rpmConfiguration"] = self.rpm_configuration
        if self.pcmp_address is not None:
            value["lprConfiguration"] = {"pcmpAddress": self.pcmp_address}
        return rsp3().encode("StoreMetadataRequest", value)


def session_keys(smdp_ot_sk: ec.EllipticCurvePrivateKey, euicc_otpk: bytes, host_id: bytes,
                 eid: bytes) -> bsp_host.SessionKeySet:
    """Annex G: ShS = ECKA(otSK.DP.ECKA, otPK.EUICC.ECKA); X9.63 KDF -> MCV, S-ENC, S-MAC."""
    shs = bsp_host.ecka_shared_secret(smdp_ot_sk.curve.name, smdp_ot_sk, euicc_otpk)
    return bsp_host.session_keys(shs, host_id, eid, KEY_TYPE_AES, KEY_LENGTH)


def _seq(tag: int, items: list[bytes]) -> bytes:
    return tlv(tag, b"".join(items))


def bound_profile_package(init_sc: bytes, keys: bsp_host.SessionKeySet, configure: bytes, metadata: bytes,
                          upp: bytes, ppk: bsp_host.SessionKeySet | None = None,
                          limit: int = MAX_SEGMENT) -> bytes:
    """The BF36 Bound Profile Package: ``init_sc`` (BF23) then the protected segment sequences;
    profile elements are cut into ``86`` segments of at most ``limit`` bytes (§2.5.5)."""
    prot = bsp_host.BspProtector(keys)
    first = bsp_host.protect_segments(prot, 0x87, configure, limit)
    meta = bsp_host.protect_segments(prot, 0x88, metadata, limit)
    body = init_sc + _seq(0xA0, first) + _seq(0xA1, meta)
    if ppk is not None:
        body += _seq(0xA2, [prot.protect(0x87, bsp_host.replace_session_keys_request(ppk))])
        prot.replace_keys(ppk)
    body += _seq(0xA3, bsp_host.protect_segments(prot, 0x86, upp, limit))
    return tlv(0xBF36, body)


def random_ppk() -> bsp_host.SessionKeySet:
    """Fresh Profile Protection Keys for ReplaceSessionKeys (§5.5.4)."""
    return bsp_host.SessionKeySet(os.urandom(16), os.urandom(16), os.urandom(16))
