"""ES10a/b/c client functions of the LPA (GSMA SGP.22 v2.5 §5.7), over :class:`Es10Transport`.

Requests are DER-encoded with the SGP.22 ``RSPDefinitions`` module; responses are decoded with it.
Functions whose output is forwarded to the SM-DP+ (AuthenticateServer, PrepareDownload,
CancelSession, notifications) return the card's bytes unchanged, since those carry signatures.
"""
from __future__ import annotations

import asn1tools

from euicc import tlv
from euicc.asn1 import rsp, rsp3
from tools.lpa.transport import Es10Transport


class Es10Error(Exception):
    """An ES10 response that is not what the function defines (undecodable, wrong tag)."""


def _decode(type_name: str, data: bytes, *, v3: bool = False) -> object:
    try:
        return (rsp3() if v3 else rsp()).decode(type_name, data)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise Es10Error(f"{type_name}: cannot decode {data[:16].hex().upper()}...: {exc}") from None


def _choice(type_name: str, data: bytes, *, v3: bool = False) -> tuple[str, object]:
    value = _decode(type_name, data, v3=v3)
    if not isinstance(value, tuple):
        raise Es10Error(f"{type_name}: expected a CHOICE")
    return value


def profile_identifier(iccid: bytes | None = None, aid: bytes | None = None) -> tuple[str, bytes]:
    """The ``profileIdentifier`` CHOICE: ISD-P AID (4F) or ICCID (5A, EF.ICCID coding)."""
    if (iccid is None) == (aid is None):
        raise ValueError("give exactly one of iccid / aid")
    return ("isdpAid", aid) if aid is not None else ("iccid", iccid)


