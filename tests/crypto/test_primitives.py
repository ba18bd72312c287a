"""The card's symmetric primitives (euicc/crypto/primitives.py) against published known answers:
FIPS 197 Appendix C.1 (AES-128), NIST SP 800-38A F.2.1 (CBC-AES128) and F.5.1 (CTR-AES128), NIST
SP 800-38B Appendix D.1 (AES-128 CMAC), and the classic DES worked example (K 133457799BBCDFF1)."""
from __future__ import annotations

import pytest

from euicc.crypto.primitives import (PaddingError, aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, aes_ctr,
                                     aes_ecb_block, des_cbc_decrypt, des_cbc_encrypt, des_key_usable,
                                     pad_iso9797_m2, unpad_iso9797_m2)

h = bytes.fromhex
NIST_KEY = h("2b7e151628aed2a6abf7158809cf4f3c")
NIST_BLOCK = h("6bc1bee22e409f96e93d7e117393172a")


def test_aes_fips197_c1():
    assert aes_ecb_block(h("000102030405060708090a0b0c0d0e0f"), h("00112233445566778899aabbccddeeff")) == \
        h("69c4e0d86a7b0430d8cdb78070b4c55a")


def test_aes_cbc_sp800_38a_f21():
    iv = h("000102030405060708090a0b0c0d0e0f")
    assert aes_cbc_encrypt(NIST_KEY, NIST_BLOCK, iv) == h("7649abac8119b246cee98e9b12e9197d")
    assert aes_cbc_decrypt(NIST_KEY, h("7649abac8119b246cee98e9b12e9197d"), iv) == NIST_BLOCK


def test_aes_ctr_sp800_38a_f51():
    assert aes_ctr(NIST_KEY, h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), NIST_BLOCK) == h("874d6191b620e3261bef6864990db6ce")


@pytest.mark.parametrize("message, mac", [(b"", "bb1d6929e95937287fa37d129b756746"),
                                          (NIST_BLOCK, "070a16b46b4d4144f79bdd9dd04a287c")])
def test_aes_cmac_sp800_38b_d1(message, mac):
    assert aes_cmac(NIST_KEY, message) == h(mac)


def test_single_des_and_its_3des_forms():
    key, plain, cipher = h("133457799BBCDFF1"), h("0123456789ABCDEF"), h("85E813540F0AB405")
    assert des_cbc_encrypt(key, plain) == cipher               # zero ICV: one block is ECB
    assert des_cbc_encrypt(key * 2, plain) == cipher           # K1 = K2: EDE is single DES
    assert des_cbc_decrypt(key * 3, cipher) == plain


def test_degenerate_3des_keys_are_refused():
    k1, k2, k3 = h("0123456789ABCDEF"), h("FEDCBA9876543210"), h("89ABCDEF01234567")
    assert des_key_usable(k1) and des_key_usable(k1 + k2) and des_key_usable(k1 + k2 + k3)
    assert not des_key_usable(k1 + k1)                         # K1 = K2
    assert not des_key_usable(k1 + h("0023456789ABCDEE"))      # equal but for the parity bits
    assert not des_key_usable(k1 + k2 + k2)                    # K2 = K3
    assert not des_key_usable(k1[:7])


def test_iso9797_method2_padding():
    assert pad_iso9797_m2(b"") == h("80") + bytes(15)
    assert pad_iso9797_m2(bytes(15)) == bytes(15) + h("80")
    assert unpad_iso9797_m2(h("AB80") + bytes(14)) == h("AB")
    for bad in (bytes(16), h("80") + bytes(15) + h("01") + bytes(15), h("AB80"), h("80") + bytes(16) + bytes(15)):
        with pytest.raises(PaddingError):
            unpad_iso9797_m2(bad)
