"""PUT KEY (GP Card Spec v2.3 §11.8) and DELETE of keys (§11.2) on a Security Domain's SCP03
key sets (GP Amd D §6.1, key IDs 01 ENC / 02 MAC / 03 DEK, AES key type '88').

PUT KEY: P1 = KVN of the key set to replace ('00': add a new key set), P2 = ID of the first key,
b8 set when several keys follow.  Data: the new KVN, then per key '88' L <key component block>
'03' <KCV>.  The key component block is the AES key enciphered with the current session's Key-DEK
(AES-CBC, ICV zero): either the bare ciphertext when the key fills whole blocks (Table 11-71),
or one length byte then the ciphertext of the zero-padded key (Table 11-70, what
GlobalPlatformPro and the ES8 PUT KEY send).  Response: new KVN || KCV of each key (§11.8.3.1).

DELETE: 'D2' KVN and/or 'D0' key ID name the keys (one key, as pySim's ``delete_key`` sends, or a
whole key set); a key set missing a key opens no secure channel until PUT KEY adds it again, and
the Security Domain keeps at least one complete key set ('6985', :data:`KEEP_LAST_KEY_SET`).

Both need an authenticated secure channel with command decryption (checked by the caller).
"""
from __future__ import annotations


from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.crypto.kdf import AES_KEY_LENGTHS
from euicc.crypto.primitives import aes_cbc_decrypt
from euicc.crypto.scp03 import BLOCK, key_check_value
from euicc.gp.key_store import (AES_KEY_TYPE, KEY_ID_DEK, KEY_ID_ENC, SCP03_KVNS, Scp03Keys,
                                Scp03Store)

SW_ALGORITHM_NOT_SUPPORTED = 0x9484    # GP CS §11.8.3.2
SW_INVALID_KCV = 0x9485                # GP CS §11.8.3.2
KEEP_LAST_KEY_SET = True               # setting: a Security Domain keeps one complete key set


def read_key_data(dek: bytes, data: bytes, at: int, key_type: int = AES_KEY_TYPE) -> tuple[bytes, int]:
    """One key data field at ``at`` (GP CS §11.8.2.3 Table 11-69) of type ``key_type`` (AES '88',
    or e.g. GP Amd B's TLS pre-shared key '85', whose length must be an AES key's and whose KCV is
    computed as an AES key's [U]); returns (clear key, next offset)."""
    if at + 2 > len(data):
        raise SwError(SW.INCORRECT_DATA)
    found_type, length = data[at], data[at + 1]
    block = data[at + 2:at + 2 + length]
    end = at + 2 + length
    if len(block) != length or end >= len(data):
        raise SwError(SW.INCORRECT_DATA)
    if found_type != key_type:
        raise SwError(SW_ALGORITHM_NOT_SUPPORTED)
    clear_length = None
    if length % BLOCK:                       # Table 11-70: length byte, then padded ciphertext
        clear_length, block = block[0], block[1:]
    if not block or len(block) % BLOCK:
        raise SwError(SW.INCORRECT_DATA)
    clear = aes_cbc_decrypt(dek, block)
    key = clear[:clear_length] if clear_length is not None else clear
    if len(key) not in AES_KEY_LENGTHS or (clear_length is not None and len(clear) - clear_length >= BLOCK):
        raise SwError(SW.INCORRECT_DATA)
    kcv_length = data[end]
    kcv = data[end + 1:end + 1 + kcv_length]
    if len(kcv) != kcv_length:
        raise SwError(SW.INCORRECT_DATA)
    if kcv_length and kcv != key_check_value(key)[:kcv_length]:
        raise SwError(SW_INVALID_KCV)
    return key, end + 1 + kcv_length


