"""The SGP.02 parties of a PC/SC test wired as on a real network: the device (a terminal simulator on
the card's PC/SC reader, its MT endpoint and its MO SMS to the SMSC endpoint), the SM-SR service (ES5
as MT SMS to the device, MO SMS back through its SMSC endpoint), the operator's notification
endpoint and the SM-DP service process (SGP.02 v4.2 §5.3-§5.5; tools/terminal/sms_network.py)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.m2m_host.m2m_world import TS48
from tests.m2m_services.test_smsr_service_pcsc import Service
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.smsc import MoEndpoint
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import SmsrStore
from tools.m2m_services.transport import Provider, address, attach, serve
from tools.terminal.link import PcscLink
from tools.terminal.sms_network import HttpSmsc, MtEndpoint
from tools.terminal.terminal import Terminal

NEW_ICCID = "8944000000000000001"


@dataclass
class Network:
    service: SmsrService
    smsr_url: str
    smdp: Service
    device: MtEndpoint
    notified: list[tuple[str, str | None]]

    def report(self, *statuses: int) -> None:
        """The device reports its network to the card (TS 102 223 §7.5.4 location status), then
        waits until the SM-SR service has confirmed and forwarded what the card sent meanwhile."""
        for status in statuses:
            with self.device.device() as terminal:
                terminal.location_status(status)
        self.service.wait_notifications()

    def confirmed(self, eid: str) -> list[int]:
        """Sequence numbers of the card's notifications the SM-SR confirmed (its EIS)."""
        return self.service.store.load(eid).eis.notifications

    def serve(self, seconds: float) -> None:
        """The device runs the card's timers (TIMER EXPIRATION, §7.4) for ``seconds``."""
        for _ in range(int(seconds / 0.1)):
            with self.device.device() as terminal:
                terminal.poll()
            threading.Event().wait(0.1)


def _serve(provider_of) -> tuple:
    server = serve("127.0.0.1", 0)
    url = address(server, "127.0.0.1")
    provider = provider_of(url)
    attach(server, provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url


@contextmanager
def network(w: dict) -> Iterator[Network]:
    """The world ``w`` (test_smsr_service_pcsc.world, EIS registered, its SM-SR process stopped)
    served again in this process with the device in front of the card."""
    pki = w["tmp"] / "pki"
    notified: list[tuple[str, str | None]] = []

    def operator(url: str) -> Provider:
        provider = Provider(url)
        for name in NOTIFICATIONS:
            provider.register("ES4", name, lambda r, name=name: notified.append((name, r.get("Iccid"))) or [],
                              one_way=True)
        return provider
    mno_server, mno_url = _serve(operator)
    terminal = Terminal(PcscLink(w["reader"]))
    device = MtEndpoint(terminal).start()
    store = SmsrStore(w["db"])
    holder: dict[str, SmsrService] = {}
    smsr_server, smsr_url = _serve(lambda url: holder.setdefault(
        "s", SmsrService(store, w["reader"], url, endpoints={"MNO": mno_url}, device=device.url)).provider)
    service = holder["s"]
    smsc = MoEndpoint(service.receive_sms).start()
    terminal.sms_sink = HttpSmsc(smsc.url)
    with device.device():
        terminal.start()
    smdp = Service(w["tmp"] / "smdp.db", "", w["tmp"] / "smdp.log", [
        "smdp-service", "serve", "--db", str(w["tmp"] / "smdp.db"), "--port", "0", "--smsr", smsr_url,
        "--key", str(pki / "SK_DP.pem"), "--cert", str(pki / "CERT_DP.hex"), "--profile", f"{NEW_ICCID}={TS48}"])
    try:
        yield Network(service, smsr_url, smdp, device, notified)
    finally:
        smdp.stop()
        for server in (smsr_server, mno_server):
            server.shutdown()
            server.server_close()
        smsc.close()
        device.close()
        service.close()
        store.close()
        terminal.link.close()
