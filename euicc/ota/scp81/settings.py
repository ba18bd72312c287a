"""Settings of the card's SCP81 administration agent (GP Amd B): the defaults used when a trigger
carries no parameter of its own (the minimal trigger '81 00', Amd B §3.8) and the limits of the
agent.  Values no public source fixes are marked [U]; they are settings, not constants.
"""
from __future__ import annotations

from dataclasses import dataclass

# TLS 1.2 PSK cipher suites (RFC 5487 names, mbedtls spelling).  Amd B v1.1.3 §3.3 requires
# TLS_PSK_WITH_AES_128_CBC_SHA256 and lists TLS_PSK_WITH_AES_128_GCM_SHA256; SGP.02 §2.4.4 names
# both (SPEC_NOTES §3.2).
PSK_AES_128_GCM_SHA256 = "TLS-PSK-WITH-AES-128-GCM-SHA256"
PSK_AES_128_CBC_SHA256 = "TLS-PSK-WITH-AES-128-CBC-SHA256"
FAILURE_REPORTS = ("sms", "none")


@dataclass(frozen=True)
class Scp81Settings:
    """Emulator choices for the administration agent.

    - ``cipher_suites``: offered in this order (Amd B §3.3, SGP.02 §2.4.4).
    - ``psk_kvns``: key version numbers of SCP81 key sets ('40'-'4F': SPEC_NOTES §3.4 after
      pySim's put_key tutorial and NJIWA-B's key-set limits); a trigger naming another is refused.
    - ``psk_key_id``: the key identifier of the PSK inside its key set when the trigger names
      none [U: '01', WHTY's FinaliseISDRhandover deletes SCP81 keys 01-02: PSK then DEK].
    - ``admin_host`` / ``admin_uri`` / ``port``: the HTTP POST parameters and the TCP port used
      when the trigger has none [U: Amd B leaves them to the card issuer].
    - ``retry_counter`` / ``retry_delay``: the default session retry policy (Amd B §3.8.3)
      [U: no retry by default].
    - ``max_body``: the largest administration response (a command script) the agent accepts; a
      bigger one fails the session before anything runs [U].
    - ``resume_header``: send ``X-Admin-Resume: true`` in the first POST of a retried session
      (Amd B §3.6.3) [R].
    - ``failure_report``: what the agent does with the retry policy's failure report data once
      the last retry of a session the server asked for failed (Amd B §3.8.3) [U: the clause's
      text could not be read; "sms": sent to the SM-SR as the secured data of an ISD-R Command
      Packet by SEND SHORT MESSAGE, as SGP.02 notifications go; "none": only logged].
    """

    cipher_suites: tuple[str, ...] = (PSK_AES_128_CBC_SHA256, PSK_AES_128_GCM_SHA256)
    psk_kvns: range = range(0x40, 0x50)
    psk_key_id: int = 0x01
    admin_host: str = "smsr.invalid"
    admin_uri: str = "/gsma/adminagent"
    port: int = 443
    retry_counter: int = 0
    retry_delay: int = 60
    max_body: int = 0x10000
    resume_header: bool = True
    failure_report: str = "sms"

    def __post_init__(self) -> None:
        if self.failure_report not in FAILURE_REPORTS:
            raise ValueError(f"failure_report {self.failure_report!r} not in {FAILURE_REPORTS}")
