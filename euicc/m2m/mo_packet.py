"""Card-originated SMS for the SM-SR: a secured Command Packet (ETSI TS 102 225 §5.1.1, SMS form
of 3GPP TS 31.115 §4.2), sent in SMS-SUBMITs by :func:`euicc.ota.transport_sms.send_short_messages`.

SGP.02 notifications (SPEC_NOTES §2.8) use the ISD-R TAR, the ISD-R's SCP80 keys and no counter;
:func:`to_smsr` sends any such data the same way (the SCP81 retry failure report).
Only AES (KIc/KID algorithm '2') is supported for card-originated packets; the keys come from the
caller.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc.crypto.primitives import aes_cbc_encrypt, aes_cmac
from euicc.m2m.keystore import Scp80Keys
from euicc.m2m.records import SMSR_ADDRESS
from euicc.m2m.settings import ISDR_TAR, M2mSettings
from euicc.ota.sms import IEI_COMMAND_PACKET, Address, InformationElement
from euicc.ota.transport_sms import send_short_messages

if TYPE_CHECKING:
    from euicc.context import Context

CC_LENGTH = 8


def command_packet(spi: bytes, kic: int, kid: int, tar: bytes, data: bytes,
                   kic_key: bytes | None, kid_key: bytes | None, counter: int = 0) -> bytes:
    """CPL CHL SPI KIc KID TAR | CNTR PCNTR [CC] data [padding], TS 102 225 §5.1.1.

    SPI b2-b1 '10' adds an AES CMAC of 8 bytes over CPL..TAR || CNTR || PCNTR || data || padding
    (§5.1.3.1); SPI b3 ciphers from CNTR on with AES-CBC, zero ICV (§5.1.2).
    """
    cc = spi[0] & 0x03 == 0x02 and kid_key is not None
    ciphered = bool(spi[0] & 0x04) and kic_key is not None
    spi = bytes((spi[0] & ~0x07 | (0x02 if cc else 0) | (0x04 if ciphered else 0), spi[1]))
    check_length = CC_LENGTH if cc else 0
    padding = -(6 + check_length + len(data)) % 16 if ciphered else 0
    chl = 13 + check_length
    cpl = 1 + chl + len(data) + padding
    header = cpl.to_bytes(2, "big") + bytes((chl,)) + spi + bytes((kic, kid)) + tar
    fields = counter.to_bytes(5, "big") + bytes((padding,))
    body = data + bytes(padding)
    check = aes_cmac(kid_key, header + fields + body)[:CC_LENGTH] if cc else b""
    secured = fields + check + body
    if ciphered:
        secured = aes_cbc_encrypt(kic_key, secured)
    return header + secured


COMMAND_PACKET_HEADER = (InformationElement(IEI_COMMAND_PACKET),)


def to_smsr(ctx: Context, settings: M2mSettings, data: bytes, reference: int) -> bool:
    """SEND SHORT MESSAGE of ``data`` as the secured data of an ISD-R Command Packet to the SM-SR's
    SMS address, with the notifications' SPI and algorithms and the ISD-R's first SCP80 key set;
    False when the address is unknown or the terminal took no SMS."""
    address = ctx.store.get(SMSR_ADDRESS)
    if address is None:
        return False
    keys = Scp80Keys.isdr(ctx.store)
    kvns = keys.kvns()
    keyset = keys.get(kvns[0]) if kvns else None
    kvn = keyset.kvn if keyset else 0
    packet = command_packet(settings.notification_spi, kvn << 4 | settings.notification_kic_algorithm,
                            kvn << 4 | settings.notification_kid_algorithm, ISDR_TAR, data,
                            keyset.kic if keyset else None, keyset.kid if keyset else None)
    commands = send_short_messages(Address(address.toa, address.digits), COMMAND_PACKET_HEADER, packet, reference)
    return all(ctx.cat.submit(c) for c in commands)
