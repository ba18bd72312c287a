"""The Answer-to-Reset the card presents, and the transmission protocols it offers
(ISO/IEC 7816-3 §8.2, ETSI TS 102 221 §6.3).

Three built-in ATRs differ only in the protocols their TDi bytes indicate; each comes with the way
response data is delivered (:class:`Interface`):

* ``t0`` (the default): T=0 only, as test eUICCs such as sysmoEUICC1 present themselves.  pcsc-lite
  then connects with T=0, which T=0-only clients (pySim-shell, lpac) require; data comes with
  ``61xx`` + GET RESPONSE and ``6Cxx`` (TS 102 221 §7.3.1.1.4).
* ``t0-t1``: T=0 and T=1, as many commercial UICCs.  pcsc-lite negotiates T=1 when the client
  accepts it (a T=0-only client then fails with "protocol mismatch"); delivery stays T=0-style,
  the way UICCs answer on either protocol.
* ``t1``: T=1 only; a T=1 card sends the data with the command (ISO 7816-3 §11), so delivery is
  direct: no ``61xx`` for cases 3/4, no ``6Cxx`` (only responses over 256 bytes are chained).

The interface bytes: TA1 = '96' (Fi 512, Di 32), the protocol TDi bytes, then TD = 'xF' (T=15)
with TA = 'C7' (clock stop, no preference; classes A, B and C, TS 102 221 §6.3).  Historical
bytes (ISO 7816-4 §8.1.1): '80' category; '31 E0' card service data (selection by full/partial DF
name, EF.DIR); '73 FE 21 5F' card capabilities (selection methods; data coding; extended Lc/Le,
channel assignment by card and by terminal, 8 or more logical channels).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

HISTORICAL = bytes.fromhex("8031E073FE215F")


def with_tck(atr_without_tck: bytes) -> bytes:
    """Append TCK, the XOR of T0 .. the last historical byte (ISO 7816-3 §8.2.5).

    TCK is present in every ATR here: it is absent only when T=0 alone is indicated, and the
    T=0-only ATR also indicates T=15 (its global interface bytes), which requires it ("if T=0 and
    T=15 are present and in all the other cases, TCK shall be present")."""
    return atr_without_tck + bytes((reduce(lambda a, b: a ^ b, atr_without_tck[1:], 0),))


def _atr(protocol_bytes: str, tb15: int | None = None) -> bytes:
    """TS '3B', T0 '97' (TA1, TD1; 7 historical bytes), TA1, the TDi bytes, TA(T=15) and, when
    given, the first TB for T=15 (its TD then says so: '3F' instead of '1F'), history."""
    if tb15 is None:
        return with_tck(bytes.fromhex("3B9796" + protocol_bytes + "C7") + HISTORICAL)
    indicated = protocol_bytes[:-2] + "3F"
    return with_tck(bytes.fromhex("3B9796" + indicated + "C7") + bytes((tb15,)) + HISTORICAL)


ATR_T0 = _atr("801F")       # TD1 '80' T=0, TD2 '1F' T=15
ATR_T0_T1 = _atr("80811F")  # TD1 '80' T=0, TD2 '81' T=1, TD3 '1F' T=15
ATR_T1 = _atr("811F")       # TD1 '81' T=1, TD2 '1F' T=15


@dataclass(frozen=True)
class Interface:
    """An ATR and the response delivery that goes with the protocols it offers."""

    atr: bytes
    t0_delivery: bool   # 61xx / 6Cxx (TS 102 221 §7.3.1.1.4); False: data with the command
    use: str            # what it is for (shown by ``euicc-emu run --help``)


INTERFACES = {
    "t0": Interface(ATR_T0, True, "T=0 only, like sysmoEUICC1 (default; pySim-shell, lpac)"),
    "t0-t1": Interface(ATR_T0_T1, True, "T=0 and T=1 like many UICCs; pcsc-lite picks T=1 "
                                        "when the client allows it; 61xx/6Cxx delivery"),
    "t1": Interface(ATR_T1, False, "T=1 only; response data directly with the command"),
}
DEFAULT_INTERFACE = "t0"
DEFAULT_ATR = INTERFACES[DEFAULT_INTERFACE].atr

TB15_EUICC_LSI = 0x83
"""[U] First TB for T=15 of a card with logical SE interfaces (TS 102 221 V17 §7.5: LSI support
"shall be indicated in the ATR"): b8 set, b2 eUICC, b1 LSIs, as Android's ATR parser reads them
(the clause's table was not at hand)."""
_WITH_LSI = {ATR_T0: _atr("801F", TB15_EUICC_LSI), ATR_T0_T1: _atr("80811F", TB15_EUICC_LSI),
             ATR_T1: _atr("811F", TB15_EUICC_LSI)}


def presented(atr: bytes | None, lsi: bool) -> bytes:
    """The ATR the card sends: `atr` (None: the default) and, for a card with LSIs (`lsi`), a
    built-in ATR with the first TB for T=15 indicating them; an ATR given whole is sent as it is."""
    chosen = atr or DEFAULT_ATR
    return _WITH_LSI.get(chosen, chosen) if lsi else chosen
