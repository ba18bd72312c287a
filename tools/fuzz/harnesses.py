"""The harness registry: one :class:`Harness` per parser or door of the card.

A harness is a name, a target factory (returns the callable that takes one fuzz input) and a
seed function (returns valid traffic: real commands, published vectors).  Seeds are built from
the reference data folder (``tools.reference_data``) where they need it, by ``python -m tools.fuzz
seeds``, and committed under tools/fuzz/corpus/<name>/; nothing here reads it at fuzz time.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from tools.fuzz import bip_targets
from tools.fuzz import card_targets as card
from tools.fuzz import catp_dns_targets, crl_targets
from tools.fuzz import codec_targets as codec
from tools.fuzz import m2m_targets
from tools.fuzz import rpm_targets, rsp_targets
from tools.fuzz import scp81_targets
from tools.ota import packet as host
from tools.ota import transport
from tools.reference_data import require_reference

Target = Callable[[bytes], None]


@dataclass(frozen=True)
class Harness:
    name: str
    target: Callable[[], Target]
    seeds: Callable[[], list[bytes]]
    summary: str


def _h(hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes.split()]


# Real traffic of a terminal talking to the default card (TS 102 221 §11, GP §11, ISO 7816-4).
APDUS = _h(
    "00A40004023F00 00A4000C023F00 00A40804047FF06F07 00A408040400000000"  # MF; path to EF.IMSI
    " 00A4040410A0000000871002FFFFFFFF8907090000 00A4040C07A0000000871002"   # USIM by (partial) AID
    " 00A4040010A0000005591010FFFFFFFF8900000100 00A4040010A0000005591010FFFFFFFF8900000200"
    " 00A40004022FE2 00B000000A 00B0820004 00A40004022F00 00B2010428 00B2020428 00B201F428"
    " 00A40004027F10 00A40004026F3A 00DC01041EFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    " 00A40004026F44 00DC00031E0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E"
    " 00A20104020102 00A2010606040001020304"
    " 0020000108393939393939FFFF 00200081 0020008108393939393939FFFF"
    " 002400810839393939FFFFFFFF3838383838FFFFFF 00260001083030303030FFFFFF"
    " 00280001083030303030FFFFFF 002C0081 002C0081103232323232323232393939393939FFFF"
    " 00D6000002656E 8032000003000001 0004000000 0044000000"
    " 0070000000 0070800100 0070000100 80F2000000 80F2010000 80F20000 80F20C00"
    " 00C0000000 80AA000005A903830102 8010000007FFFFFFFF7F0000"
    " 80F24002024F00 80F28002024F0000 80F22002024F00 80F21000024F00 80CA005A00 80CA006600"
    " 00A40004027FFF 00A4030000 00A40904026F07 00A4010C027F10"
    " 00A4000008023F00000000000000 00B0000000000A 00A4000400000002 0000000000 FFFFFFFF")
ISD_R_AID = "A0000005591010FFFFFFFF8900000100"
SESSIONS = [
    _h("00A4040410A0000000871002FFFFFFFF8907090000 00C0000000 00A40004026F07 00B0000009"),
    _h("0070000001 01A4040010" + ISD_R_AID + " 01C0000000 81CA005A00 01C0000000 0070800100"),
    _h("0020008108393939393939FFFF 00A40804047FF06F3B 00DC01041E" + "31" * 30 + " 00B201041E"),
    _h("00A40804047FF06F39 8032000003000001 00C0000000 00B2010403"),
    [bytes.fromhex("00A40004022F05"), card.RESET, bytes.fromhex("00B000000A")],
    _h("0070000000 0070000000 4070000000 00A40004022FE2 01B000000A 0070800100 01B000000A"),
    _h("00200001083131313131FFFFFF 00200001083131313131FFFFFF 00200001083131313131FFFFFF "
       "002C0001083131313131313131"),
    _h("80F24002024F00 80F24003024F00 80F24003024F00"),
]


def _card_seeds() -> list[bytes]:
    return APDUS


def _session_seeds() -> list[bytes]:
    return [card.join_chunks(s) for s in SESSIONS]


def _remote_apdu_seeds() -> list[bytes]:
    scripts = [SESSIONS[0][0:1] + [bytes.fromhex("00B0000009")],
               _h("00A40004023F00 00A40004022FE2 00B000000A"),
               _h("0020000108393939393939FFFF 00A40804047FF06F3B 00DC01041E" + "31" * 30)]
    out = [transport.compact_script(s) for s in scripts]
    out += [transport.expanded_script(s, indefinite=i % 2 == 1) for i, s in enumerate(scripts)]
    return out + [bytes.fromhex("AA0C220700A40004023F00810101")]


def _vpcd_seeds() -> list[bytes]:
    frames = [b"\x04", b"\x01", *APDUS[:6], b"\x02", APDUS[9], b"\x00", APDUS[0]]
    stream = b"".join(len(f).to_bytes(2, "big") + f for f in frames)
    return [bytes((n,)) + stream for n in (255, 7, 1)]


def _apdu_seeds() -> list[bytes]:
    return APDUS + _h("00B00000000100 00D60000000003010203 00D6000000000301020300 0010000000FFFF"
                      " 00C0000000 00A4040000")


def _tlv_seeds() -> list[bytes]:
    from euicc.composition import open_card
    c = open_card(None)
    out = []
    for apdu in _h("00A40004023F00 00A4040410A0000000871002FFFFFFFF8907090000 00A40004022F00"
                   " 00A4040010" + ISD_R_AID + " 80F24002024F00"):
        r = c.transmit(apdu)
        if r[-2] == 0x61:
            r = c.transmit(bytes.fromhex("00C00000") + r[-1:])
        out.append(r[:-2])
    return out + _envelope_seeds()[:2] + _h("A4068301019501 08 9F7001 8403010203 BF3E00")


def _vectors() -> dict:
    return json.loads((require_reference("the seed generator") / "vectors" / "test_vectors.json").read_text())


def _scp80_seeds() -> list[bytes]:
    packets = [bytes.fromhex(c["command_packet"]) for c in _vectors()["scp80_ts102225_sms"]["commands"]]
    ks = codec.SCP80_KEYSETS[2]
    for spi in ("1639", "1E39", "0A01", "1239", "0000"):
        packets.append(host.build_command_packet(ks, bytes.fromhex(spi), b"\xb0\x00\x10",
                                                 bytes.fromhex("00A40004023F00"), counter=6))
    return packets


def _scp80_wrapped_seeds() -> list[bytes]:
    return [bytes.fromhex(h) for h in ("163900" "00A40004023F00", "0A0101" "00B0000009",
                                       "061900" "AA0C220700A40004023F00", "000000", "123501" "00")]


def _envelope_seeds() -> list[bytes]:
    out = []
    for packet in _scp80_seeds()[:4]:
        for tpdu in transport.sms_deliver_tpdus(packet):
            out.append(transport.envelope_apdu(tpdu)[5:])
    return out


def _sms_concat_seeds() -> list[bytes]:
    long_packet = host.build_command_packet(codec.SCP80_KEYSETS[2], bytes.fromhex("1639"),
                                            b"\xb0\x00\x10", bytes(range(256)) * 2, counter=6)
    tpdus = transport.sms_deliver_tpdus(long_packet, reference=7)
    return [card.join_chunks(tpdus), card.join_chunks(tpdus[::-1]),
            card.join_chunks(transport.sms_deliver_tpdus(_scp80_seeds()[0]))]


def _certificate_seeds() -> list[bytes]:
    sgp26 = require_reference("the seed generator") / "sgp26"
    out = []
    for f in sorted((sgp26 / "DPauth").glob("CERT_*.der")):
        out.append(b"\x00" + f.read_bytes())
    for f in sorted((sgp26 / "DPpb").glob("CERT_*.der")):
        out.append(b"\x01" + f.read_bytes())
    for curve in ("NIST", "BRP"):
        chunks = [(sgp26 / "eUICC" / f"CERT_EUICC_ECDSA_{curve}.der").read_bytes(),
                  (sgp26 / "EUM" / f"CERT_EUM_ECDSA_{curve}.der").read_bytes()]
        out.append(b"\x02" + card.join_chunks(chunks))
    return out


def certificate_data() -> dict[str, bytes]:
    """Files the certificate harness needs at run time (the SGP.26 test CIs), by name."""
    ci = require_reference("the seed generator") / "sgp26" / "CertificateIssuer"
    return {f"ci/{p.name}": p.read_bytes() for p in sorted(ci.glob("CERT_CI_ECDSA_*.der"))}


def _saip_seeds() -> list[bytes]:
    from euicc.profiles import saip_codec
    upp = (require_reference("the seed generator") / "profiles" / "ts48-v7"
           / "TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV.der").read_bytes()
    pieces, offset, index = [], 0, 0
    while offset < len(upp):
        _, end = saip_codec.decode_element(upp, offset, index)
        pieces.append(upp[offset:end])
        offset, index = end, index + 1
    small = sorted(set(pieces), key=len)[:12]
    return small + [pieces[0] + pieces[-1]]


def _bsp_seeds() -> list[bytes]:
    blocks = [bytes.fromhex(b["tlv"]) for b in _vectors()["sgp22_bsp_scp03t"]["session_blocks"]["blocks_in_order"]]
    return [card.join_chunks(blocks), card.join_chunks(blocks[:1]), card.join_chunks(blocks[:2])]


def _es10_seeds() -> list[bytes]:
    """Real ES10 traffic (SGP.22 §3.1.3 download, §5.7 ES10a/b/c) of the host LPA + SM-DP+ rig
    against a default card: each request alone, and whole sessions in three block sizes."""
    from euicc.composition import open_card
    from tools.fuzz.rsp_host import RspRig, StoreDataRecorder
    target = open_card(None)
    recorder = StoreDataRecorder(target.transmit)
    rig = RspRig(recorder, notify=True)
    result = rig.download()
    es10, ident = rig.es10, ("iccid", result.iccid)
    es10.get_euicc_info2()
    es10.get_profiles_info()
    es10.list_notifications()
    es10.retrieve_notifications()
    es10.set_nickname(result.iccid, "robust")
    es10.enable_profile(ident)
    es10.disable_profile(ident)
    es10.delete_profile(ident)
    es10.remove_notification(1)
    es10.get_eid()
    es10.get_configured_addresses()
    target.close()
    requests = recorder.requests
    session = [b"\x00" + r for r in requests]
    out = [card.join_chunks([b"\x00" + r]) for r in requests]
    out += [card.join_chunks(session), card.join_chunks([b"\xff" + r for r in requests]),
            card.join_chunks([b"\x11" + r for r in requests[:8]])]
    return out


def _es10_v3_seeds() -> list[bytes]:
    """ES10 traffic of a v3 session (SGP.22 v3.1: the SM-DP+ at SVN 3.1.0 puts a sessionContext
    in serverSigned1, a service-provider message in the metadata) against a default card."""
    from euicc.composition import open_card
    from tools.fuzz.rsp_host import RspRig, StoreDataRecorder
    from tools.smdpp.es9plus import SVN_V3
    target = open_card(None)
    recorder = StoreDataRecorder(target.transmit)
    RspRig(recorder, svn=SVN_V3, service_provider_message="Welcome").download()
    target.close()
    requests = recorder.requests
    return [card.join_chunks([b"\x00" + r]) for r in requests] + [card.join_chunks([b"\x00" + r for r in requests])]


def _es10_v3_dc_seeds() -> list[bytes]:
    """SGP.22 v3.1 ES10 inputs of Enterprise Profiles, Device Change, Profile Recovery and server
    trust: a v3 download of an enterprise order that allows Device Change, the Device Change and the
    Profile Recovery sessions (PrepareDeviceChange, VerifyDeviceChange, VerifyProfileRecovery), and
    VerifySmdsResponse / VerifySmdpResponse requests."""
    from euicc.asn1 import rsp3
    from euicc.composition import open_card
    from tools.fuzz.rsp_host import ADDRESS, RspRig, StoreDataRecorder
    from tools.lpa import device_change
    from tools.smdpp.bpp import EnterpriseOrder
    from tools.smdpp.es9plus import SVN_V3
    from tools.smdpp.orders import DeviceChangePolicy
    target = open_card(None)
    recorder = StoreDataRecorder(target.transmit)
    rig = RspRig(recorder, svn=SVN_V3, enterprise=EnterpriseOrder("1.3.6.1.4.1.99999.7", "E", ("reference",), 1),
                 device_change=DeviceChangePolicy(recovery_days=1, message="Moving"))
    iccid = rig.download().iccid
    rig.lpa.process_notifications()          # the SM-DP+ learns of the installation
    device_change.device_change(rig.lpa, ADDRESS, iccid)
    device_change.profile_recovery(rig.lpa, ADDRESS, iccid)
    rig.es10.enable_profile(("iccid", iccid))
    target.close()
    extra = [rsp3().encode("VerifySmdsResponseRequest", {
                 "smdsSigned2": {"transactionId": bytes(16), "requestSpecificData": ("eventList", {"eventEntries": []})},
                 "smdsSignature2": bytes(64)}),
             rsp3().encode("VerifySmdpResponseRequest", {
                 "smdpSigned6": {"transactionId": bytes(16), "requestSpecificData": (
                     "retryData", {"retryDelay": 1, "dcSessionId": b"\x01"})}, "smdpSignature6": bytes(64)})]
    requests = recorder.requests + extra
    return [card.join_chunks([b"\x00" + r]) for r in requests] + [card.join_chunks([b"\x00" + r for r in requests])]


def _metadata_v3_seeds() -> list[bytes]:
    """StoreMetadataRequest values of SGP.22 v3.1: plain, with a service-provider message, with the
    enterprise configuration, an LPR configuration (kept) and with an unknown TLV."""
    from euicc.asn1 import rsp3
    base = {"iccid": bytes.fromhex("98001032547698103214"), "serviceProviderName": "SP", "profileName": "P"}
    values = [base, {**base, "serviceProviderMessage": {"languageTag": "de", "message": "Hallo"}},
              {**base, "enterpriseConfiguration": {"enterpriseOid": "1.2.3", "enterpriseName": "E"}},
              {**base, "lprConfiguration": {"pcmpAddress": "pcmp.example"}},
              {**base, "profileClass": 1, "estimatedProfileSize": 4096, "hriServerAddress": "hri.example"}]
    seeds = [rsp3().encode("StoreMetadataRequest", v) for v in values]
    plain = seeds[0]
    seeds.append(b"\xbf\x25" + bytes((plain[2] + 4,)) + plain[3:] + b"\x9f\x7f\x01\x00")
    return seeds


def _device_change_data_seeds() -> list[bytes]:
    """EncryptedDeviceChangeData for the fuzz target's fixed otPK.EUICC.KAeac, built by the test
    SM-DP+ (tools.smdpp.device_change.encrypt): one and several '87' blocks, another hostId."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from euicc.asn1 import rsp3
    from tools.smdpp import bpp
    from tools.smdpp.device_change import encrypt
    euicc_pk = bpp.point_bytes(ec.derive_private_key(codec.DC_EUICC_SCALAR, ec.SECP256R1()))
    smdp_sk = ec.derive_private_key(codec.DC_SMDP_SCALAR, ec.SECP256R1())
    change = rsp3().encode("DeviceChangeData", {"iccid": bytes.fromhex("98001032547698103214"),
                                                "activationCodeForDc": "1$dp.example$DC-" + "X" * 40,
                                                "deleteOldProfile": None, "profileRecoverySupport": None})
    return [rsp3().encode("EncryptedDeviceChangeData", encrypt(change, euicc_pk, host_id, codec.DC_EID, smdp_sk))
            for host_id in (b"EUICC-EMU-SMDP+", b"H")]


