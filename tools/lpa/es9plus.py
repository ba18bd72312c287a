"""ES9+ client of the LPA: GSMA SGP.22 v2.5 §6.5 HTTP/JSON binding (LPA side).

``POST {scheme}://{SM-DP+ address}/gsma/rsp2/es9plus/<function>`` with
``Content-Type: application/json;charset=UTF-8``, ``X-Admin-Protocol: gsma/rsp/v2.5.0`` and
``User-Agent`` (§6.5.1.2); binary members base64, ``transactionId`` hex (§6.5.1.4).  HTTPS by
default (SGP.22 §2.6.6); plain HTTP only when asked (tests on 127.0.0.1).
"""
from __future__ import annotations

import base64
import http.client
import json
import ssl
from dataclasses import dataclass

ADMIN_PROTOCOL = "gsma/rsp/v2.5.0"
USER_AGENT = "euicc-emu-lpa/1"
TIMEOUT = 30.0


class Es9TransportError(Exception):
    """HTTP-level failure (connection, non-2xx status, body not JSON)."""


class Es9FunctionError(Exception):
    """header.functionExecutionStatus.status was 'Failed' (§6.5.1.4)."""

    def __init__(self, function: str, subject: str, reason: str, message: str) -> None:
        super().__init__(f"{function}: {subject}/{reason} {message}")
        self.function, self.subject, self.reason, self.message = function, subject, reason, message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Es9PlusClient:
    """One SM-DP+ address; ``use_tls`` False = plain HTTP."""

    address: str
    use_tls: bool = True
    ssl_context: ssl.SSLContext | None = None

    def post(self, function: str, body: dict) -> dict:
        host, _, port = self.address.partition(":")
        if self.use_tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, int(port) if port else 443, timeout=TIMEOUT, context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(host, int(port) if port else 80, timeout=TIMEOUT)
        payload = json.dumps(body).encode()
        try:
            conn.request("POST", f"/gsma/rsp2/es9plus/{function}", payload, {
                "Content-Type": "application/json;charset=UTF-8", "X-Admin-Protocol": ADMIN_PROTOCOL,
                "User-Agent": USER_AGENT, "Accept": "application/json"})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise Es9TransportError(f"{function}: {exc}") from exc
        finally:
            conn.close()
        if response.status == 204:
            return {}
        try:
            answer = json.loads(data)
            status = answer["header"]["functionExecutionStatus"]
        except (ValueError, KeyError, TypeError):
            raise Es9TransportError(f"{function}: HTTP {response.status}, body not an ES9+ response") from None
        if status.get("status") != "Executed-Success":
            code = status.get("statusCodeData", {})
            raise Es9FunctionError(function, code.get("subjectCode", "?"), code.get("reasonCode", "?"),
                                   code.get("message", ""))
        if response.status != 200:
            raise Es9TransportError(f"{function}: HTTP {response.status}")
        return answer

    @staticmethod
    def field(answer: dict, name: str) -> bytes:
        """A base64 member of a response, decoded."""
        try:
            return base64.b64decode(answer[name], validate=True)
        except (KeyError, ValueError, TypeError):
            raise Es9TransportError(f"response member {name!r} missing or not base64") from None

    def initiate_authentication(self, euicc_challenge: bytes, euicc_info1: bytes, smdp_address: str) -> dict:
        return self.post("initiateAuthentication", {"euiccChallenge": b64(euicc_challenge),
                                                    "euiccInfo1": b64(euicc_info1), "smdpAddress": smdp_address})

    def authenticate_client(self, transaction_id: bytes, authenticate_server_response: bytes) -> dict:
        return self.post("authenticateClient", {"transactionId": transaction_id.hex().upper(),
                                                "authenticateServerResponse": b64(authenticate_server_response)})

    def get_bound_profile_package(self, transaction_id: bytes, prepare_download_response: bytes) -> dict:
        return self.post("getBoundProfilePackage", {"transactionId": transaction_id.hex().upper(),
                                                    "prepareDownloadResponse": b64(prepare_download_response)})

    def confirm_device_change(self, transaction_id: bytes, prepare_device_change_response: bytes) -> dict:
        """ES9+.ConfirmDeviceChange (SGP.22 v3.1)."""
        return self.post("confirmDeviceChange", {"transactionId": transaction_id.hex().upper(),
                                                 "prepareDeviceChangeResponse": b64(prepare_device_change_response)})

    def handle_notification(self, pending_notification: bytes) -> None:
        self.post("handleNotification", {"pendingNotification": b64(pending_notification)})

    def cancel_session(self, transaction_id: bytes, cancel_session_response: bytes) -> dict:
        return self.post("cancelSession", {"transactionId": transaction_id.hex().upper(),
                                           "cancelSessionResponse": b64(cancel_session_response)})
