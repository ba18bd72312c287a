"""The SM-SR change (SGP.02 v4.2 §3.8) through pcscd + vpcd with the card process killed (kill -9) at
each card-facing step, and the whole change over mutual TLS between every party.

Card kill: the service about to send (``...relaying``, ``SM-SR2.in-charge``) or just done with
(``...relayed``, ``...FinaliseISDRhandover.done``) an OTA message is parked at its pause point
(:mod:`tools.m2m_services.pause`; ``#2`` = the SCP81 key set's round), the card is killed there, the
service let go, the card restarted from its state file.  Then each SM-SR's next function settles
what is left pending, and: the EIS is in exactly one SM-SR, that one reaches the card, the other's
key set is refused by the card (asked with the command-line SM-SR), and the change retried either
completes or is refused with the EIS where it was."""
from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time

import pytest

from tests.m2m_host.m2m_world import invoke_cli
from tests.m2m_services.test_smsr_change_pcsc import Change, change  # noqa: F401  (the fixture)
from tools.m2m_services.transport import Requester

pytestmark = pytest.mark.pcsc
CARD_STEPS = [
    "SM-SR1.AuthenticateSMSR.relaying", "SM-SR1.AuthenticateSMSR.relayed",
    "SM-SR1.CreateAdditionalKeySet.relaying", "SM-SR1.CreateAdditionalKeySet.relayed",
    "SM-SR1.AuthenticateSMSR.relaying#2", "SM-SR1.AuthenticateSMSR.relayed#2",
    "SM-SR1.CreateAdditionalKeySet.relaying#2", "SM-SR1.CreateAdditionalKeySet.relayed#2",
    "SM-SR2.in-charge", "SM-SR2.FinaliseISDRhandover.done",
]
"""Before and after each OTA message of the change: AuthenticateSMSR and CreateAdditionalKeySet for the
SCP80 then the SCP81 key set (relayed by SM-SR1), FinaliseISDRhandover (SM-SR2)."""


def _run_change(c: Change, step: str, fault) -> list[tuple[int, str]]:
    """ES4.SMSRChange with the service of ``step`` parked there; ``fault()`` runs while it is parked."""
    result: list[tuple[int, str]] = []
    caller = threading.Thread(target=lambda: result.append(
        c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")), daemon=True)
    caller.start()
    deadline = time.monotonic() + 120
    while not (c.pause_file.exists() and c.pause_file.read_text().strip() == step):
        assert time.monotonic() < deadline and caller.is_alive(), (result, c.services[step.split(".")[0]].log.read_text())
        time.sleep(0.02)
    fault()
    c.pause_file.unlink()
    caller.join(120)
    assert not caller.is_alive() and result
    return result


def _keys_refused(c: Change, name: str) -> bool:
    """Does the card refuse the SCP80 key set ``name`` last held (its EIS, held or retired)?  Asked with
    the command-line SM-SR; an SM-SR that never held one is refused by definition."""
    with sqlite3.connect(f"file:{c.tmp / (name + '.db')}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT eis FROM euicc WHERE eid = ? UNION ALL SELECT eis FROM retired WHERE eid = ?",
                           (c.eid, c.eid)).fetchall()
    if not rows:
        return True
    eis_file = c.tmp / f"{name}-keys.json"
    eis_file.write_text(rows[0][0])
    status, _ = invoke_cli(c.capsys, ["smsr", "--eis", str(eis_file), "--reader", c.reader,
                                      "--counter", str(200000 + int(time.time() * 10) % 100000), "audit"])
    return status != 0


@pytest.mark.parametrize("step", CARD_STEPS)
def test_kill_9_of_the_card_at_each_card_facing_step(change, step):
    c = change(pause={step.split(".")[0]: [step]})
    c.register()
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    (status, out), = _run_change(c, step, lambda: c.card.stop(signal.SIGKILL))
    assert (status == 0) == (step == "SM-SR2.FinaliseISDRhandover.done"), (step, out)
    c.card = c.start_card(c.tmp / "card.state", extra=["--trace", str(c.trace)])
    c.mno("SM-SR1", "audit-eis", c.eid)                    # each SM-SR's next function settles its side
    c.mno("SM-SR2", "audit-eis", c.eid)
    held = c.held_by()
    assert len(held) == 1, (step, held)
    winner, loser = held[0], ("SM-SR2" if held[0] == "SM-SR1" else "SM-SR1")
    status, out = c.mno(winner, "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, (step, out)
    assert "Failed 8.1.1 3.9" in c.mno(loser, "get-eis", c.eid)[1]
    assert _keys_refused(c, loser), step
    if winner == "SM-SR1":                                 # no stray key set on the card: the change works again
        assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
        status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
        assert status == 0 and c.held_by() == ["SM-SR2"], (step, out)
    else:                                                  # done already: a retry is refused, nothing moves
        status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
        assert status == 1 and "Failed 8.1.1 3.9" in out, (step, out)
        assert c.held_by() == ["SM-SR2"]
    assert _keys_refused(c, "SM-SR1")
    status, out = c.mno("SM-SR2", "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, (step, out)


def test_the_change_over_mutual_tls_between_every_party(change):
    """SGP.02 services over HTTPS with mutual TLS (test CA, CN = FunctionRequesterIdentifier): the EUM,
    the operator and both SM-SRs (ES7 in both directions) each with its own certificate.  A party with
    another's certificate is refused before anything reaches the card."""
    c = change(tls=True)
    assert all(url.startswith("https://") for url in c.url.values())
    c.register()
    assert c.mno("SM-SR1", "audit-eis", c.eid)[0] == 0
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    envelopes = c.envelopes()
    impostor = Requester(c.url["SM-SR2"], "SM-SR1", tls=c.tls["MNO"]).call(
        "ES7", "HandoverEUICC", [("Eis", [("EumSignedInfo", [("Eid", c.eid)])])])      # the MNO posing as SM-SR1
    assert not impostor.status.ok and (impostor.status.code.subject_code, impostor.status.code.reason_code) == \
        ("1.1", "1.1"), str(impostor.status)
    assert c.envelopes() == envelopes
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
    assert status == 0 and "ES4.SMSRChange: Executed-Success" in out, out + c.services["SM-SR2"].log.read_text()
    assert c.held_by() == ["SM-SR2"]
    with sqlite3.connect(c.tmp / "SM-SR2.db") as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
    assert [k["kvn"] for k in json.loads(eis)["psk_keysets"]] == [0x40]
    status, out = c.mno("SM-SR2", "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, out
    status, out = invoke_cli(c.capsys, ["mno", "--smsr", c.url["SM-SR2"], "get-eis", c.eid])   # no certificate
    assert status == 1
    assert not c.old_keys_work()
