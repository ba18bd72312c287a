"""SCP81: remote administration over HTTPS (GlobalPlatform Card Specification v2.3 Amendment B,
"Remote Application Management over HTTP"; SGP.02 v4.2 §2.4.4 for the ISD-R), built sans-I/O:

- :mod:`.trigger`: the administration session triggering parameters of a push (Amd B §3.8,
  Table 3-3) -> :class:`~.trigger.AdminSessionRequest`;
- :mod:`.psk_tls`: PSK-TLS 1.2 client (Amd B §3.3) from python-mbedtls' sans-I/O buffer;
- :mod:`.admin_http`: the HTTP/1.1 administration protocol (Amd B §3.2-§3.7) from h11;
- :mod:`.session`: one administration session, a :class:`euicc.cat.bip_port.ChannelUser`;
- the session retry policy (Amd B §3.8.3) is :class:`~.session.RetrySchedule`.

Clause numbers: §3.8.x / Table 3-3 as pySim's ``pySim/global_platform/http.py`` cites them;
the others (§3.2 flow, §3.3 TLS, §3.4 request, §3.5 response, §3.6.3 resume, §3.7 script status)
are read from Amd B v1.1's structure and not checked against the text [R].
"""
