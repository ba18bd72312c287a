"""Fuzz target for ES10b.LoadRpmPackage (GSMA SGP.22 v3.1 §3.7.3, 'BF44'), through
``Card.transmit`` only.

Input: the content of ``rpmPackage`` (the SEQUENCE OF RpmCommand, without its 'A1' header) or,
when the first byte is 0xFF, the rest is a whole 'BF44' request sent as is.  For a package, the
target opens a real RPM session (the host LPA and test SM-DP+ of tools.fuzz.rsp_host: v3,
operationType {rpm}) and signs the package with the SM-DP+'s DPauth key over smdpSigned3 ||
euiccSignature1, so that the fuzzed commands reach their execution on a card holding a profile
that this SM-DP+ may manage (downloaded when a fresh card replaces the old one).

Checked beyond tools.fuzz.invariants (every response): a '9000' answer is exactly one
``LoadRpmPackageResult`` of the v3.1 module; a signed package always gets a signed result.
"""
from __future__ import annotations

import asn1tools

from euicc import tlv
from euicc.asn1 import rsp3
from tools.fuzz.card_targets import CardDriver
from tools.fuzz.invariants import InvariantViolation
from tools.fuzz.rsp_host import ADDRESS, RIG_ICCID, RspRig
from tools.lpa import rpm as lpa_rpm
from tools.lpa.activation_code import parse
from tools.lpa.transport import CardError
from tools.smdpp import rpm, signing
from tools.smdpp.es9plus import SVN_V3
from tools.smdpp.orders import order_from_upp

RAW = 0xFF


class RpmPackageTarget:
    """One signed RPM package (or one raw 'BF44') per input, in a fresh RPM session."""

    def __init__(self, fresh_every: int = 256) -> None:
        self.driver = CardDriver(fresh_every)
        self.card = None
        self.rig: RspRig | None = None

    def _prepare(self) -> RspRig:
        """A rig on the current card, with one RPM-managed profile installed (once per card)."""
        if self.card is not self.driver.card or self.rig is None:
            self.card = self.driver.card
            self.rig = RspRig(self.driver.transmit, svn=SVN_V3)
            oid = next(iter(self.rig.smdp.credentials.sets.values())).smdp_oid
            self.rig.smdp.add_order(order_from_upp("RPM-FUZZ", self.rig.upp, notification_address=ADDRESS,
                                                   rpm_configuration=rpm.rpm_configuration(oid, oid)))
            self.rig.lpa.download(parse(f"LPA:1${ADDRESS}$RPM-FUZZ"))
        return self.rig

    def _session(self, rig: RspRig) -> tuple[bytes, bytes]:
        """GetEUICCChallenge .. AuthenticateServer with operationType {rpm}: (transactionId,
        the euiccSignature1 TLV)."""
        es10, smdp = rig.es10, rig.smdp
        init = smdp.initiate_authentication(es10.get_euicc_challenge(), es10.get_euicc_info1(), ADDRESS)
        auth = es10.authenticate_server(init["serverSigned1"], init["serverSignature1"],
                                        init["euiccCiPKIdToBeUsed"], init["serverCertificate"],
                                        lpa_rpm.ctx_params1(rig.lpa))
        ok = tlv.split(tlv.unwrap(auth, 0xBF38))[0][1]
        return init["transactionId"], tlv.split(tlv.unwrap(ok, 0xA0))[1][1]

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        rig = self._prepare()
        data = bytes(data)
        if data[:1] == bytes((RAW,)):
            request, signed = data[1:], False
        else:
            transaction_id, signature1 = self._session(rig)
            signed3 = tlv.tlv(0x30, tlv.tlv(0x80, transaction_id) + tlv.tlv(0xA1, data))
            key = next(iter(rig.smdp.credentials.sets.values())).auth.key
            request = tlv.tlv(0xBF44, signed3 + tlv.tlv(0x5F37, signing.sign(key, signed3 + signature1)))
            signed = True
        try:
            answer = rig.transport.store_data(request)
        except CardError:
            if signed:
                raise InvariantViolation(f"a signed RPM package was refused: {data.hex()}") from None
            return
        check_result(answer, signed)


def check_result(answer: bytes, signed: bool) -> None:
    try:
        kind, _ = rsp3().decode("LoadRpmPackageResult", answer)
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvariantViolation(f"LoadRpmPackage answered {answer[:16].hex()}...: {exc}") from None
    if signed and kind != "loadRpmPackageResultSigned":
        raise InvariantViolation(f"a signed RPM package got {kind}")


def seeds() -> list[bytes]:
    """Packages of every command (SGP.22 v3.1 RpmCommand), a package-check failure, raw requests."""
    iccid = RIG_ICCID
    packages = [
        [rpm.command("enable", iccid)], [rpm.command("disable", iccid, continue_on_failure=True)],
        [rpm.command("listProfileInfo", iccid, tagList=bytes.fromhex("5A9F70BA"))],
        [rpm.command("updateMetadata", iccid, updateMetadataRequest={"profileName": "F", "tagsForDeletion": b"\xb6"})],
        [rpm.command("contactPcmp", iccid, dpiRpm="dpi"), rpm.command("delete", iccid)],
        [rpm.command("enable", iccid), rpm.command("listProfileInfo", iccid), rpm.command("delete", iccid)],
    ]
    out = []
    for package in packages:
        encoded = rsp3().encode("SmdpSigned3", {"transactionId": b"\x01", "rpmPackage": package})
        signed3 = tlv.split(tlv.unwrap(encoded, 0x30))[1][1]
        out.append(tlv.unwrap(signed3, 0xA1))
    out.append(bytes((RAW,)) + bytes.fromhex("BF440A3008800101A1003003"))
    return out
