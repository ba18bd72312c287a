"""The command-line device and SM-SR joined by the SMS network, with a card on pcscd + vpcd:
``euicc-emu terminal --smsc URL --mt-port PORT serve --network normal`` in front of the card and
``euicc-emu smsr-service serve --device URL --mo-port 0``.  The device's attachment makes the card
send its eUICC declaration ('01', SGP.02 §4.1.1.11) by SMS to the SM-SR's SMSC endpoint, which the
SM-SR confirms (MT SMS through the device: the sequence number lands in its EIS); an operator's
AuditEIS runs over the same MT path."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.m2m_host.m2m_world import invoke_cli
from tests.m2m_services.test_smsr_service_pcsc import REPO, Service, _register, _states, world  # noqa: F401
from tools.m2m_services.smsr_store import SmsrStore

pytestmark = pytest.mark.pcsc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_line_device_and_smsr_over_the_sms_network(world, capsys):  # noqa: F811
    w = world
    _register(capsys, w)
    w["service"].stop()
    mt_port = _free_port()
    smsr = Service(w["db"], w["reader"], w["tmp"] / "smsr-net.log",
                   extra=["--device", f"http://127.0.0.1:{mt_port}/", "--mo-port", "0"])
    w["service"] = smsr                                     # stopped by the fixture
    smsc = smsr.proc.stdout.readline().split()[-1]
    assert smsc.startswith("http://127.0.0.1:"), smsc
    device = subprocess.Popen([sys.executable, "-m", "tools.cli", "terminal", "--reader", w["reader"], "--smsc", smsc,
                               "--mt-port", str(mt_port), "serve", "--seconds", "120", "--network", "normal"],
                              cwd=REPO, stdout=open(w["tmp"] / "device.out", "w"), stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline, confirmed = time.monotonic() + 30, []
        while not confirmed and time.monotonic() < deadline and device.poll() is None:
            time.sleep(0.2)
            store = SmsrStore(w["db"])
            confirmed = store.load(w["eid"]).eis.notifications
            store.close()
        assert confirmed == [1], (w["tmp"] / "device.out").read_text() + (w["tmp"] / "smsr-net.log").read_text()
        status, out = invoke_cli(capsys, ["mno", "--smsr", smsr.url, "audit-eis", w["eid"]])
        assert status == 0 and _states(out)[w["aid"]] == "Enabled", out
    finally:
        device.terminate()
        device.wait(15)
