"""The SGP.02 life cycle through real pcscd + ifd-vpcd + `euicc-emu run` (pyscard on the host side)."""
from __future__ import annotations

import time

import pytest

from euicc.card import Card
from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import TS48, Pki, connect, personalise
from tests.m2m_host.test_lifecycle import download, enabled
from tools.smsr.handover import change_smsr
from tools.smsr.smsr import OtaFailure
from tools.terminal import cat
from tools.terminal.link import PcscLink

pytestmark = pytest.mark.pcsc


def test_life_cycle_over_pcsc(start_card, pcscd, tmp_path):
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    pki, state = Pki.create(), tmp_path / "m2m.state"
    card = Card.open(state)
    personalise(card.store, pki)
    card.close()
    start_card(state)
    link = PcscLink(reader_name(pcscd))
    started = time.monotonic()
    world = connect(link.transmit, link.reset, pki)
    smsr, terminal = world.smsr, world.terminal
    original = enabled(smsr.audit())[0]
    isdp = download(world)
    smsr.set_fallback_attribute(original)
    smsr.enable_profile(isdp)
    terminal.location_status(cat.NORMAL_SERVICE, force=True)
    assert any(n.type == 0x02 for n in smsr.notifications)
    smsr.confirm_all()
    assert enabled(smsr.audit()) == [isdp]
    terminal.location_status(cat.NO_SERVICE, force=True)
    terminal.location_status(cat.NORMAL_SERVICE, force=True)
    smsr.confirm_all()
    assert enabled(smsr.audit()) == [original]
    new = change_smsr(smsr, pki.smsr2, pki.smsr2_cert, world.smdp.ecasd_public_key(smsr.eis.ecasd_certificate))
    assert enabled(new.audit()) == [original]
    with pytest.raises(OtaFailure):
        smsr.audit()
    print(f"SGP.02 life cycle through PC/SC: {time.monotonic() - started:.1f} s")
    link.close()
