"""A minimal stub eUICC for testing the host-side LPA and SM-DP+ against each other.

Written for these tests from GSMA SGP.22 v2.5 (card side of §5.7 ES10b/c, §2.6.4 / Annex G BSP),
independently of both ``euicc/`` and ``tools/``: its BSP unwrapping, KDF use and signature
handling are its own, so a download that succeeds proves the SM-DP+ produced what the spec says.
It keeps only what the tests need (one curve, no policy rules).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from Crypto.Cipher import AES
from Crypto.Hash import CMAC
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from euicc import tlv
from euicc.asn1 import rsp

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")


def raw_children(value: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(value):
        start = i
        tag, i = tlv.read_tag(value, i)
        length, i = tlv.read_length(value, i)
        i += length
        out.append((tag, value[start:i]))
    return out


def value_of(obj: bytes) -> bytes:
    _, i = tlv.read_tag(obj, 0)
    _, i = tlv.read_length(obj, i)
    return obj[i:]


def sign_plain(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_plain(key: ec.EllipticCurvePublicKey, data: bytes, sig: bytes) -> None:
    key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")), data,
               ec.ECDSA(hashes.SHA256()))


@dataclass
class StubProfile:
    iccid: bytes
    aid: bytes
    upp: bytes
    enabled: bool = False
    nickname: str = ""


@dataclass
class StubEuicc:
    key: ec.EllipticCurvePrivateKey
    cert: bytes
    eum_cert: bytes
    ci: x509.Certificate
    eid: bytes
    profiles: list[StubProfile] = field(default_factory=list)
    notifications: list[tuple[int, bytes, dict]] = field(default_factory=list)
    seq: int = 0
    # volatile
    challenge: bytes = b""
    session: dict = field(default_factory=dict)
    bpp: dict = field(default_factory=dict)
    buffer: bytes = b""
    pending: bytes = b""

    @property
    def ci_ski(self) -> bytes:
        return self.ci.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

    # -- APDU level ------------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        ins, p1, p2 = apdu[1], apdu[2], apdu[3]
        if ins == 0xAA or ins == 0xA4:
            return b"\x90\x00"
        if ins == 0x70:
            return b"\x01\x90\x00" if p1 == 0 else b"\x90\x00"
        if ins == 0xC0:
            out, self.pending = self.pending[:256], self.pending[256:]
            return out + (bytes([0x61, min(len(self.pending), 256) & 0xFF]) if self.pending else b"\x90\x00")
        if ins == 0xE2:
            if p2 == 0:
                self.buffer = b""
            self.buffer += apdu[5:5 + apdu[4]]
            if p1 & 0x80 == 0:
                return b"\x90\x00"
            self.pending = self.es10(self.buffer)
            if not self.pending:
                return b"\x90\x00"
            return bytes([0x61, min(len(self.pending), 256) & 0xFF])
        return b"\x6d\x00"

    # -- ES10 ------------------------------------------------------------------------------------
    def es10(self, data: bytes) -> bytes:
        if self.bpp and data[:2] != b"\xbf\x36":
            return self.load_bpp_part(data)
        tag, _ = tlv.read_tag(data, 0)
        handler = {0xBF20: self.info1, 0xBF22: lambda d: self.info2(), 0xBF2E: self.get_challenge,
                   0xBF38: self.authenticate_server, 0xBF21: self.prepare_download, 0xBF36: self.load_bpp_part,
                   0xBF41: self.cancel_session, 0xBF28: self.list_notifications, 0xBF2B: self.retrieve,
                   0xBF30: self.remove, 0xBF2D: self.profiles_info, 0xBF31: self.enable, 0xBF32: self.disable,
                   0xBF33: self.delete, 0xBF3E: lambda d: tlv.tlv(0xBF3E, tlv.tlv(0x5A, self.eid))}[tag]
        return handler(data)

    def info1(self, _: bytes) -> bytes:
        return rsp().encode("EUICCInfo1", {"svn": b"\x02\x05\x00", "euiccCiPKIdListForVerification": [self.ci_ski],
                                          "euiccCiPKIdListForSigning": [self.ci_ski]})

    def info2_value(self) -> dict:
        return {"profileVersion": b"\x02\x03\x01", "svn": b"\x02\x05\x00", "euiccFirmwareVer": b"\x01\x00\x00",
                "extCardResource": b"", "uiccCapability": (b"\x60", 3), "rspCapability": (b"\x90", 4),
                "euiccCiPKIdListForVerification": [self.ci_ski], "euiccCiPKIdListForSigning": [self.ci_ski],
                "ppVersion": b"\x01\x00\x00", "sasAcreditationNumber": "STUB"}

    def info2(self) -> bytes:
        return rsp().encode("EUICCInfo2", self.info2_value())

    def get_challenge(self, _: bytes) -> bytes:
        self.challenge = os.urandom(16)
        return tlv.tlv(0xBF2E, tlv.tlv(0x80, self.challenge))

    def authenticate_server(self, data: bytes) -> bytes:
        signed1, sig1, _pkid, cert, ctx = (raw for _, raw in raw_children(tlv.unwrap(data, 0xBF38)))
        server = x509.load_der_x509_certificate(cert)
        server.verify_directly_issued_by(self.ci)
        verify_plain(server.public_key(), signed1, value_of(sig1))
        s1 = rsp().decode("ServerSigned1", signed1)
        assert s1["euiccChallenge"] == self.challenge
        oid = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.session = {"txid": s1["transactionId"], "oid": oid.get_values_for_type(x509.RegisteredID)[0].dotted_string,
                        "address": s1["serverAddress"]}
        esigned1 = rsp().encode("EuiccSigned1", {
            "transactionId": s1["transactionId"], "serverAddress": s1["serverAddress"],
            "serverChallenge": s1["serverChallenge"], "euiccInfo2": self.info2_value(),
            "ctxParams1": rsp().decode("CtxParams1", ctx)})
        self.session["sig1"] = tlv.tlv(0x5F37, sign_plain(self.key, esigned1))
        return tlv.tlv(0xBF38, tlv.tlv(0xA0, esigned1 + self.session["sig1"] + self.cert + self.eum_cert))

    def prepare_download(self, data: bytes) -> bytes:
        parts = raw_children(tlv.unwrap(data, 0xBF21))
        signed2, sig2, cert = parts[0][1], parts[1][1], parts[-1][1]
        hash_cc = value_of(parts[2][1]) if len(parts) == 4 else None
        pb = x509.load_der_x509_certificate(cert)
        pb.verify_directly_issued_by(self.ci)
        verify_plain(pb.public_key(), signed2 + self.session["sig1"], value_of(sig2))
        self.session["pb"] = pb.public_key()
        self.session["otsk"] = ec.generate_private_key(self.key.curve)
        otpk = self.session["otsk"].public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint)
        value = {"transactionId": self.session["txid"], "euiccOtpk": otpk}
        if hash_cc:
            value["hashCc"] = hash_cc
        esigned2 = rsp().encode("EUICCSigned2", value)
        self.session["otpk"] = otpk
        return tlv.tlv(0xBF21, tlv.tlv(0xA0, esigned2 + tlv.tlv(0x5F37, sign_plain(self.key, esigned2 + sig2))))

    # -- BSP (SGP.22 §2.6.4.x, Annex G), written from the spec for the stub --------------------
    def load_bpp_part(self, data: bytes) -> bytes:
        """One ES10 command of LoadBoundProfilePackage (order of §2.5.5)."""
        tag, i = tlv.read_tag(data, 0)
        length, i = tlv.read_length(data, i)
        if tag == 0xBF36:
            return self.initialise(data[i:])
        if tag in (0xA1, 0xA3):          # header only: its segments follow one per command
            self.bpp["left"] = length
            return b""
        if tag in (0xA0, 0xA2):
            for _, seg in raw_children(data[i:]):
                err = self.unwrap(seg, 1 if tag == 0xA0 else 4)
                if err:
                    return err
            return b""
        err = self.unwrap(data, 2 if tag == 0x88 else 5)
        if err:
            return err
        self.bpp["left"] -= len(data)
        return self.finish() if tag == 0x86 and self.bpp["left"] == 0 else b""

    def initialise(self, init: bytes) -> bytes:
        parts = raw_children(tlv.unwrap(init, 0xBF23))
        signed = b"".join(raw for _, raw in parts[:4]) + tlv.tlv(0x5F49, self.session["otpk"])
        verify_plain(self.session["pb"], signed, value_of(parts[4][1]))
        crt = dict(tlv.parse(value_of(parts[2][1])))
        smdp_otpk = value_of(parts[3][1])
        peer = ec.EllipticCurvePublicKey.from_encoded_point(self.key.curve, smdp_otpk)
        shs = self.session["otsk"].exchange(ec.ECDH(), peer)
        host_id = crt[0x84]
        info = crt[0x80] + crt[0x81] + bytes([len(host_id)]) + host_id + bytes([len(self.eid)]) + self.eid
        okm = X963KDF(hashes.SHA256(), 48, info).derive(shs)
        self.bpp = {"mcv": okm[:16], "enc": okm[16:32], "mac": okm[32:], "counter": 0, "plain": {}, "failed": False}
        return b""

    def unwrap(self, seg: bytes, command_id: int) -> bytes:
        st = self.bpp
        tag = seg[0]
        body = value_of(seg)
        header = seg[:len(seg) - len(body)]
        payload, mac = body[:-8], body[-8:]
        st["counter"] += 1
        full = CMAC.new(st["mac"], msg=st["mcv"] + header + payload, ciphermod=AES).digest()
        if full[:8] != mac:
            return self.result_error(command_id, 8)
        st["mcv"] = full
        if tag in (0x86, 0x87):
            icv = AES.new(st["enc"], AES.MODE_ECB).encrypt(st["counter"].to_bytes(16, "big"))
            plain = AES.new(st["enc"], AES.MODE_CBC, iv=icv).decrypt(payload)
            plain = plain[:plain.rindex(b"\x80")]
        else:
            plain = payload
        st["plain"][command_id] = st["plain"].get(command_id, b"") + plain
        if command_id == 4:   # ReplaceSessionKeys: PPKs, fresh counter
            rsk = rsp().decode("ReplaceSessionKeysRequest", plain)
            st.update(mcv=rsk["initialMacChainingValue"], enc=rsk["ppkEnc"], mac=rsk["ppkCmac"], counter=0)
        return b""

    def _pir(self, final: tuple) -> bytes:
        self.seq += 1
        meta = rsp().decode("StoreMetadataRequest", self.bpp["plain"][2]) if 2 in self.bpp["plain"] else {}
        notif = {"seqNumber": self.seq, "profileManagementOperation": (b"\x80", 1),
                 "notificationAddress": self.session["address"]}
        if "iccid" in meta:
            notif["iccid"] = meta["iccid"]
        data = rsp().encode("ProfileInstallationResultData", {
            "transactionId": self.session["txid"], "notificationMetadata": notif, "smdpOid": self.session["oid"],
            "finalResult": final})
        pir = tlv.tlv(0xBF37, data + tlv.tlv(0x5F37, sign_plain(self.key, data)))
        self.notifications.append((self.seq, pir, notif))
        self.bpp = {}
        return pir

    def result_error(self, command_id: int, reason: int) -> bytes:
        return self._pir(("errorResult", {"bppCommandId": command_id, "errorReason": reason}))

    def finish(self) -> bytes:
        meta = rsp().decode("StoreMetadataRequest", self.bpp["plain"][2])
        aid = bytes.fromhex("A0000005591010FFFFFFFF89000010") + bytes([len(self.profiles)])
        self.profiles.append(StubProfile(meta["iccid"], aid, self.bpp["plain"][5]))
        return self._pir(("successResult", {"aid": aid, "simaResponse": b""}))

    # -- notifications and profiles ------------------------------------------------------------
    def cancel_session(self, data: bytes) -> bytes:
        req = rsp().decode("CancelSessionRequest", data)
        signed = rsp().encode("EuiccCancelSessionSigned", {"transactionId": req["transactionId"],
                                                           "smdpOid": self.session["oid"], "reason": req["reason"]})
        self.session = {}
        return tlv.tlv(0xBF41, tlv.tlv(0xA0, signed + tlv.tlv(0x5F37, sign_plain(self.key, signed))))

    def list_notifications(self, _: bytes) -> bytes:
        return rsp().encode("ListNotificationResponse", ("notificationMetadataList", [n for _, _, n in self.notifications]))

    def retrieve(self, _: bytes) -> bytes:
        return tlv.tlv(0xBF2B, tlv.tlv(0xA0, b"".join(p for _, p, _ in self.notifications)))

    def remove(self, data: bytes) -> bytes:
        seq = rsp().decode("NotificationSentRequest", data)["seqNumber"]
        before = len(self.notifications)
        self.notifications = [n for n in self.notifications if n[0] != seq]
        return rsp().encode("NotificationSentResponse", {"deleteNotificationStatus": 0 if before != len(self.notifications) else 1})

    def _find(self, ident: tuple[str, bytes]) -> StubProfile | None:
        return next((p for p in self.profiles if (p.aid if ident[0] == "isdpAid" else p.iccid) == ident[1]), None)

    def profiles_info(self, _: bytes) -> bytes:
        return rsp().encode("ProfileInfoListResponse", ("profileInfoListOk", [
            {"iccid": p.iccid, "isdpAid": p.aid, "profileState": int(p.enabled), "profileNickname": p.nickname}
            for p in self.profiles]))

    def enable(self, data: bytes) -> bytes:
        p = self._find(rsp().decode("EnableProfileRequest", data)["profileIdentifier"])
        code = 1 if p is None else 2 if p.enabled else 0
        if code == 0:
            for other in self.profiles:
                other.enabled = other is p
        return rsp().encode("EnableProfileResponse", {"enableResult": code})

    def disable(self, data: bytes) -> bytes:
        p = self._find(rsp().decode("DisableProfileRequest", data)["profileIdentifier"])
        code = 1 if p is None else 0 if p.enabled else 2
        if code == 0:
            p.enabled = False
        return rsp().encode("DisableProfileResponse", {"disableResult": code})

    def delete(self, data: bytes) -> bytes:
        p = self._find(rsp().decode("DeleteProfileRequest", data))
        code = 1 if p is None else 2 if p.enabled else 0
        if code == 0:
            self.profiles.remove(p)
        return rsp().encode("DeleteProfileResponse", {"deleteResult": code})
