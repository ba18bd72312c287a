"""euicc.asn1 loader: compiled once, the sqnInit DEFAULT fix-up, SGP.22 module usable."""
from __future__ import annotations

import pytest

from euicc import asn1
from tests.vectors import SGP26


def test_compiled_once_per_process():
    assert asn1.saip() is asn1.saip()
    assert asn1.rsp() is asn1.rsp()
    assert "ProfileElement" in asn1.saip().types
    assert "EUICCInfo1" in asn1.rsp().types


# PE-AKAParameter with only the mandatory members (TCA SAIP v3.3.1), hand-assembled DER:
# [4] akaParameter { aka-header [0] { identification [1] 1 },
#                    algoConfiguration [1] { algoParameter [1] { algorithmID [0] 1,
#                        algorithmOptions [1] '02', key [2] 16 x 11, opc [3] 16 x 22 } } }
AKA_MINIMAL = bytes.fromhex(
    "A4" "33"
    "A0" "03" "81" "01" "01"
    "A1" "2C" "A1" "2A"
    "80" "01" "01"
    "81" "01" "02"
    "82" "10" + "11" * 16 +
    "83" "10" + "22" * 16)


def test_sqn_init_default_is_32_zero_sqns_and_round_trips():
    spec = asn1.saip()
    name, value = spec.decode("ProfileElement", AKA_MINIMAL)
    assert name == "akaParameter"
    assert value["sqnInit"] == [b"\x00" * 6] * 32
    assert value["sqnOptions"] == b"\x02" and value["sqnDelta"] == bytes.fromhex("000010000000")
    assert spec.encode("ProfileElement", (name, value)) == AKA_MINIMAL


def test_sqn_init_non_default_is_encoded():
    spec = asn1.saip()
    name, value = spec.decode("ProfileElement", AKA_MINIMAL)
    value["sqnInit"] = [bytes.fromhex("000000000020")] + [b"\x00" * 6] * 31
    encoded = spec.encode("ProfileElement", (name, value))
    # + A5 82 0100 {32 x 04 06 <sqn>} = 260 bytes; the outer length grows from 1 to 3 bytes.
    assert len(encoded) == len(AKA_MINIMAL) + 260 + 2
    assert encoded[:4] == bytes.fromhex("A4820137")
    assert spec.decode("ProfileElement", encoded)[1]["sqnInit"][0] == bytes.fromhex("000000000020")


@pytest.mark.parametrize("name", ["CERT_EUICC_ECDSA_NIST.der", "CERT_EUICC_ECDSA_BRP.der"])
def test_rsp_module_round_trips_sgp26_certificates(name):
    data = (SGP26 / "eUICC" / name).read_bytes()
    cert = asn1.rsp().decode("Certificate", data)
    assert asn1.rsp().encode("Certificate", cert) == data
