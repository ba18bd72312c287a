"""One ICCID coding whichever path installs a profile: SGP.02 ES8 (DownloadAndInstallation) and
SGP.22 ES8+ (LoadBoundProfilePackage) both record the ICCID as coded in EF.ICCID (TS 102 221 §13.2,
nibble-swapped BCD; SGP.22 ``Iccid`` is "ICCID as coded in EFiccid"), so the duplicate check of
SGP.22 §5.5.3 StoreMetadata (iccidAlreadyExistsOnEuicc, errorReason 9) matches across the paths.

Known answers: the TS.48 v7 test profile's ICCID is 89000123456789012341 (GSMA TS.48 v7)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from euicc.card import Card
from tests.e2e.pcsc_host import REPO
from tests.m2m_host.m2m_world import TS48, Pki, connect, personalise
from tests.m2m_host.test_lifecycle import download
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID, make_lpa
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError, iccid_digits
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import order_from_upp

ICCID_ALREADY_EXISTS, STORE_METADATA = 9, 2   # SGP.22 v2.5 §5.7.6 ErrorReason / BppCommandId


def test_es8_profile_then_es10_download_of_the_same_iccid_is_refused(tmp_path):
    if not TS48.exists():
        pytest.fail(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    state = tmp_path / "card.state"
    pki = Pki.create()
    card = Card.open(state)
    personalise(card.store, pki)
    world = connect(card.transmit, card.reset, pki)
    download(world)                                        # SGP.02 ES8 over SCP80 + SCP03t
    lpa = make_lpa(card.transmit)
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
    card.close()
    out = subprocess.run([sys.executable, "-m", "tools.cli", "info", "--json", "--state", str(state)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["iccids"].count(TS48_ICCID) == 1
