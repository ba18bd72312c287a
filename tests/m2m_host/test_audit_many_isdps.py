"""ES5 eUICCCapabilityAudit (SGP.02 v4.2 §5.4.7) of a card with more ISD-Ps than one GET STATUS
answer holds: the card answers '6310' and the SM-SR fetches the next occurrences with P2 b1 = 1
(GlobalPlatform Card Specification v2.3.1 §11.4.2.1), so every ISD-P is listed."""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import Pki, personalise
from tools.bench.m2m_bench import isdr_keyset
from tools.smsr.lifecycle import connect
from tools.smsr.settings import aid_for_tar
from tools.terminal.link import PcscLink

CREATED = 7


def test_audit_lists_every_isdp(card_world):
    """In process (Card.transmit)."""
    _, world = card_world
    smsr = world.smsr
    before = {e.aid for e in smsr.audit()}
    created = [smsr.create_isdp(aid_for_tar((0x30 + n).to_bytes(3, "big"))) for n in range(CREATED)]
    listed = {e.aid: e.state for e in smsr.audit()}
    assert set(listed) == before | set(created)
    assert all(listed[aid] == "SELECTABLE" for aid in created)           # SGP.02 §4.1.1.1 CreateISDP
    assert len(listed) == len(before) + CREATED >= 8


@pytest.mark.pcsc
def test_audit_lists_every_isdp_through_pcsc(start_card, pcscd, tmp_path):
    pki, state = Pki.create(), tmp_path / "audit.state"
    card = open_card(state)
    personalise(card.store, pki)
    card.close()
    start_card(state)
    link = PcscLink(reader_name(pcscd))
    try:
        smsr = connect(link, isdr_keyset(), pki).smsr
        before = {e.aid for e in smsr.audit()}
        created = [smsr.create_isdp(aid_for_tar((0x30 + n).to_bytes(3, "big"))) for n in range(CREATED)]
        assert {e.aid for e in smsr.audit()} == before | set(created)
    finally:
        link.close()