def _mep_b():
    from euicc.rsp import mep
    return mep.layout(mep.B)


def _mep_session_seeds() -> list[bytes]:
    """Sessions on a MEP-B card (SGP.22 v3.1 §2.12): MANAGE LSI select / reset LSE / configure
    LSIs with the MEP TLVs (TS 102 221 V17 §7.5, coding as in euicc.ports), ES10 on port 1:
    EnableProfile of the new card's profile with and without targetEsimPort, GetProfilesInfo."""
    iccid = "98000100000000000001"     # the minimal first profile of a new in-memory card
    ident = "A00C5A0A" + iccid + "810100"
    store = lambda der: "80E29100" + f"{len(der) // 2:02X}" + der   # noqa: E731
    select = "00A4040C10" + ISD_R_AID
    return [card.join_chunks(_h(x)) for x in (
        f"807C0001 {select} {store('BF3211' + ident)} 00C0000006 {store('BF3114' + ident + '820101')}"
        " 00C0000006 80E2910003BF2D00",
        f"807C0000 {select} {store('BF3114' + ident + '820101')} 00C0000006 807C0001 00B0000009",
        "807C04000D80010181010090020301910101 00C000000D 807C010111 807C0001",
        "807C0001 0070000001 01A4040C10" + ISD_R_AID + " 807C0000 01A4000C023F00 807C0001 01A4000C023F00",
    )]