class Es10Client:
    """The ES10 functions an LPA uses (§5.7.x), one method each."""

    def __init__(self, transport: Es10Transport) -> None:
        self.transport = transport

    def call(self, type_name: str, value: object) -> bytes:
        return self.transport.store_data(rsp().encode(type_name, value))

    # ES10b (§5.7.x, download and notifications)
    def get_euicc_info1(self) -> bytes:
        """§5.7.8 GetEUICCInfo: EUICCInfo1 (BF20) as received."""
        data = self.call("GetEuiccInfo1Request", {})
        _decode("EUICCInfo1", data)
        return data

    def get_euicc_info2(self) -> dict:
        return _decode("EUICCInfo2", self.call("GetEuiccInfo2Request", {}))

    def get_euicc_challenge(self) -> bytes:
        """§5.7.7 GetEUICCChallenge: the 16-byte challenge."""
        return _decode("GetEuiccChallengeResponse", self.call("GetEuiccChallengeRequest", {}))["euiccChallenge"]

    def authenticate_server(self, server_signed1: bytes, server_signature1: bytes, ci_pkid: bytes,
                            server_certificate: bytes, ctx_params1: bytes, other_certs_in_chain: bytes = b"",
                            crl_list: bytes = b"") -> bytes:
        """§5.7.13 AuthenticateServer: the SM-DP+'s DER objects are passed through unchanged (v3.1:
        with its otherCertsInChain 'A1', the sub-CA certificates, and its crlList 'A2', the stapled CRLs)."""
        request = tlv.tlv(0xBF38, server_signed1 + server_signature1 + ci_pkid + server_certificate + ctx_params1
                          + other_certs_in_chain + crl_list)
        response = self.transport.store_data(request)
        _choice("AuthenticateServerResponse", response)
        return response

    def prepare_download(self, smdp_signed2: bytes, smdp_signature2: bytes, smdp_certificate: bytes,
                         hash_cc: bytes | None) -> bytes:
        """§5.7.5 PrepareDownload."""
        body = smdp_signed2 + smdp_signature2 + (tlv.tlv(0x04, hash_cc) if hash_cc else b"") + smdp_certificate
        response = self.transport.store_data(tlv.tlv(0xBF21, body))
        _choice("PrepareDownloadResponse", response)
        return response

    def v3_call(self, request: bytes, response_type: str) -> tuple[str, object]:
        """An SGP.22 v3.1 ES10 function whose request the caller built (Device Change, Profile
        Recovery: PrepareDeviceChange, VerifyDeviceChange, VerifyProfileRecovery); its decoded CHOICE."""
        return rsp3().decode(response_type, self.transport.store_data(request))

    def load_bound_profile_package(self, bpp: bytes) -> bytes:
        """§5.7.6 LoadBoundProfilePackage: one ES10 command per BPP part, in the order of §2.5.5
        (BF36 header + BF23; A0; A1 header; each 88; A2; A3 header; each 86).  Returns the
        ProfileInstallationResult (BF37) the card sends at the end or at the first error."""
        for part in split_bpp(bpp):
            response = self.transport.store_data(part)
            if response:
                if response[:2] != b"\xbf\x37":
                    raise Es10Error(f"LoadBoundProfilePackage answered {response[:8].hex().upper()}")
                return response
        raise Es10Error("LoadBoundProfilePackage ended without a ProfileInstallationResult")

    def cancel_session(self, transaction_id: bytes, reason: int) -> bytes:
        """§5.7.14 CancelSession: the card's signed response (BF41) as received."""
        response = self.call("CancelSessionRequest", {"transactionId": transaction_id, "reason": reason})
        _choice("CancelSessionResponse", response)
        return response

    def list_notifications(self) -> list[dict]:
        """§5.7.9 ListNotification."""
        kind, value = _choice("ListNotificationResponse", self.call("ListNotificationRequest", {}))
        if kind != "notificationMetadataList":
            raise Es10Error(f"ListNotification error {value}")
        return value

    def retrieve_notifications(self, seq_number: int | None = None) -> list[bytes]:
        """§5.7.10 RetrieveNotificationsList: each PendingNotification as its raw bytes."""
        value = {} if seq_number is None else {"searchCriteria": ("seqNumber", seq_number)}
        data = self.call("RetrieveNotificationsListRequest", value)
        kind, decoded = _choice("RetrieveNotificationsListResponse", data)
        if kind != "notificationList":
            return []
        try:
            inner = tlv.unwrap(data, 0xBF2B)
            out = [raw for _, raw in tlv.split(tlv.unwrap(inner, 0xA0))]
        except tlv.TlvError as exc:
            raise Es10Error(f"RetrieveNotificationsList: {exc}") from None
        return out

    def remove_notification(self, seq_number: int) -> int:
        """§5.7.11 RemoveNotificationFromList: deleteNotificationStatus (0 ok)."""
        return _decode("NotificationSentResponse", self.call("NotificationSentRequest", {"seqNumber": seq_number}))[
            "deleteNotificationStatus"]

    # ES10c (§5.7.15 ff., local profile management)
    def get_profiles_info(self, tag_list: bytes | None = None) -> list[dict]:
        """§5.7.15, decoded with the v3.1 module (a superset of v2's ProfileInfo: v3 adds
        ``enabledOnEsimPort`` for Multiple Enabled Profiles, and on a v3 card the members a
        ``tag_list`` asks for, e.g. ``rpmConfiguration`` 'BA')."""
        request = {} if tag_list is None else {"tagList": tag_list}
        kind, value = _choice("ProfileInfoListResponse", self.call("ProfileInfoListRequest", request), v3=True)
        if kind != "profileInfoListOk":
            raise Es10Error(f"GetProfilesInfo error {value}")
        return value

    def enable_profile(self, ident: tuple[str, bytes], refresh: bool = True, port: int | None = None) -> int:
        """§5.7.16 enableResult (see :meth:`enable_profile_response`)."""
        return self.enable_profile_response(ident, refresh, port)["enableResult"]

    def enable_profile_response(self, ident: tuple[str, bytes], refresh: bool = True,
                                port: int | None = None) -> dict:
        """§5.7.16 EnableProfileResponse, decoded with the v3.1 module (a superset of v2's): on a
        MEP card (v3.1 §2.12) its ``targetEsimPort`` is the port the profile is enabled on.  With
        `port`, the v3.1 request with ``targetEsimPort``."""
        request = {"profileIdentifier": ident, "refreshFlag": refresh}
        if port is None:
            raw = self.call("EnableProfileRequest", request)
        else:
            request["targetEsimPort"] = port
            raw = self.transport.store_data(rsp3().encode("EnableProfileRequest", request))
        return _decode("EnableProfileResponse", raw, v3=True)

    def disable_profile(self, ident: tuple[str, bytes], refresh: bool = True) -> int:
        return _decode("DisableProfileResponse", self.call("DisableProfileRequest", {
            "profileIdentifier": ident, "refreshFlag": refresh}))["disableResult"]

    def delete_profile(self, ident: tuple[str, bytes]) -> int:
        return _decode("DeleteProfileResponse", self.call("DeleteProfileRequest", ident))["deleteResult"]

    def set_nickname(self, iccid: bytes, nickname: str) -> int:
        return _decode("SetNicknameResponse", self.call("SetNicknameRequest", {
            "iccid": iccid, "profileNickname": nickname}))["setNicknameResult"]

    def get_eid(self) -> str:
        return _decode("GetEuiccDataResponse", self.call("GetEuiccDataRequest", {"tagList": b"\x5a"}))[
            "eidValue"].hex().upper()

    def get_configured_addresses(self) -> dict:
        return _decode("EuiccConfiguredAddressesResponse", self.call("EuiccConfiguredAddressesRequest", {}))


def split_bpp(bpp: bytes) -> list[bytes]:
    """The ES10 commands that carry one Bound Profile Package (§2.5.5, §5.7.6)."""
    try:
        tag, i = tlv.read_tag(bpp, 0)
        length, body_start = tlv.read_length(bpp, i)
        if tag != 0xBF36 or body_start + length != len(bpp):
            raise tlv.TlvError("not one BF36 object")
        parts: list[bytes] = []
        i, header = body_start, bpp[:body_start]
        while i < len(bpp):
            start = i
            tag, i = tlv.read_tag(bpp, i)
            length, value_start = tlv.read_length(bpp, i)
            end = value_start + length
            if end > len(bpp):
                raise tlv.TlvError("segment runs past the end")
            if tag == 0xBF23:
                parts.append(header + bpp[start:end])
            elif tag in (0xA0, 0xA2):
                parts.append(bpp[start:end])
            elif tag in (0xA1, 0xA3):
                parts.append(bpp[start:value_start])
                parts.extend(child for _, child in tlv.split(bpp[value_start:end]))
            else:
                raise tlv.TlvError(f"unexpected {tag:X} in BF36")
            i = end
    except tlv.TlvError as exc:
        raise Es10Error(f"bound profile package: {exc}") from None
    return parts


