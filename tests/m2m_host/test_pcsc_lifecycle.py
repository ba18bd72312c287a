"""The SGP.02 life cycle through real pcscd + ifd-vpcd + `euicc-emu run` (pyscard on the host side):
every step of tools.smsr.lifecycle (CreateISDP, key establishment, TS.48 download, enable with the
notification confirmed, Fall-Back after location status 'no service', return, SM-SR change with
the first SM-SR's keys refused), checked against the same expectations as in-process."""
from __future__ import annotations

import time

import pytest

from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import TS48, Pki, personalise
from tests.m2m_host.test_lifecycle import check_life_cycle
from tools.bench.m2m_bench import isdr_keyset
from tools.smsr.lifecycle import connect, run_life_cycle
from tools.smsr.smsr import CommandFailed
from tools.terminal import cat
from tools.terminal.link import PcscLink

pytestmark = pytest.mark.pcsc


def test_life_cycle_over_pcsc(start_card, pcscd, tmp_path):
    pki, state = Pki.create(), tmp_path / "m2m.state"
    card = open_card(state)
    personalise(card.store, pki)
    card.close()
    start_card(state)
    link = PcscLink(reader_name(pcscd))
    started = time.monotonic()
    try:
        world = connect(link, isdr_keyset(), pki)
        record = run_life_cycle(world, TS48.read_bytes())
        check_life_cycle(record)
        # Fall-Back came from location status events the card registered (TS 102 223 §6.4.16), not forced
        assert cat.EVENT_LOCATION_STATUS in world.terminal.event_list
        assert world.terminal.record.events_sent.count(cat.EVENT_LOCATION_STATUS) >= 2
        with pytest.raises(CommandFailed) as refused:       # the enabled profile stays ('6985')
            record.new_smsr.delete_profile(record.isdp)
        assert refused.value.sw == 0x6985
    finally:
        link.close()
    print(f"SGP.02 life cycle through PC/SC: {time.monotonic() - started:.1f} s")
