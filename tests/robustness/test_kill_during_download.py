"""kill -9 of `euicc-emu run` in the middle of an SGP.22 download through PC/SC, then restart:
the card holds the profile completely or not at all (SGP.22 §5.7.6 "nothing left behind"), at
most one profile is enabled, and the registry matches the profile records."""
from __future__ import annotations

import signal

import pytest

from euicc.composition import open_card
from euicc.profiles.manager import ISD_P_ELF
from tests.e2e.pcsc_host import reader_name
from tests.pcsc_fixtures import SLOT
from euicc.provisioning import default_test_profile
from tests.rsp_host.conftest import card_smdp, make_lpa  # noqa: F401 - card_smdp is a fixture
from tools.lpa.activation_code import parse
from tools.lpa.lpa import iccid_digits
from tools.lpa.transport import PcscTransmit
from tools.smdpp.orders import order_from_upp

pytestmark = pytest.mark.pcsc

LOAD_BPP = 0xBF36
ICCID = "89001000000000000010"   # of the package: the card's own test profile, not on a minimal card


@pytest.fixture
def upp() -> bytes:
    return default_test_profile()


class Killed(Exception):
    pass


def _download_killing_at(start_card, smdp, package, state, kill_at: int) -> None:
    """Run a download and SIGKILL the card process before the `kill_at`-th STORE DATA of the
    bound profile package."""
    proc = start_card(state=state)
    pcsc = PcscTransmit(reader_name(SLOT))
    seen = {"bpp_blocks": 0, "in_bpp": False}

    def transmit(apdu: bytes) -> bytes:
        if apdu[1] == 0xE2:
            if apdu[3] == 0 and apdu[5:7] == LOAD_BPP.to_bytes(2, "big"):
                seen["in_bpp"] = True
            if seen["in_bpp"]:
                seen["bpp_blocks"] += 1
                if seen["bpp_blocks"] == kill_at:
                    proc.proc.send_signal(signal.SIGKILL)
                    proc.proc.wait(10)
                    try:  # as a terminal would: the next command finds the card gone, and
                        pcsc(apdu)  # vpcd notices the dead link (it has no other way to)
                    except Exception:  # noqa: BLE001 - pyscard raises several kinds here
                        pass
                    raise Killed
        return pcsc(apdu)

    lpa = make_lpa(transmit)
    smdp.add_order(order_from_upp(f"KILL-{kill_at}", package))
    try:
        lpa.download(parse(f"LPA:1${smdp.address}$KILL-{kill_at}"))
    except Killed:
        pass
    finally:
        pcsc.close()
        proc.stop()


def _check_consistent(state) -> set[str]:
    card = open_card(state)
    try:
        records = card.services.profiles.records()
        assert sum(r.state == 1 for r in records) <= 1
        isdps = {e.aid for e in card.services.registry.entries() if e.elf == ISD_P_ELF}
        assert isdps == {r.isdp_aid for r in records}, "an ISD-P without its profile, or vice versa"
        for r in records:
            assert card.store.keys(f"fs/{r.fsid}/n/"), f"profile {iccid_digits(r.iccid)} has no files"
        return {iccid_digits(r.iccid) for r in records}
    finally:
        card.close()


@pytest.mark.parametrize("kill_at", [1, 3, 8, 14])
def test_kill_9_during_download(start_card, card_smdp, upp, tmp_path, kill_at):
    state = tmp_path / "card.state"
    _download_killing_at(start_card, card_smdp, upp, state, kill_at)
    iccids = _check_consistent(state)
    assert ICCID not in iccids          # killed before the last segment: nothing installed
    # the card still works: the same download completes after the restart
    proc = start_card(state=state)
    pcsc = PcscTransmit(reader_name(SLOT))
    try:
        card_smdp.add_order(order_from_upp("AFTER", upp))
        make_lpa(pcsc).download(parse(f"LPA:1${card_smdp.address}$AFTER"))
    finally:
        pcsc.close()
        proc.stop()
    assert ICCID in _check_consistent(state)
