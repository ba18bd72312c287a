"""The one exception of the OTA transport parsers (TS 23.040, TS 102 223, TS 102 226)."""
from __future__ import annotations

from euicc.apdu import SW, SwError


class OtaFormatError(SwError):
    """Malformed SMS TPDU, ENVELOPE or remote APDU script.

    A :class:`SwError` (default '6A80', incorrect data) so that an ENVELOPE handler that
    does not catch it still answers with a status word; ``reason`` says what was wrong.
    """

    def __init__(self, reason: str, sw: int = SW.INCORRECT_DATA) -> None:
        super().__init__(sw)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} (SW {self.sw:04X})"