def put_key(keys: Scp03Store, dek: bytes, cmd: Command) -> bytes:
    """GP CS §11.8: add (P1 '00') or replace (P1 = KVN) keys of an SCP03 key set.

    Adding a key whose ID the key set already holds, replacing a key by one of another length
    (GP CS §11.8.2.3.3), or a new KVN outside '30'-'3F' or already used, is '6A80'; replacing
    in a key set that does not exist is '6A88'.  A replaced key set keeps its sequence counter
    (so that pseudo-random card challenges never repeat under one Key-ENC); a new one starts at 0.
    """
    old_kvn, first_id, several = cmd.p1 & 0x7F, cmd.p2 & 0x7F, bool(cmd.p2 & 0x80)
    if not KEY_ID_ENC <= first_id <= KEY_ID_DEK:
        raise SwError(SW.INCORRECT_P1P2)
    data = cmd.data
    if not data:
        raise SwError(SW.WRONG_LENGTH)
    new_kvn, at, new = data[0], 1, []
    while at < len(data):
        key, at = read_key_data(dek, data, at)
        new.append(key)
    count = len(new)
    if count == 0 or (count > 1) != several or first_id + count - 1 > KEY_ID_DEK or new_kvn not in SCP03_KVNS:
        raise SwError(SW.INCORRECT_DATA)
    stored = keys.all()
    slots = range(first_id - 1, first_id - 1 + count)
    if old_kvn == 0:
        base = stored.get(new_kvn) or Scp03Keys(new_kvn, b"", b"", b"")
        if any(base.keys()[i] for i in slots):
            raise SwError(SW.INCORRECT_DATA)
    else:
        if old_kvn not in stored:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        base = stored[old_kvn]
        if new_kvn != old_kvn and new_kvn in stored:
            raise SwError(SW.INCORRECT_DATA)
        if any(len(base.keys()[i]) != len(k) for i, k in zip(slots, new)):
            raise SwError(SW.INCORRECT_DATA)
    merged = list(base.keys())
    merged[first_id - 1:first_id - 1 + count] = new
    try:
        result = Scp03Keys(new_kvn, *merged, sequence_counter=base.sequence_counter)
    except ValueError:
        raise SwError(SW.INCORRECT_DATA) from None   # Amd D §6.1: one AES length per key set
    if old_kvn:
        keys.delete(old_kvn)
    keys.put(result)
    return bytes((new_kvn,)) + b"".join(key_check_value(k) for k in new)


def delete_key(keys: Scp03Store, cmd: Command) -> bytes:
    """GP CS §11.2.2.3.2: DELETE the keys named by 'D0' key ID and/or 'D2' KVN; response '00'.

    The Security Domain keeps at least one complete key set (:data:`KEEP_LAST_KEY_SET`, '6985').
    """
    if cmd.p1 != 0x00 or cmd.p2 & 0x7F:
        raise SwError(SW.INCORRECT_P1P2)
    try:
        items = tlv.parse(cmd.data)
    except tlv.TlvError:
        raise SwError(SW.INCORRECT_DATA) from None
    named = dict(items)
    kid, kvn = named.get(0xD0), named.get(0xD2)
    if (len(named) != len(items) or set(named) - {0xD0, 0xD2} or not named
            or any(v is not None and len(v) != 1 for v in (kid, kvn))):
        raise SwError(SW.INCORRECT_DATA)
    before = keys.all()
    after = {}
    for number, key_set in before.items():
        if kvn is not None and number != kvn[0]:
            continue
        remaining = tuple(b"" if kid is None or kid[0] == i else k for i, k in enumerate(key_set.keys(), 1))
        if remaining != key_set.keys():
            after[number] = Scp03Keys(number, *remaining, sequence_counter=key_set.sequence_counter)
    if not after:
        raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    if KEEP_LAST_KEY_SET and not any(k.complete for k in ({**before, **after}).values()):
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    for number, key_set in after.items():
        if any(key_set.keys()):
            keys.put(key_set)
        else:
            keys.delete(number)
    return b"\x00"


def is_delete_key(cmd: Command) -> bool:
    """Whether a DELETE names keys ('D0' / 'D2') rather than an application ('4F')."""
    return cmd.ins == 0xE4 and cmd.data[:1] in (b"\xD0", b"\xD2")
