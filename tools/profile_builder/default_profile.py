"""The card's out-of-the-box profile (a test subscription on the test PLMN 001/01).

Choices (all public test values, nothing secret):

* ICCID ``89001000000000000010``: 89 (telecom) 001 (test country code), serial, Luhn digit 0.
* IMSI ``001010000000001`` (MCC 001, MNC 01: the ITU-T E.212 / 3GPP TS 23.003 test network).
* Milenage with 3GPP TS 35.208 §4.3 test set 1 K / OPc and the TS 35.206 default r/c
  constants; AMF ``8000`` (separation bit set, TS 33.401 Annex H; not stored in the package).
* PINs as in GSMA TS.48 v7: PIN1 0000, PIN2 9999, PUK1 11111111, PUK2 22222222, ADM1 55555555.
* MNO-SD key set KVN 01, AES, KIc = KID = KIK = 000102..0F (the TS.48 v7 test keys).
* ISIM with identities derived per TS 23.003 §13 (IMPI/IMPU from the IMSI, home domain
  ``ims.mnc001.mcc001.3gppnetwork.org``); SPN "euicc-emu".
"""
from __future__ import annotations

from .builder import IsimParameters, KeySet, ProfileParameters, build_upp

TEST_KEY = bytes(range(16))
DEFAULT_IMSI = "001010000000001"
DEFAULT_DOMAIN = "ims.mnc001.mcc001.3gppnetwork.org"

DEFAULT_TEST_PARAMETERS = ProfileParameters(
    iccid="89001000000000000010",
    imsi=DEFAULT_IMSI,
    k=bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc"),
    opc=bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf"),
    amf=bytes.fromhex("8000"),
    algorithm="milenage",
    spn="euicc-emu",
    key_sets=(KeySet(kvn=0x01, kic=TEST_KEY, kid=TEST_KEY, kik=TEST_KEY, algorithm="aes"),),
    isim=IsimParameters(impi=f"{DEFAULT_IMSI}@{DEFAULT_DOMAIN}",
                        impu=(f"sip:{DEFAULT_IMSI}@{DEFAULT_DOMAIN}",),
                        domain=DEFAULT_DOMAIN),
    profile_type="euicc-emu default test profile",
)


def default_test_profile() -> bytes:
    """UPP bytes of the card's out-of-the-box profile (deterministic)."""
    return build_upp(DEFAULT_TEST_PARAMETERS)