HARNESSES: dict[str, Harness] = {h.name: h for h in (
    Harness("card_apdu", card.TransmitTarget, _card_seeds, "Card.transmit, one APDU per input (T=0)"),
    Harness("card_apdu_t1", lambda: card.TransmitTarget(t0=False), _card_seeds,
            "Card.transmit, direct response delivery (T=1)"),
    Harness("card_session", card.SequenceTarget, _session_seeds, "Card.transmit, APDU sequences"),
    Harness("card_session_mep", lambda: card.SequenceTarget(ports=_mep_b()), _mep_session_seeds,
            "Card.transmit, APDU sequences on a MEP-B card (MANAGE LSI, ES10 per eSIM port)"),
    Harness("remote_apdu", card.RemoteApduTarget, _remote_apdu_seeds,
            "TS 102 226 §5 scripts parsed and run on the card"),
    Harness("vpcd", card.VpcdTarget, _vpcd_seeds, "vpcd frame stream -> VpcdSession -> Card"),
    Harness("apdu", lambda: codec.apdu_target, _apdu_seeds, "Command.parse (ISO 7816-4 §5.1)"),
    Harness("tlv", lambda: codec.tlv_target, _tlv_seeds, "BER-TLV codecs"),
    Harness("scp80", codec.Scp80Target, _scp80_seeds, "SCP80 command packets (TS 102 225 §5)"),
    Harness("scp80_wrapped", codec.Scp80WrappedTarget, _scp80_wrapped_seeds,
            "host-built SCP80 packets must be accepted"),
    Harness("envelope", lambda: codec.envelope_target, _envelope_seeds,
            "SMS-PP download ENVELOPE -> SMS-DELIVER -> SCP80"),
    Harness("sms_concat", lambda: codec.sms_concat_target, _sms_concat_seeds,
            "concatenated SMS reassembly (TS 23.040)"),
    Harness("certificates", codec.CertificateTarget, _certificate_seeds,
            "SGP.22 certificate chain verification"),
    Harness("saip", lambda: codec.saip_target, _saip_seeds, "SAIP UPP decoding"),
    Harness("bsp", lambda: codec.bsp_target, _bsp_seeds, "SGP.22 BSP (SCP03t) blocks"),
    Harness("es10", rsp_targets.Es10Target, _es10_seeds,
            "SGP.22 ES10 requests over STORE DATA to the ISD-R on a logical channel"),
    Harness("es10_v3", rsp_targets.Es10Target, _es10_v3_seeds,
            "SGP.22 v3.1 ES10 requests (a v3 session's traffic) over STORE DATA to the ISD-R"),
    Harness("es10_v3_dc", rsp_targets.Es10Target, _es10_v3_dc_seeds,
            "SGP.22 v3.1 Enterprise / Device Change / Profile Recovery / server-trust ES10 inputs to the ISD-R"),
    Harness("device_change_data", lambda: codec.device_change_data_target, _device_change_data_seeds,
            "SGP.22 v3.1 EncryptedDeviceChangeData deciphered by the card (ECKA, KDF, '87' blocks)"),
    Harness("crl_stapling", crl_targets.CrlStaplingTarget, crl_targets.seeds,
            "SGP.22 v3.1 AuthenticateServer crlList checked by the card against a fixed chain"),
    Harness("metadata_v3", lambda: codec.metadata_v3_target, _metadata_v3_seeds,
            "SGP.22 v3.1 StoreMetadata checks (unknown TLVs, enterprise, LPR configuration)"),
    Harness("rpm_package", rpm_targets.RpmPackageTarget, rpm_targets.seeds,
            "SGP.22 v3.1 LoadRpmPackage: signed RPM packages executed in a real RPM session"),
    Harness("es5", m2m_targets.Es5Target, m2m_targets.es5_seeds,
            "SGP.02 ES5 scripts in valid SCP80 packets to the ISD-R (SMS-PP ENVELOPE)"),
    Harness("bip", bip_targets.BipTarget, bip_targets.bip_seeds,
            "BIP terminal responses and events from the terminal (TS 102 223 §6.4.27-§6.4.31)"),
    Harness("es8", m2m_targets.Es8Target, m2m_targets.es8_seeds,
            "SGP.02 ES8 profile data in an SCP03t session to an ISD-P (via SCP80)"),
    Harness("cat_tp_pdu", lambda: catp_dns_targets.cat_tp_pdu_target, catp_dns_targets.cat_tp_seeds,
            "CAT_TP PDU decoding (TS 102 127 §6) against the host codec"),
    Harness("cat_tp_link", catp_dns_targets.CatTpEndpointTarget, catp_dns_targets.cat_tp_seeds,
            "CAT_TP datagrams into an open card endpoint (TS 102 127 §5)"),
    Harness("dns_answer", lambda: catp_dns_targets.dns_answer_target, catp_dns_targets.dns_seeds,
            "DNS answers (RFC 1035 §4) to the card's resolver"),
    Harness("scp81_tls", lambda: scp81_targets.tls_records_target, scp81_targets.tls_seeds,
            "GP Amd B PSK-TLS client: TLS records from the server"),
    Harness("scp81_http", lambda: scp81_targets.admin_http_target, scp81_targets.http_seeds,
            "GP Amd B HTTP administration responses (h11)"),
)}
