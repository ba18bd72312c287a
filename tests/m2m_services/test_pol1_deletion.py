"""A profile the eUICC deletes by itself under its POL1 "delete when disabled" when the SM-SR
confirms the notification of the switch that disabled it (SGP.02 v4.2 §4.1.1.12: the
HandleNotificationConfirmation answer '80' L {'4F' L ISD-P AID}* lists the deleted ISD-Ps): the
SM-SR records it (gone from its EIS and profiles, its owners kept for a later DeleteProfile) and
forwards HandleProfileDeletedNotification to the owner over ES4, its ONC applied.

Without a card: the card's side is a scripted ES5 (every command answers '90 00' with no data, the
confirmation answers the known '80 12 4F 10 <AID>'), in process over loopback.  Both ways the
confirmation happens: the eUICC's '02' arriving from the network (behind a device), and the SM-SR's
own terminal after an ES4 EnableProfile."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from tools.m2m_services.es4a import DELETED, DISABLED, ENABLED, NOTIFICATIONS
from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.transport import Provider, Requester, address, attach, serve
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis, ProfileInfo
from tools.smsr.eis_file import EisDocument
from tools.smsr.mo import Notification
from tools.smsr.smsr import SmSr

EID = "89049032000000000000000000000163"
A, B = "A0000005591010FFFFFFFF8900001000", "A0000005591010FFFFFFFF8900001100"
ICCID_A, ICCID_B = "8988211000000000001", "8988211000000000002"
CONFIRMATION = bytes.fromhex("80E28900073A08044E02")       # STORE DATA P1 '89', DGI '3A08' {'4E' seq}
DELETED_A = bytes.fromhex("80124F10" + A)                  # §4.1.1.12 answer: ISD-P A deleted


class ScriptedCard(SmSr):
    """The SM-SR's ES5 toward a card that answers by script (records the commands)."""

    def __init__(self, eis: Eis, keyset: OtaKeyset) -> None:
        super().__init__(eis, keyset)
        self.sent: list[bytes] = []
        self.terminal = SimpleNamespace(link=SimpleNamespace(alive=lambda: True), location_status=self.attached)

    def execute_one(self, apdu: bytes, what: str) -> bytes:
        self.sent.append(apdu)
        return DELETED_A if apdu.startswith(CONFIRMATION) else b""

    def attached(self, status: int) -> None:
        """The terminal reports the network: the card sends its '02' for B."""
        self.notifications.append(notification(B))


def notification(enabled: str) -> Notification:
    return Notification(bytes.fromhex(EID), 0x02, 1, bytes.fromhex(enabled), b"")


@pytest.fixture
def parties(tmp_path):
    servers = {name: serve("127.0.0.1", 0) for name in ("smsr", "mno")}
    urls = {name: address(server, "127.0.0.1") for name, server in servers.items()}
    store = SmsrStore(tmp_path / "smsr.db")
    notified: list[tuple[str, str | None]] = []
    operator = Provider(urls["mno"])
    for name in NOTIFICATIONS:
        operator.register("ES4", name, lambda r, n=name: notified.append((n, r.get("Iccid"))) or [], one_way=True)
    smsr = SmsrService(store, "no reader", urls["smsr"], endpoints={"MNO": urls["mno"]})
    for name, provider in (("smsr", smsr.provider), ("mno", operator)):
        attach(servers[name], provider)
        threading.Thread(target=servers[name].serve_forever, daemon=True).start()
    yield SimpleNamespace(urls=urls, store=store, smsr=smsr, notified=notified)
    for server in servers.values():
        server.shutdown()
        server.server_close()
    store.close()


def register(parties, enabled: str, device: bool) -> ScriptedCard:
    """The EIS: A and B of the operator, ``enabled`` enabled; the SM-SR's ES5 scripted."""
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=bytes.fromhex("7F2100")))
    doc.use_keyset(OtaKeyset(1, AES, bytes(16), AES, bytes(16)))
    for aid in (A, B):
        doc.eis.profiles[bytes.fromhex(aid)] = ProfileInfo(bytes.fromhex(aid), "ENABLED" if aid == enabled else "DISABLED")
    parties.store.register(EID, doc, "EUM", [ProfileRecord(EID, A, ICCID_A, "MNO", None, Pol2()),
                                             ProfileRecord(EID, B, ICCID_B, "MNO", None, Pol2())])
    card = ScriptedCard(doc.eis, doc.active_keyset())
    parties.smsr._smsr = card
    parties.smsr.device = "http://device.invalid/" if device else None
    return card


def assert_recorded_deleted(parties) -> None:
    assert [r.iccid for r in parties.store.profiles(EID)] == [ICCID_B]
    assert bytes.fromhex(A) not in parties.store.load(EID).eis.profiles
    assert parties.store.deleted_owners(EID, ICCID_A) == ("MNO", None)


def test_the_cards_pol1_deletion_at_a_confirmation_from_the_network_is_reported(parties):
    """Behind a device the SM-SR took the switch to B as executed; the '02' comes by SMS."""
    card = register(parties, B, device=True)
    parties.smsr._confirm(EID, notification(B))
    assert card.sent[-1].startswith(CONFIRMATION)
    assert_recorded_deleted(parties)
    assert parties.notified == [(DELETED, ICCID_A)]


def test_the_cards_pol1_deletion_after_an_es4_enable_is_reported_per_onc(parties):
    """ES4 EnableProfile B on the SM-SR's own terminal: B enabled, A disabled, then deleted by the
    card at the confirmation; the operator excluded Disabled notifications in its ONC."""
    register(parties, A, device=False)
    parties.store.set_onc("MNO", [DISABLED])
    status = Requester(parties.urls["smsr"], "MNO").call("ES4", "EnableProfile", [("Eid", EID), ("Iccid", ICCID_B)]).status
    assert status.ok, status
    assert_recorded_deleted(parties)
    assert parties.notified == [(ENABLED, ICCID_B), (DELETED, ICCID_A)]
