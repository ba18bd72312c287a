"""Host side of the profile OTA tests: the TS.48 package's own OTA credentials, decoded from the
package with asn1tools and the TCA SAIP ASN.1 module (independent of the card's installer), and
a card that downloaded and enabled it over SGP.22 (the host LPA and test SM-DP+).

Package: ``data/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der`` (12 KB), a copy of the GSMA TS.48 v7.0
test profile from the reference data's profiles/ts48-v7 (provenance: tests/vectors/SOURCES.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asn1tools

from tests.m2m import host
from tests.rsp_host.conftest import TS48_ICCID, make_lpa
from tools.lpa.activation_code import parse
from tools.lpa.lpa import iccid_bytes
from tools.ota import packet as ota
from tools.smdpp.orders import order_from_upp

PACKAGE = Path(__file__).parent / "data" / "TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"
SAIP_MODULE = Path(__file__).resolve().parents[2] / "euicc" / "asn1" / "PE_Definitions-3.3.1.asn"
GP_KEY_TYPE_AES, GP_KEY_TYPE_DES = 0x88, 0x80        # GPC Table 11-16
ALGORITHM = {GP_KEY_TYPE_AES: ota.AES, GP_KEY_TYPE_DES: ota.TDES2}
USIM_AID = bytes.fromhex("A0000000871002FF49FF0589")


@dataclass(frozen=True)
class PackageOta:
    """The MNO-SD's SCP80 key sets (KVN -> OtaKeyset), its RAM TARs and the RFM instances."""

    sd_aid: bytes
    keysets: dict[int, ota.OtaKeyset]
    ram_tars: list[bytes]
    rfm: list[dict]

    def keyset(self, key_type: int) -> ota.OtaKeyset:
        return next(k for k in self.keysets.values() if k.kic_algorithm == ALGORITHM[key_type])

    def rfm_tar(self, adf: bytes | None) -> bytes:
        found = next(r for r in self.rfm if (r.get("adfRFMAccess") or {}).get("adfAID") == adf)
        return found["tarList"][0]


def package_ota(package: bytes = b"") -> PackageOta:
    spec = asn1tools.compile_files(str(SAIP_MODULE), "der")
    data, offset = package or PACKAGE.read_bytes(), 0
    sd, rfm = None, []
    while offset < len(data):
        (kind, value), length = spec.decode_with_length("ProfileElement", data[offset:])
        offset += length
        if kind == "securityDomain" and sd is None:
            sd = value
        elif kind == "rfm":
            rfm.append(value)
    keys: dict[int, dict[int, tuple[int, bytes]]] = {}
    for key in sd["keyList"]:
        component = key["keyComponents"][0]
        keys.setdefault(key["keyVersionNumber"][0], {})[key["keyIdentifier"][0]] = (component["keyType"][0],
                                                                                     component["keyData"])
    keysets = {kvn: ota.OtaKeyset(kvn, ALGORITHM[ks[1][0]], ks[1][1], ALGORITHM[ks[2][0]], ks[2][1])
               for kvn, ks in keys.items()}
    toolkit = sd["instance"]["applicationParameters"]["uiccToolkitApplicationSpecificParametersField"]
    # TS 102 226 §8.2.1.3.2.1: 3 bytes, menu entries, channels, MSL (length + field), TARs (length + 3n)
    i = 3 + 1 + 2 * toolkit[3] + 1
    i += 1 + toolkit[i]
    tars = toolkit[i + 1:i + 1 + toolkit[i]]
    return PackageOta(sd["instance"]["instanceAID"], keysets, [tars[j:j + 3] for j in range(0, len(tars), 3)], rfm)


def download_and_enable(transmit, smdp, matching_id: str) -> None:
    """SGP.22 download of the package by the host LPA from the test SM-DP+, then EnableProfile."""
    lpa = make_lpa(transmit)
    lpa.es10.transport.open()
    smdp.add_order(order_from_upp(matching_id, PACKAGE.read_bytes()))
    lpa.download(parse(f"LPA:1${smdp.address}${matching_id}"))
    assert lpa.es10.enable_profile(("iccid", iccid_bytes(TS48_ICCID)), refresh=False) == 0


def read_ef(terminal: host.Terminal, fid: int, length: int, adf: bytes | None = USIM_AID) -> bytes:
    """What the terminal reads: SELECT (ADF) and EF, READ BINARY (TS 102 221 §11.1.1 / §11.1.3)."""
    if adf is not None:
        assert terminal.send(bytes([0x00, 0xA4, 0x04, 0x0C, len(adf)]) + adf)[1] == 0x9000
    assert terminal.send(bytes([0x00, 0xA4, 0x00, 0x0C, 0x02]) + fid.to_bytes(2, "big"))[1] == 0x9000
    data, sw = terminal.send(bytes([0x00, 0xB0, 0x00, 0x00, length]))
    assert sw == 0x9000
    return data
