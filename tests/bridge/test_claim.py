"""One card per vpcd slot: `euicc-emu run` refuses a slot another process serves (vpcd_bridge.claim)."""
import subprocess
import sys

import pytest

from tools import cli
from vpcd_bridge import Endpoint
from vpcd_bridge.claim import SlotClaim, SlotInUse, claim_path

PORT = 45990   # no vpcd listens here: the refusal must come before any connection attempt


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))


def test_claim_is_exclusive_and_released(tmp_path):
    endpoint = Endpoint("127.0.0.1", PORT, 2)
    assert claim_path(endpoint) == tmp_path / f"euicc-emu-vpcd-127.0.0.1-{PORT + 2}.lock"
    with SlotClaim(endpoint):
        with pytest.raises(SlotInUse, match=r"slot 2 \(127.0.0.1:45992\).*process \d+"):
            SlotClaim(endpoint).acquire()
        SlotClaim(Endpoint("127.0.0.1", PORT, 3)).acquire()   # another slot is free
    with SlotClaim(endpoint):                                     # released on exit
        pass


def test_run_refuses_a_served_slot(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", (
                               "import sys, time; from vpcd_bridge import Endpoint; from vpcd_bridge.claim import SlotClaim;"
                               f"c = SlotClaim(Endpoint('127.0.0.1', {PORT}, 0)); c.acquire(); print('held', flush=True);"
                               "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        state = tmp_path / "card.state"
        code = cli.main(["run", "--state", str(state), "--vpcd-host", "127.0.0.1", "--vpcd-port", str(PORT)])
        assert code == 1
        assert f"already served by process {holder.pid}" in capsys.readouterr().err
        assert not state.exists()     # refused before the card was opened
    finally:
        holder.kill()
        holder.wait()
    # kill -9 of the holder releases the slot
    SlotClaim(Endpoint("127.0.0.1", PORT, 0)).acquire()
