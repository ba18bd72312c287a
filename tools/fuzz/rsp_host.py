"""Host-side RSP rig for the robustness campaigns: the LPA (tools.lpa) and the test SM-DP+
(tools.smdpp) wired together in one process, without HTTP, against any ``transmit`` callable.

SGP.22 v2.5 §3.1.3 (Profile Download and Installation) runs as ``Lpa.download``; the SM-DP+ holds
the DPauth / DPpb credentials of the test CI shipped with the card (tools/pki/test_pki, package
data, so nothing here needs /work/shared) and a UPP: the card's own packaged test profile (with
another ICCID) unless one is given.  Card code never imports this module.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from tools.lpa.activation_code import parse
from tools.lpa.es10 import Es10Client
from tools.lpa.lpa import DownloadResult, Lpa
from tools.lpa.transport import Es10Transport
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SVN_V2, SmDpPlus
from tools.smdpp.orders import iccid_ef_coding, order_from_upp, upp_iccid

ADDRESS = "smdp.robustness.example"
RIG_ICCID = "8900100000000000771"
Transmit = Callable[[bytes], bytes]


def shipped_pki() -> Path:
    return Path(str(resources.files("tools.pki").joinpath("test_pki")))


def packaged_upp(iccid: str = RIG_ICCID) -> bytes:
    """The card's packaged test UPP with ICCID `iccid` (so it can sit next to the original)."""
    upp = resources.files("euicc.profiles").joinpath("data/default_test_profile.der").read_bytes()
    return with_iccid(upp, iccid)


class InProcessEs9:
    """The ES9+ client interface of tools.lpa (JSON-shaped answers) served by an in-process
    SmDpPlus: transactionId as hex, every other member base64 (SGP.22 §6.5.1)."""

    def __init__(self, smdp: SmDpPlus) -> None:
        self.smdp = smdp

    @staticmethod
    def _json(result: dict | None) -> dict:
        out: dict = {}
        for key, value in (result or {}).items():
            out[key] = value.hex().upper() if key == "transactionId" else base64.b64encode(value).decode()
        return out

    @staticmethod
    def field(answer: dict, name: str) -> bytes:
        return base64.b64decode(answer[name])

    def initiate_authentication(self, challenge: bytes, info1: bytes, address: str) -> dict:
        return self._json(self.smdp.initiate_authentication(challenge, info1, address))

    def authenticate_client(self, transaction_id: bytes, response: bytes) -> dict:
        return self._json(self.smdp.authenticate_client(transaction_id, response))

    def get_bound_profile_package(self, transaction_id: bytes, response: bytes) -> dict:
        return self._json(self.smdp.get_bound_profile_package(transaction_id, response))

    def handle_notification(self, notification: bytes) -> None:
        self.smdp.handle_notification(notification)

    def cancel_session(self, transaction_id: bytes, response: bytes) -> dict:
        return self._json(self.smdp.cancel_session(transaction_id, response))

    def confirm_device_change(self, transaction_id: bytes, response: bytes) -> dict:
        return self._json(self.smdp.confirm_device_change(transaction_id, response))


class RspRig:
    """One SM-DP+ and one LPA over ``transmit``; ``download()`` installs a profile."""

    def __init__(self, transmit: Transmit, *, upp: bytes | None = None, notify: bool = False,
                 block_size: int = 120, svn: bytes = SVN_V2, service_provider_message: str | None = None,
                 **order_options: object) -> None:
        self.smdp = SmDpPlus(ADDRESS, load_folder(shipped_pki(), ("NIST",)), svn=svn)
        self.service_provider_message = service_provider_message
        self.order_options = order_options      # enterprise=, device_change= (SGP.22 v3.1 orders)
        self.upp = upp if upp is not None else packaged_upp()
        self.notify = notify
        self.transport = Es10Transport(transmit, block_size=block_size)
        self.lpa = Lpa(Es10Client(self.transport), es9=lambda _address: InProcessEs9(self.smdp),
                       send_notifications=False)
        self.orders = 0

    @property
    def es10(self) -> Es10Client:
        return self.lpa.es10

    def download(self, upp: bytes | None = None) -> DownloadResult:
        self.orders += 1
        matching_id = f"ROBUST-{self.orders}"
        self.smdp.add_order(order_from_upp(matching_id, upp or self.upp,
                                           notification_address=ADDRESS if self.notify else None,
                                           service_provider_message=self.service_provider_message,
                                           device_change_address=ADDRESS, **self.order_options))
        return self.lpa.download(parse(f"LPA:1${ADDRESS}${matching_id}"))


def with_iccid(upp: bytes, digits: str) -> bytes:
    """The UPP with its ICCID replaced: in the ProfileHeader (as tools.smdpp.orders.upp_iccid
    reads it) and in EF.ICCID coding (TS 102 221 §13.2): a second copy of one profile."""
    current = upp_iccid(upp)
    pairs = [(bytes.fromhex(current.ljust(20, "F")), bytes.fromhex(digits.ljust(20, "F"))),
             (iccid_ef_coding(current), iccid_ef_coding(digits))]
    if not all(old in upp for old, _ in pairs):
        raise ValueError("ICCID not found in the UPP")
    for old, new in pairs:
        upp = upp.replace(old, new)
    return upp


class StoreDataRecorder:
    """A ``transmit`` wrapper that re-assembles every STORE DATA sequence (GP §11.11: P1 b8 = last
    block) into the ES10 request it carried, in order: real traffic for fuzz seeds."""

    def __init__(self, transmit: Transmit) -> None:
        self.transmit = transmit
        self.requests: list[bytes] = []
        self._pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        if len(apdu) > 5 and apdu[0] & 0x80 and apdu[1] == 0xE2:
            self._pending += apdu[5:5 + apdu[4]]
            if apdu[2] & 0x80:
                self.requests.append(self._pending)
                self._pending = b""
        return self.transmit(apdu)
