"""Fuzz targets of the card's SCP81 administration agent (GP Amd B): TLS records from the server
(python-mbedtls behind :class:`euicc.ota.scp81.psk_tls.PskTlsClient`) and HTTP administration
responses (h11 behind :class:`euicc.ota.scp81.admin_http.AdminHttpClient`).

Invariants, stated independently of the agent: bytes that are not the server's handshake under
the PSK never establish a session (the Finished MAC, RFC 5246 §7.4.9, cannot be forged); an
administration response is accepted only with ``X-Admin-Protocol`` (Amd B §3.5), and a script's
target only as ``//aid/<RID>/<PIX>``; everything else is the documented failure, never a traceback.
"""
from __future__ import annotations

from euicc.ota.scp81.admin_http import AdminHttpClient, AdminProtocolError, CommandScript
from euicc.ota.scp81.psk_tls import PskTlsClient, TlsFailure
from euicc.ota.scp81.settings import Scp81Settings
from tools.fuzz.card_targets import join_chunks, split_chunks
from tools.fuzz.invariants import InvariantViolation

PSK = bytes(range(16))


def tls_records_target(data: bytes) -> None:
    """Server bytes after the ClientHello, delivered in the chunks the input chooses."""
    client = PskTlsClient(b"fuzz", PSK, Scp81Settings().cipher_suites)
    client.start()
    client.outgoing()
    try:
        for chunk in split_chunks(data):
            client.feed(chunk)
            for _ in client.records():
                client.outgoing()
    except TlsFailure:
        return
    if client.established:
        raise InvariantViolation("a TLS session was established without the server's Finished under the PSK")


def admin_http_target(data: bytes) -> None:
    """A server's answer to the agent's first POST."""
    client = AdminHttpClient("smsr.test", "//se-id/eid/00", max_body=0x400)
    client.post("/admin")
    chunks = split_chunks(data)
    stream = b"".join(chunks)
    try:
        for chunk in chunks:
            response = client.received(chunk)
            if response is None:
                continue
            head = stream.split(b"\r\n\r\n", 1)[0].lower()
            if b"x-admin-protocol" not in head:
                raise InvariantViolation("a response without X-Admin-Protocol was accepted")
            if isinstance(response, CommandScript) and response.target is not None and \
                    b"x-admin-targeted-application: //aid/" not in head:
                raise InvariantViolation("a target not given as //aid/<RID>/<PIX> was accepted")
            return
    except AdminProtocolError:
        return


def tls_seeds() -> list[bytes]:
    """A real server flight (ServerHello .. ServerHelloDone, mbedtls server with the PSK), an
    alert, an oversized record header, garbage."""
    from mbedtls import tls
    config = dict(ciphers=Scp81Settings().cipher_suites, validate_certificates=False,
                  lowest_supported_version=tls.TLSVersion.TLSv1_2, highest_supported_version=tls.TLSVersion.TLSv1_2)
    client = tls.ClientContext(tls.TLSConfiguration(pre_shared_key=("fuzz", PSK), **config)).wrap_buffers(None)
    server = tls.ServerContext(tls.TLSConfiguration(pre_shared_key_store={"fuzz": PSK}, **config)).wrap_buffers()
    flight = b""
    for side, peer in ((client, server), (server, client)):
        for _ in range(8):
            try:
                side.do_handshake()
            except (tls.WantReadError, tls.WantWriteError):
                pass
            out = side.peek_outgoing(1 << 16)
            if out:
                side.consume_outgoing(len(out))
                peer.receive_from_network(out)
                if side is server:
                    flight += out
    return [join_chunks([flight]), join_chunks([flight[:7], flight[7:]]), join_chunks([bytes.fromhex("15030300020228")]),
            join_chunks([bytes.fromhex("16030348000000")]), join_chunks([bytes(64)])]


def http_seeds() -> list[bytes]:
    ok = (b"HTTP/1.1 200 OK\r\nX-Admin-Protocol: globalplatform-remote-admin/1.0\r\n"
          b"Content-Type: application/vnd.globalplatform.card-content-mgt;version=1.0\r\n"
          b"X-Admin-Next-URI: /next\r\nX-Admin-Targeted-Application: //aid/A000000559/1010FFFFFFFF8900000100\r\n"
          b"Transfer-Encoding: chunked\r\n\r\nA\r\n\xae\x80\x22\x04\x80\xca\x00\x5a\x00\x00\r\n0\r\n\r\n")
    end = b"HTTP/1.1 204 No Content\r\nX-Admin-Protocol: globalplatform-remote-admin/1.0\r\n\r\n"
    return [join_chunks([ok]), join_chunks([ok[:50], ok[50:]]), join_chunks([end]), join_chunks([ok[:-12]]),
            join_chunks([ok.replace(b"A\r\n", b"FFFFFFFF\r\n", 1)])]
