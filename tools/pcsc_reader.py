"""Picking a PC/SC reader for the host tools (pyscard): by index, exact name or part of a name."""
from __future__ import annotations


def pick_reader(reader: str | int):
    """The pyscard reader `reader` names; LookupError (listing the readers) when there is none."""
    from smartcard.System import readers

    available = readers()
    if isinstance(reader, int) or reader.isdigit():
        index = int(reader)
        if not 0 <= index < len(available):
            raise LookupError(f"no PC/SC reader #{index} (readers: {[str(r) for r in available]})")
        return available[index]
    matches = [r for r in available if str(r) == reader] or [r for r in available if reader in str(r)]
    if not matches:
        raise LookupError(f"no PC/SC reader {reader!r} (readers: {[str(r) for r in available]})")
    return matches[0]
