"""SM-SR change with SCP81 key sets (SGP.02 v4.2 §3.8, GP Amd B / Amd E scenario #3) between the two SM-SR
service processes, through pcscd + vpcd: SM-SR1 owns an SCP81 PSK-TLS key set (KVN '40', put by SMS
before the EIS is registered); the change establishes SM-SR2's SCP81 key set from the shared secret
(KVN '41', key type '85'), SM-SR2 reaches the card over HTTPS with its own PSK, SM-SR1's PSK is refused.

The HTTPS sessions are run by the command-line SM-SR (``euicc-emu smsr --transport https``) with the
keys read from the stores' SQLite files; the card is the judge."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tests.m2m_host.m2m_world import invoke_cli
from tests.m2m_host.test_cli_https import DEFAULT_DEK
from tests.m2m_services.test_smsr_change_pcsc import change  # noqa: F401  (the fixture)
from tools.cli import main

pytestmark = pytest.mark.pcsc
OLD_PSK, OLD_PSK_DEK = "00112233445566778899AABBCCDDEEFF", "FFEEDDCCBBAA99887766554433221100"


def _https(c, eis_file, psk: str, kvn: int, counter: int) -> tuple[int, str]:
    return invoke_cli(c.capsys, ["smsr", "--eis", str(eis_file), "--reader", c.reader, "--counter", str(counter),
                                 "--transport", "https", "--psk", psk, "--psk-kvn", hex(kvn), "audit"])


def test_the_new_smsr_reaches_the_card_over_https_with_its_own_psk(change):
    c = change()
    eis_file = c.tmp / "pki" / "eis.json"
    status, out = invoke_cli(c.capsys, ["smsr", "--eis", str(eis_file), "--reader", c.reader, "--psk-kvn", "0x40",
                                        "put-psk", "--psk", OLD_PSK, "--psk-dek", OLD_PSK_DEK, "--dek", DEFAULT_DEK])
    assert status == 0 and "SCP81 key set 40" in out, out
    assert json.loads(eis_file.read_text())["psk_keysets"][0]["kvn"] == 0x40
    status, out = _https(c, eis_file, OLD_PSK, 0x40, 500)             # SM-SR1's PSK works before the change
    assert status == 0 and "ENABLED" in out, out
    c.register()                                                        # ES1 with both of SM-SR1's key sets
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
    assert status == 0 and "ES4.SMSRChange: Executed-Success" in out, out + c.services["SM-SR2"].log.read_text()
    assert c.held_by() == ["SM-SR2"]
    with sqlite3.connect(c.tmp / "SM-SR2.db") as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
    with sqlite3.connect(c.tmp / "SM-SR1.db") as con:
        (retired,), = con.execute("SELECT eis FROM retired").fetchall()
    eis, retired = json.loads(eis), json.loads(retired)
    assert [p["kvn"] for p in retired["psk_keysets"]] == [0x40]         # SM-SR1's PSK stays with SM-SR1
    (new,) = eis["psk_keysets"]
    assert new["kvn"] == 0x41 and new["dek"] == "" and OLD_PSK not in json.dumps(eis)
    assert [k["kvn"] for k in eis["keysets"]] == [2]
    for service in c.services.values():
        service.stop()
    new_eis = c.tmp / "sm-sr2-eis.json"
    new_eis.write_text(json.dumps(eis))
    status, out = _https(c, new_eis, new["psk"], 0x41, 50000)          # SM-SR2 over HTTPS with its PSK
    assert status == 0 and "ENABLED" in out, out
    c.capsys.readouterr()
    assert main(["smsr", "--eis", str(new_eis), "--reader", c.reader, "--counter", "50100", "--transport", "https",
                 "--psk", OLD_PSK, "--psk-kvn", "0x40", "audit"]) == 1     # SM-SR1's PSK: key set 40 is gone
    assert "no answer over HTTPS" in c.capsys.readouterr().err
    assert not c.old_keys_work()
