"""Host side of the end-to-end tests: pcscd control, the card process, and a T=0 APDU helper.

Written from the specs (ISO 7816-3 §10.3.3 / TS 102 221 §7.3.1: ``61xx`` -> GET RESPONSE,
``6Cxx`` -> repeat with Le = xx) without any card code, so that it checks the card independently.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
VPCD_BASE_PORT = 35963
REPO = Path(__file__).resolve().parents[2]


class PcscUnavailable(Exception):
    """pcscd/vpcd/pyscard missing or not running; `skippable` only when not root and pcscd absent."""

    def __init__(self, message: str, skippable: bool = False) -> None:
        super().__init__(message)
        self.skippable = skippable


def pcscd_running() -> bool:
    return PCSCD_SOCKET.is_socket() and subprocess.run(["pgrep", "-x", "pcscd"], capture_output=True).returncode == 0


def check_installed() -> None:
    root = os.geteuid() == 0
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        raise PcscUnavailable("pcscd is not installed (run: sudo bash tools/setup.sh test)", skippable=not root)
    if not VPCD_DRIVER.exists():
        raise PcscUnavailable(f"vsmartcard-vpcd is not installed ({VPCD_DRIVER} missing; run: sudo bash tools/setup.sh test)")
    try:
        import smartcard  # noqa: F401
    except ImportError as exc:
        raise PcscUnavailable(f"pyscard is not importable ({exc}); pip install -e '.[test]'") from exc


def start_pcscd() -> subprocess.Popen | None:
    """Start pcscd in the foreground when it is not running; return the process we started."""
    if pcscd_running():
        return None
    if os.geteuid() != 0:
        raise PcscUnavailable("pcscd is installed but not running, and starting it needs root "
                              "(run: sudo bash tools/setup.sh test)")
    proc = subprocess.Popen(["pcscd", "--foreground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not pcscd_running():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise PcscUnavailable("pcscd did not start (no /run/pcscd/pcscd.comm after 10 s)")
        time.sleep(0.1)
    return proc


def reader_name(slot: int) -> str:
    """ifd-vpcd registers slot N as "Virtual PCD 00 0N" (pcsc-lite names: FRIENDLYNAME + 2-digit ids)."""
    return f"Virtual PCD 00 {slot:02d}"


def find_reader(slot: int):
    from smartcard.System import readers

    for reader in readers():
        if str(reader) == reader_name(slot):
            return reader
    raise PcscUnavailable(f"pcscd has no reader {reader_name(slot)!r}: is vsmartcard-vpcd configured "
                          "(/etc/reader.conf.d/vpcd) and pcscd restarted after installing it?")


def card_present(slot: int) -> bool:
    from smartcard.Exceptions import CardConnectionException, NoCardException

    conn = find_reader(slot).createConnection()
    try:
        conn.connect()
    except (NoCardException, CardConnectionException):
        return False
    conn.disconnect()
    return True


class CardProcess:
    """``euicc-emu run`` as a subprocess on one vpcd slot."""

    def __init__(self, state: Path, slot: int, log: Path, extra: list[str] | None = None,
                 first_profile: str = "minimal") -> None:
        self.state, self.slot, self.log = state, slot, log
        cmd = [sys.executable, "-m", "tools.cli", "run", "--state", str(state), "--slot", str(slot),
               "--log-level", "DEBUG", "--first-profile", first_profile, *(extra or [])]
        self._log_file = open(log, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not card_present(self.slot):
            if self.proc.poll() is not None:
                raise AssertionError(f"euicc-emu exited with {self.proc.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"card did not appear in {reader_name(self.slot)} within {timeout} s:\n{self.log_text()}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Stop the process and wait until pcscd has seen the card go; once only (a later call, e.g.
        the fixture's after a test restarted the card on the same slot, must not wait for that)."""
        if self._log_file.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        deadline = time.monotonic() + 10.0   # until pcscd has seen the card go: the slot is free
        while card_present(self.slot) and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.proc.returncode != 0:
            print(f"euicc-emu on slot {self.slot} exited with {self.proc.returncode}:\n{self.log_text()}")
        return self.proc.returncode

    def log_text(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")


class T0Link:
    """A pyscard connection speaking T=0 like an LPA: handles 61xx and 6Cxx (TS 102 221 §7.3.1)."""

    def __init__(self, slot: int) -> None:
        from smartcard.CardConnection import CardConnection

        self.conn = find_reader(slot).createConnection()
        self.conn.connect(CardConnection.T0_protocol)

    @property
    def atr(self) -> bytes:
        return bytes(self.conn.getATR())

    def raw(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw1, sw2 = self.conn.transmit(list(apdu))
        return bytes(data), (sw1 << 8) | sw2

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.raw(apdu)
        if sw >> 8 == 0x6C:  # wrong Le: repeat with the exact length
            data, sw = self.raw(apdu[:4] + bytes([sw & 0xFF]))
        while sw >> 8 == 0x61:  # response data waiting: GET RESPONSE on the same channel
            more, sw = self.raw(bytes([apdu[0] & 0x03 if apdu[0] & 0x40 == 0 else apdu[0] & 0x4F, 0xC0, 0, 0, sw & 0xFF]))
            data += more
        return data, sw

    def close(self) -> None:
        """Disconnect; a card already gone (process stopped) is not an error here."""
        from smartcard.Exceptions import CardConnectionException

        try:
            self.conn.disconnect()
        except CardConnectionException:
            pass

