"""Services a run needs besides the card: the project's test SM-DP+ (``euicc-emu smdpp serve``)
as a subprocess on a loopback port, and the profile packages it serves (made with
``euicc-emu profile build`` from published test values).

Subprocesses keep the runner's own process free of the card's packages; the SM-DP+ is started
on first use and stopped by :meth:`Environment.close`.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tools.conformance.description import REPO, CardDescription

# SGP.23 Annex E "operational profile 1" ICCID (SPEC_NOTES §4.1) and a test IMSI of PLMN 001/01
DOWNLOAD_ICCID = "89019990001234567893"
DOWNLOAD_IMSI = "001010123456789"
TS35208_K, TS35208_OPC = "465b5ce8b199b49faa5f0a2ee238a6bc", "cd63cb71954a9f4e48a5994e37a02baf"
CONFIRMATION_CODE = "12345678"
MISMATCH_ICCID = "89019990001234567802"   # announced in the metadata of the "mismatch" SM-DP+
PPRS = ("ppr1", "ppr2")                  # the rules the RAT governs (SGP.22 §2.9.1, §2.9.2.2)
PPR_ICCID = "89019990001234567810"       # the profile the "ppr1"/"ppr2" SM-DP+ serves
POL1_ICCID = "89019990001234567828"      # the profile the runner downloads with POL1 over SGP.02 ES8
ORDERS = 300         # one matching ID per download attempt of a run (mutation checks run each case twice)
START_TIMEOUT = 30.0


class EnvironmentError_(RuntimeError):
    """A service of the run could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmdpServer:
    """One running test SM-DP+ and the matching IDs not used yet."""

    address: str
    process: subprocess.Popen
    matching_ids: list[str]
    exists_id: str = ""

    def next_matching_id(self) -> str:
        if not self.matching_ids:
            raise EnvironmentError_("the test SM-DP+ has no download order left")
        return self.matching_ids.pop(0)


@dataclass
class Environment:
    description: CardDescription
    workdir: Path
    servers: dict[str, SmdpServer] = field(default_factory=dict)
    scp80_counter: int = 0

    def next_scp80_counter(self) -> int:
        """A counter above any earlier run's (tenths of seconds since the epoch, then +1 per packet),
        for SPI "counter must be higher" (TS 102 225 §5.1.1) on a card whose last counter is unknown."""
        self.scp80_counter = max(self.scp80_counter + 1, int(time.time() * 10))
        return self.scp80_counter

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tools.cli", *args]

    def upp(self, iccid: str, imsi: str) -> Path:
        """A profile package with ``iccid`` (TS 35.208 test set 1 keys, TS.48 PINs by default)."""
        out = self.workdir / f"upp-{iccid}.der"
        if not out.exists():
            done = subprocess.run(self._cli("profile", "build", "--iccid", iccid, "--imsi", imsi, "--k", TS35208_K,
                                            "--opc", TS35208_OPC, "--out", str(out)),
                                  cwd=REPO, capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                raise EnvironmentError_(f"profile build failed: {done.stderr or done.stdout}")
        return out

    def m2m_smdp(self) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        """SK.DP.ECDSA and CERT.DP.ECDSA (GP '7F21') for SGP.02 ES8: the card description's, or one
        ``euicc-emu smsr pki --ci-key`` certifies with the description's test CI key."""
        card, folder = self.description, self.workdir / "m2m-pki"
        key_file, cert_file = card.m2m_smdp_key, card.m2m_smdp_certificate
        if key_file is None or cert_file is None:
            if card.m2m_ci_key is None:
                raise EnvironmentError_("the card description names no SM-DP (m2m_smdp_key, m2m_smdp_certificate) "
                                        "nor a test CI key (m2m_ci_key)")
            if not (folder / "CERT_DP.hex").exists():
                done = subprocess.run(self._cli("smsr", "pki", "--out", str(folder), "--ci-key", str(card.m2m_ci_key)),
                                      cwd=REPO, capture_output=True, text=True, timeout=120)
                if done.returncode != 0:
                    raise EnvironmentError_(f"smsr pki failed: {done.stderr or done.stdout}")
            key_file, cert_file = folder / "SK_DP.pem", folder / "CERT_DP.hex"
        try:
            key = serialization.load_pem_private_key(key_file.read_bytes(), None)
            certificate = bytes.fromhex(cert_file.read_text())
        except (OSError, ValueError, TypeError) as exc:
            raise EnvironmentError_(f"the SM-DP's key or certificate: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise EnvironmentError_(f"{key_file}: not an EC private key")
        return key, certificate

    def eum_key(self) -> ec.EllipticCurvePublicKey | None:
        """The EUM's public key (from the description's X.509 certificate, DER or PEM, or PEM key)."""
        path = self.description.m2m_eum_certificate
        if path is None:
            return None
        data = path.read_bytes()
        for load in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
            try:
                key = load(data).public_key()
                break
            except ValueError:
                continue
        else:
            key = serialization.load_pem_public_key(data)
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise EnvironmentError_(f"{path}: not an EC key")
        return key

    def smdp(self, kind: str = "plain") -> SmdpServer:
        """The SM-DP+ ``plain`` (no confirmation code), ``cc`` (confirmation code required),
        ``mismatch`` (metadata announcing :data:`MISMATCH_ICCID`) or ``ppr1``/``ppr2``/``ppr3``
        (metadata with that profile policy rule)."""
        if kind in self.servers:
            return self.servers[kind]
        if self.description.smdp_certs is None:
            raise EnvironmentError_("the card description names no SM-DP+ certificate folder (smdp_certs)")
        upp = self.upp(PPR_ICCID if kind in PPRS else DOWNLOAD_ICCID, DOWNLOAD_IMSI)
        port = free_port()
        ids = [f"CONF-{kind.upper()}-{n:02d}" for n in range(ORDERS)]
        args = ["smdpp", "serve", "--port", str(port), "--certs", str(self.description.smdp_certs),
                "--notification-address", f"127.0.0.1:{port}"]
        for matching_id in ids:
            args += ["--upp", str(upp), "--matching-id", matching_id]
        exists_id = ""
        if kind == "plain" and self.description.iccid:
            exists_id = "CONF-EXISTS"
            args += ["--upp", str(self.upp(self.description.iccid, DOWNLOAD_IMSI)), "--matching-id", exists_id]
        if kind == "cc":
            args += ["--confirmation-code", CONFIRMATION_CODE]
        elif kind == "mismatch":
            args += ["--metadata-iccid", MISMATCH_ICCID]
        elif kind in PPRS:
            args += ["--ppr", kind, "--profile-owner", DOWNLOAD_IMSI[:5]]
        elif kind != "plain":
            raise EnvironmentError_(f"no SM-DP+ kind {kind!r}")
        log = open(self.workdir / f"smdpp-{kind}.log", "ab")
        process = subprocess.Popen(self._cli("--log-level", "WARNING", *args), cwd=REPO, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise EnvironmentError_(f"the test SM-DP+ did not start: "
                                            f"{(self.workdir / f'smdpp-{kind}.log').read_text(errors='replace')}")
                time.sleep(0.1)
        self.servers[kind] = SmdpServer(f"127.0.0.1:{port}", process, ids, exists_id)
        return self.servers[kind]

    def close(self) -> None:
        for server in self.servers.values():
            server.process.terminate()
            try:
                server.process.wait(10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        self.servers.clear()
