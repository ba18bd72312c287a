"""Host side of the ISD-R SCP03 tests: an in-memory card with chosen ISD-R key sets, and a
terminal that opens a secure channel with tools/scp/scp03_host.py (written independently of
the card's euicc.crypto.scp03)."""
from __future__ import annotations

from dataclasses import dataclass

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.gp import key_store
from tools.scp.scp03_host import HostKeySet, Scp03Host

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
SELECT_ISD_R = bytes.fromhex("00A4040010") + ISD_R_AID + b"\x00"
#: the documented default (README "GlobalPlatform keys"): KVN 30, GP test key 40..4F
DEFAULT_KEYS = HostKeySet(0x30, bytes(range(0x40, 0x50)), bytes(range(0x40, 0x50)), bytes(range(0x40, 0x50)))


def new_card(eid: str | None = None, key_sets: tuple[key_store.Scp03Keys, ...] = ()) -> Card:
    """A new in-memory card (direct delivery, no 61xx) whose ISD-R holds ``key_sets`` when given;
    ``eid`` overrides the EID it reports (a trace's card, outside the test EUM's EID range)."""
    card = open_card(None, CardConfig(t0=False), first_profile="minimal")
    store = card.store
    with store.transaction():
        if eid is not None:
            store.put("card/eid", bytes.fromhex(eid))
        keys = key_store.isd_r(store)
        if key_sets:
            for kvn in keys.all():
                keys.delete(kvn)
            for k in key_sets:
                keys.put(k)
    card.power_on()
    return card


@dataclass
class Reply:
    data: bytes
    sw: int


class Terminal:
    """Sends APDUs to a card (in process or any ``transmit(bytes) -> bytes``)."""

    def __init__(self, transmit) -> None:
        self.transmit = transmit

    def send(self, apdu: bytes | str) -> Reply:
        raw = bytes(self.transmit(bytes.fromhex(apdu) if isinstance(apdu, str) else apdu))
        return Reply(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def open_scp03(self, keys: HostKeySet = DEFAULT_KEYS, level: int = 0x33, s_mode: int = 8,
                   select: bool = True) -> Scp03Host:
        """SELECT the ISD-R, INITIALIZE UPDATE, check the card, EXTERNAL AUTHENTICATE."""
        if select:
            assert self.send(SELECT_ISD_R).sw == 0x9000
        host = Scp03Host(keys, level, s_mode=s_mode)
        r = self.send(host.initialize_update())
        assert r.sw == 0x9000, f"INITIALIZE UPDATE {r.sw:04X}"
        host.process_initialize_update(r.data, sd_aid=ISD_R_AID)
        r = self.send(host.external_authenticate())
        assert (r.data, r.sw) == (b"", 0x9000), f"EXTERNAL AUTHENTICATE {r.sw:04X}"
        return host

    def secure(self, host: Scp03Host, apdu: bytes | str) -> Reply:
        """One command wrapped by ``host``, its response checked and unwrapped."""
        r = self.send(host.wrap(bytes.fromhex(apdu) if isinstance(apdu, str) else apdu))
        return Reply(host.unwrap(r.data, r.sw), r.sw)
