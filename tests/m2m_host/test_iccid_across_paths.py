"""One ICCID coding whichever path installs a profile: SGP.02 ES8 (DownloadAndInstallation) and
SGP.22 ES8+ (LoadBoundProfilePackage) both record the ICCID as coded in EF.ICCID (TS 102 221 §13.2,
nibble-swapped BCD; SGP.22 ``Iccid`` is "ICCID as coded in EFiccid"), so the duplicate check of
SGP.22 §5.5.3 StoreMetadata (iccidAlreadyExistsOnEuicc, errorReason 9) matches across the paths.

Known answers: the TS.48 v7 test profile's ICCID is 89000123456789012341 (GSMA TS.48 v7)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from euicc.composition import open_card
from tests.e2e.pcsc_host import REPO, reader_name
from tests.m2m_host.m2m_world import TS48, Pki, connect, personalise
from tests.m2m_host.test_lifecycle import download
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID, make_lpa
from tests.extensions import requires
from tools.bench.m2m_bench import isdr_keyset
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError, iccid_digits
from tools.lpa.transport import PcscTransmit
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import order_from_upp
from tools.smsr.lifecycle import connect as connect_link
from tools.terminal.link import PcscLink

ICCID_ALREADY_EXISTS, STORE_METADATA = 9, 2   # SGP.22 v2.5 §5.7.6 ErrorReason / BppCommandId


def new_card_state(path: Path) -> Pki:
    pki = Pki.create()
    card = open_card(path)
    personalise(card.store, pki)
    card.close()
    return pki


def es8_then_es10(world, transmit: Callable[[], Callable[[bytes], bytes]]) -> None:
    """ES8 download of TS.48 through the SM-SR, then (on a connection made after it: the terminal
    resets the card) the same ICCID by ES10: refused, nothing added."""
    download(world)
    lpa = make_lpa(transmit())
    lpa.es10.transport.open()
    listed = [iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p]
    assert TS48_ICCID in listed                            # ES10c GetProfilesInfo, EF.ICCID coding
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(SHIPPED_PKI, ("NIST",))))
    server.smdp.address = f"127.0.0.1:{server.port}"
    with server:
        server.smdp.add_order(order_from_upp("SAME-ICCID", TS48.read_bytes()))
        with pytest.raises(DownloadError) as err:
            lpa.download(parse(f"LPA:1${server.smdp.address}$SAME-ICCID"))
    assert err.value.result.get("errorReason") == ICCID_ALREADY_EXISTS
    assert err.value.result.get("bppCommandId") == STORE_METADATA
    assert sorted(iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p) == sorted(listed)
    lpa.es10.transport.close()


def info_iccids(state: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "tools.cli", "info", "--json", "--state", str(state)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["iccids"]


@requires("rsp", "m2m")
def test_es8_profile_then_es10_download_of_the_same_iccid_is_refused(tmp_path):
    state = tmp_path / "card.state"
    pki = new_card_state(state)
    card = open_card(state)
    es8_then_es10(connect(card.transmit, card.reset, pki), lambda: card.transmit)
    card.close()
    assert info_iccids(state).count(TS48_ICCID) == 1


@pytest.mark.pcsc
def test_same_iccid_across_paths_through_pcsc(start_card, pcscd, tmp_path):
    state = tmp_path / "card.state"
    pki = new_card_state(state)
    card = start_card(state)
    link = PcscLink(reader_name(pcscd))
    opened: list[PcscTransmit] = []
    try:
        es8_then_es10(connect_link(link, isdr_keyset(), pki),
                      lambda: opened.append(PcscTransmit(reader_name(pcscd))) or opened[-1])
    finally:
        for transmit in opened:
            transmit.close()
        link.close()
    assert card.stop() == 0
    assert info_iccids(state).count(TS48_ICCID) == 1
