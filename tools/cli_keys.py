"""``euicc-emu keys``: the ISD-R's SCP03 key sets (GP Amd D §6.1) in a card's state file.

    euicc-emu keys list   [--state F] [--json]
    euicc-emu keys set    [--state F] [--kvn 30] (--key HEX | --enc HEX --mac HEX --dek HEX | --random)
    euicc-emu keys delete [--state F] --kvn 31
    euicc-emu keys import [--state F] --csv FILE      # rows eid,kvn,enc,mac,dek; the card's EID's rows
    euicc-emu keys mode   [--state F] {s8,s16}

They are test keys: listed in clear.  Edit a card's keys while it is not running.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from tools.cli import add_state_argument, state_path
from tools.cli_info import format_scp03

AES_LENGTHS = (16, 24, 32)
SCP03_KVNS = range(0x30, 0x40)


class KeysError(Exception):
    """A refused request: printed, exit status 1."""


def _hex_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hexadecimal: {text!r}") from None
    if len(key) not in AES_LENGTHS:
        raise argparse.ArgumentTypeError(f"an AES key has 16, 24 or 32 bytes, not {len(key)}")
    return key


def _kvn(text: str) -> int:
    try:
        kvn = int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"KVN is one hex byte, not {text!r}") from None
    if kvn not in SCP03_KVNS:
        raise argparse.ArgumentTypeError("an SCP03 KVN is 30..3F (GP CS §11.1.8)")
    return kvn


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "keys", help="list or replace the ISD-R's SCP03 key sets of a state file",
        description="List, add, replace or delete the GlobalPlatform SCP03 key sets of the card's ISD-R,\n"
                    "read from and written to its state file (edit them while the card is not running).\n"
                    "They are test keys and are shown in clear.",
        epilog="examples:\n"
               "  euicc-emu keys list\n"
               "  euicc-emu keys set --kvn 31 --random --length 32\n"
               "  euicc-emu keys import --csv keys.csv    rows eid,kvn,enc,mac,dek")
    sub = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="print the ISD-R's SCP03 key sets (test keys, in clear)")
    listing.add_argument("--json", action="store_true")
    put = sub.add_parser("set", help="add or replace one key set")
    put.add_argument("--kvn", type=_kvn, default=0x30, help="key version number, hex 30..3F (default 30)")
    values = put.add_mutually_exclusive_group(required=True)
    values.add_argument("--key", type=_hex_key, help="one AES key as ENC, MAC and DEK")
    values.add_argument("--enc", type=_hex_key, help="Key-ENC (with --mac and --dek)")
    values.add_argument("--random", action="store_true", help="three fresh random keys of --length bytes")
    put.add_argument("--mac", type=_hex_key)
    put.add_argument("--dek", type=_hex_key)
    put.add_argument("--length", type=int, choices=AES_LENGTHS, default=16, help="with --random (default 16)")
    delete = sub.add_parser("delete", help="delete one key set (never the last complete one)")
    delete.add_argument("--kvn", type=_kvn, required=True)
    imported = sub.add_parser("import", help="load the key sets of the card's EID from a CSV file")
    imported.add_argument("--csv", type=Path, required=True, metavar="FILE",
                          help="rows eid,kvn,enc,mac,dek (a header row and other EIDs are skipped)")
    mode = sub.add_parser("mode", help="S8 (i=70) or S16 (i=71) mode of the ISD-R's SCP03")
    mode.add_argument("mode", choices=("s8", "s16"))
    for action in (listing, put, delete, imported, mode):
        add_state_argument(action)
    parser.set_defaults(func=keys)


def keys(args: argparse.Namespace) -> int:
    path = state_path(args)
    if not path.exists():
        print(f"euicc-emu: no card state at {path} (`euicc-emu run` creates one)", file=sys.stderr)
        return 1
    from euicc.composition import open_card
    from euicc.nvm import StateFileError
    try:
        card = open_card(path, extensions=args.extensions)
    except StateFileError as exc:
        print(f"euicc-emu: {exc}", file=sys.stderr)
        return 1
    try:
        if args.keys_command != "list":
            with card.store.transaction():
                ACTIONS[args.keys_command](card, args)
        description = card.describe()["isd_r_scp03"]
    except KeysError as exc:
        print(f"euicc-emu keys: {exc}", file=sys.stderr)
        return 1
    finally:
        card.close()
    if args.keys_command == "list" and args.json:
        print(json.dumps(description, indent=2))
    else:
        print("\n".join(format_scp03(description)))
    return 0


def _put(card, kvn: int, enc: bytes, mac: bytes, dek: bytes) -> None:
    from euicc.gp import key_store
    if not len(enc) == len(mac) == len(dek):
        raise KeysError("ENC, MAC and DEK of one key set have one AES length (GP Amd D §6.1)")
    store = key_store.isd_r(card.store)
    old = store.get(kvn)
    new = key_store.Scp03Keys(kvn, enc, mac, dek)
    store.put(replace(new, sequence_counter=old.sequence_counter) if old else new)


def _set(card, args: argparse.Namespace) -> None:
    if args.random:
        enc, mac, dek = (os.urandom(args.length) for _ in range(3))
    elif args.key is not None:
        enc = mac = dek = args.key
    else:
        if args.mac is None or args.dek is None:
            raise KeysError("--enc needs --mac and --dek")
        enc, mac, dek = args.enc, args.mac, args.dek
    _put(card, args.kvn, enc, mac, dek)


def _delete(card, args: argparse.Namespace) -> None:
    from euicc.gp import key_store
    store = key_store.isd_r(card.store)
    sets = store.all()
    if args.kvn not in sets:
        raise KeysError(f"the ISD-R has no key set {args.kvn:02X}")
    if not any(k.complete for n, k in sets.items() if n != args.kvn):
        raise KeysError("that is the ISD-R's last complete key set")
    store.delete(args.kvn)


def _import(card, args: argparse.Namespace) -> None:
    eid = card.services.eid.hex().upper()
    found = 0
    try:
        with args.csv.open(newline="") as f:
            for number, row in enumerate(csv.reader(f), 1):
                cells = [c.strip() for c in row]
                if not cells or not any(cells) or cells[0].upper() != eid:
                    continue
                if len(cells) != 5:
                    raise KeysError(f"{args.csv}:{number}: expected eid,kvn,enc,mac,dek")
                try:
                    kvn, enc, mac, dek = _kvn(cells[1]), *(_hex_key(c) for c in cells[2:])
                except argparse.ArgumentTypeError as exc:
                    raise KeysError(f"{args.csv}:{number}: {exc}") from None
                _put(card, kvn, enc, mac, dek)
                found += 1
    except OSError as exc:
        raise KeysError(f"cannot read {args.csv}: {exc.strerror}") from None
    if not found:
        raise KeysError(f"no row for EID {eid} in {args.csv}")


def _mode(card, args: argparse.Namespace) -> None:
    from euicc.gp import key_store
    key_store.set_isd_r_mode(card.store, s16=args.mode == "s16")


ACTIONS = {"set": _set, "delete": _delete, "import": _import, "mode": _mode}
