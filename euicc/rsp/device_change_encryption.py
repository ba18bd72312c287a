"""Encrypted Device Change data on the eUICC: SGP.22 v3.1 ``EUICCSigned3.eacEuiccOtpk``
(otPK.EUICC.KAeac, tag '5F49') and ``DeviceChangeResponse.encryptedDeviceChangeData``
(``EncryptedDeviceChangeData`` {controlRefTemplate 'A6', eacSmdpOtpk '5F49' = otPK.DP.KAeac,
sequenceOf87 'A1'}); EuiccRspCapability encryptedDeviceChangeDataSupport (12).

[U] The v3.1 clause text was not readable here.  This card reads these structures as the key
agreement and protection of the Bound Profile Package, whose data objects they reuse
(§2.6.4 / Annex G, §5.5.1 InitialiseSecureChannel ``controlRefTemplate`` and ``smdpOtpk``, §2.5.5
``firstSequenceOf87``):

* PrepareDeviceChange: the eUICC generates a one-time key pair otPK/otSK.EUICC.KAeac on the curve
  of the key it signs euiccSigned3 with and puts otPK.EUICC.KAeac in euiccSigned3 (so it is
  signed); otSK stays in the volatile Device Change session;
* VerifyDeviceChange with ``encryptedDeviceChangeData``: ShS = ECKA(otSK.EUICC.KAeac,
  otPK.DP.KAeac); initial MAC chaining value, S-ENC and S-MAC come from the X9.63 KDF with
  SharedInfo = keyType || keyLen || L(hostId) || hostId || L(EID) || EID (keyType '88' AES and
  keyLen '10' only, else unsupportedCrtValues (6)); the '87' blocks are verified and deciphered in
  order as a BPP firstSequenceOf87 (:class:`euicc.crypto.bsp.BspSession`) and their plaintexts
  together are the DER of a ``DeviceChangeData``;
* a point not on the curve, a block whose MAC does not verify, bad padding, or a plaintext that is
  not one DeviceChangeData: invalidData (7).
"""
from __future__ import annotations

from typing import Any

from euicc import tlv
from euicc.apdu import SwError
from euicc.crypto.bsp import BspError, BspKeys, BspSession, UnsupportedCrtError
from euicc.crypto.ecka import EckaError, EckaKeyPair
from euicc.rsp import der

UNSUPPORTED_CRT_VALUES, INVALID_DATA = 6, 7          # VerifyDeviceChangeResponse errors
CIPHERED_COMMAND = 0x87


class DecryptionRefused(Exception):
    """encryptedDeviceChangeData cannot be used: ``code`` is the VerifyDeviceChange error."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def decrypt(one_time_key: EckaKeyPair, eid: bytes, encrypted: dict[str, Any]) -> dict[str, Any]:
    """The DeviceChangeData of a decoded ``EncryptedDeviceChangeData`` (module docstring); raises
    DecryptionRefused."""
    crt = encrypted["controlRefTemplate"]
    key_type, key_length = bytes(crt["keyType"]), bytes(crt["keyLen"])
    if len(key_type) != 1 or len(key_length) != 1:
        raise DecryptionRefused(UNSUPPORTED_CRT_VALUES, "keyType / keyLen not one byte")
    try:
        secret = one_time_key.shared_secret(bytes(encrypted["eacSmdpOtpk"]))
        session = BspSession(BspKeys.derive(secret, key_type[0], key_length[0], bytes(crt["hostId"]), eid))
        plain = b"".join(session.unwrap(tlv.tlv(CIPHERED_COMMAND, bytes(block)))
                         for block in encrypted["sequenceOf87"])
    except UnsupportedCrtError as exc:
        raise DecryptionRefused(UNSUPPORTED_CRT_VALUES, str(exc)) from None
    except (EckaError, BspError) as exc:
        raise DecryptionRefused(INVALID_DATA, str(exc)) from None
    try:
        if plain[:1] != b"\x30" or len(tlv.split(plain)) != 1:
            raise DecryptionRefused(INVALID_DATA, "the plaintext is not one DeviceChangeData")
        return der.decode("DeviceChangeData", plain, v3=True)
    except (tlv.TlvError, SwError):
        raise DecryptionRefused(INVALID_DATA, "the plaintext is not one DeviceChangeData") from None

