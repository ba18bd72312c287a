"""ES5 PUT KEY of the ISD-R's SCP81 key sets (GP CS v2.3 §11.8 with GP Amd B §3.3.2; SGP.02 v4.2
§2.4.4: the SM-SR creates and replaces its PSK-TLS keys with PUT KEY through its secured channel).

P1: '00' to add a key set, else the KVN of the key set to replace; P2: the first key ID, b8 set
when several keys follow.  Data: the new KVN ('40'-'4F'), then per key a key data field (GP CS
Table 11-69): key ID 01 the TLS pre-shared key (key type '85'), key ID 02 the AES DEK ('88'),
each ciphered (AES-CBC, ICV zero, Table 11-70/71) with the DEK of the key set that secured the
command: the SCP80 key set's (key ID 03) over SMS, the SCP81 key set's over HTTPS.  Response:
new KVN || KCV of each key (GP CS §11.8.3.1).  Errors, leaving the key sets unchanged: '6A80'
(bad layout, KVN outside '40'-'4F', adding over an existing key set), '6A88' (replacing a key set
that does not exist), '9484' (wrong key type), '9485' (wrong KCV), '6982' (no DEK to decipher).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc.apdu import SW, Command, SwError
from euicc.crypto.scp03 import key_check_value
from euicc.gp.key_store import AES_KEY_TYPE
from euicc.gp.put_key import read_key_data
from euicc.m2m.keystore import PskKeys, Scp80Keys
from euicc.m2m.records import PskKeySet
from euicc.m2m.smsr_change import SCP80_KVNS, SCP81_KVNS
from euicc.ota.origin import current_origin

if TYPE_CHECKING:
    from euicc.context import Context

PSK_KEY_TYPE = 0x85          # GP CS Table 11-16: pre-shared key for TLS (GP Amd B)
KEY_ID_PSK, KEY_ID_DEK = 0x01, 0x02
KEY_TYPES = {KEY_ID_PSK: PSK_KEY_TYPE, KEY_ID_DEK: AES_KEY_TYPE}


def command_dek(ctx: Context) -> bytes:
    """The DEK of the key set that secured the running command ('6982' when there is none)."""
    origin = current_origin(ctx)
    kvn = origin.kvn if origin is not None else 0
    keyset = (Scp80Keys.isdr(ctx.store).get(kvn) if kvn in SCP80_KVNS
              else PskKeys(ctx.store).get(kvn) if kvn in SCP81_KVNS else None)
    if keyset is None or not keyset.dek:
        raise SwError(SW.SECURITY_STATUS_NOT_SATISFIED)
    return keyset.dek


def put_key(ctx: Context, cmd: Command) -> bytes:
    """GP CS §11.8 on the ISD-R's SCP81 key sets."""
    old_kvn, first_id, several = cmd.p1 & 0x7F, cmd.p2 & 0x7F, bool(cmd.p2 & 0x80)
    if first_id not in KEY_TYPES:
        raise SwError(SW.INCORRECT_P1P2)
    data = cmd.data
    if not data:
        raise SwError(SW.WRONG_LENGTH)
    dek, new_kvn, at, new = command_dek(ctx), data[0], 1, []
    while at < len(data):
        key_id = first_id + len(new)
        if key_id not in KEY_TYPES:
            raise SwError(SW.INCORRECT_DATA)
        key, at = read_key_data(dek, data, at, KEY_TYPES[key_id])
        new.append(key)
    if not new or (len(new) > 1) != several or new_kvn not in SCP81_KVNS:
        raise SwError(SW.INCORRECT_DATA)
    keys = PskKeys(ctx.store)
    if old_kvn == 0:
        if keys.get(new_kvn) is not None or first_id != KEY_ID_PSK:
            raise SwError(SW.INCORRECT_DATA)
        base = PskKeySet(new_kvn, b"")
    else:
        found = keys.get(old_kvn)
        if found is None:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
        if new_kvn != old_kvn and keys.get(new_kvn) is not None:
            raise SwError(SW.INCORRECT_DATA)
        base = found
    values = dict(zip(range(first_id, first_id + len(new)), new))
    result = replace(base, kvn=new_kvn, psk=values.get(KEY_ID_PSK, base.psk), dek=values.get(KEY_ID_DEK, base.dek))
    if old_kvn and old_kvn != new_kvn:
        keys.delete(old_kvn)
    keys.put(result)
    return bytes((new_kvn,)) + b"".join(key_check_value(k) for k in new)
