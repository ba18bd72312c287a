"""ES9+ over HTTP(S) with JSON: GSMA SGP.22 v2.5 §6.5 (server side).

* ``POST /gsma/rsp2/es9plus/<function>`` (§6.5.1.1), ``Content-Type: application/json``,
  request header ``X-Admin-Protocol: gsma/rsp/v<x.y.z>`` (§6.5.1.2; any 2.x is accepted).
* Binary data objects travel base64-encoded (complete DER TLVs, e.g. ``serverSignature1`` =
  ``5F37 40 ..``); ``euiccChallenge`` is the bare 16 bytes; ``transactionId`` is upper-case hex
  (§6.5.1.4).
* Every response body carries ``header.functionExecutionStatus`` {``status``: "Executed-Success"
  | "Failed", ``statusCodeData`` {subjectCode, reasonCode, message}} (§6.5.1.4);
  handleNotification answers ``204 No Content`` (§6.5.2.4).
* Malformed HTTP/JSON (not JSON, missing member, bad base64, missing X-Admin-Protocol) gets
  ``400 Bad Request`` (§6.5.1: HTTP status for transport-level errors); an unknown function 404.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tools.smdpp.certificates import KeyPair
from tools.smdpp.es9plus import Es9Error, SmDpPlus

log = logging.getLogger(__name__)

PATH_PREFIX = "/gsma/rsp2/es9plus/"
ADMIN_PROTOCOL = "gsma/rsp/v2.5.0"
ADMIN_PROTOCOL_ACCEPTED = "gsma/rsp/v2."
CONTENT_TYPE = "application/json;charset=UTF-8"
MAX_BODY = 1 << 20


class BadRequest(ValueError):
    """The request cannot be read as an ES9+ JSON request."""


def _b64(body: dict, name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"member {name!r} missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"member {name!r} is not base64") from None


def _hex(body: dict, name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"member {name!r} missing or not a string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(f"member {name!r} is not hex") from None
    if not 1 <= len(raw) <= 16:
        raise BadRequest("transactionId must be 1..16 bytes")
    return raw


def _str(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"member {name!r} missing or not a string")
    return value


def _out(result: dict) -> dict:
    """Encode a function result for JSON: transactionId as hex, every other bytes as base64."""
    out: dict = {}
    for key, value in result.items():
        if key == "transactionId":
            out[key] = value.hex().upper()
        else:
            out[key] = base64.b64encode(value).decode("ascii")
    return out


def _functions(smdp: SmDpPlus) -> dict[str, Callable[[dict], dict | None]]:
    return {
        "initiateAuthentication": lambda b: smdp.initiate_authentication(
            _b64(b, "euiccChallenge"), _b64(b, "euiccInfo1"), _str(b, "smdpAddress")),
        "authenticateClient": lambda b: smdp.authenticate_client(
            _hex(b, "transactionId"), _b64(b, "authenticateServerResponse")),
        "getBoundProfilePackage": lambda b: smdp.get_bound_profile_package(
            _hex(b, "transactionId"), _b64(b, "prepareDownloadResponse")),
        "handleNotification": lambda b: (smdp.handle_notification(_b64(b, "pendingNotification")), None)[1],
        "cancelSession": lambda b: smdp.cancel_session(
            _hex(b, "transactionId"), _b64(b, "cancelSessionResponse")),
        "confirmDeviceChange": lambda b: smdp.confirm_device_change(
            _hex(b, "transactionId"), _b64(b, "prepareDeviceChangeResponse")),
    }


def make_handler(smdp: SmDpPlus) -> type[BaseHTTPRequestHandler]:
    functions = _functions(smdp)

    class Es9PlusHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "euicc-emu-smdpp/1"

        def log_message(self, fmt: str, *args) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, status: int, body: dict | None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("X-Admin-Protocol", ADMIN_PROTOCOL)
            if body is not None:
                self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _bad(self, status: int, message: str) -> None:
            self._send(status, {"header": {"functionExecutionStatus": {
                "status": "Failed", "statusCodeData": {"subjectCode": "1.2", "reasonCode": "2.1", "message": message}}}})

        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            if not self.path.startswith(PATH_PREFIX) or self.path[len(PATH_PREFIX):] not in functions:
                self._bad(404, f"no ES9+ function at {self.path}")
                return
            name = self.path[len(PATH_PREFIX):]
            try:
                length = int(self.headers.get("Content-Length", "0"))
                if not 0 < length <= MAX_BODY:
                    raise BadRequest("missing or oversized body")
                if not self.headers.get("X-Admin-Protocol", "").startswith(ADMIN_PROTOCOL_ACCEPTED):
                    raise BadRequest("X-Admin-Protocol header missing or not gsma/rsp/v2.x")
                try:
                    body = json.loads(self.rfile.read(length))
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("body is not JSON") from None
                if not isinstance(body, dict):
                    raise BadRequest("body is not a JSON object")
                result = functions[name](body)
            except BadRequest as exc:
                self._bad(400, str(exc))
                return
            except Es9Error as exc:
                log.info("%s failed: %s", name, exc)
                self._send(200, {"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData": {
                    "subjectCode": exc.subject, "reasonCode": exc.reason, "message": exc.message}}}})
                return
            if result is None:
                self._send(204, None)
                return
            self._send(200, {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, **_out(result)})

    return Es9PlusHandler


def tls_context(tls: KeyPair) -> ssl.SSLContext:
    """Server context with CERT.DP.TLS (SGP.22 §2.6.6: TLS 1.2 at least)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    pem = tls.cert.public_bytes(serialization.Encoding.PEM) + tls.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with tempfile.TemporaryDirectory() as tmp:   # ssl loads key material from files only
        path = Path(tmp) / "tls.pem"
        path.touch(0o600)
        path.write_bytes(pem)
        ctx.load_cert_chain(str(path))
    return ctx


class Es9PlusServer:
    """The HTTP(S) server around one :class:`SmDpPlus`; ``port`` 0 picks a free port."""

    def __init__(self, smdp: SmDpPlus, host: str = "127.0.0.1", port: int = 0, tls: KeyPair | None = None) -> None:
        self.smdp = smdp
        self.httpd = ThreadingHTTPServer((host, port), make_handler(smdp))
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls_context(tls).wrap_socket(self.httpd.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> Es9PlusServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="es9plus", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Es9PlusServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
