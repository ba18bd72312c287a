"""A virtual AT modem (3GPP TS 27.007 SIM commands) in front of a card: :mod:`.at` (V.250 command
lines, sans I/O), :mod:`.commands` (the 27.007 commands and modem quirks), :mod:`.sim` (the MT's card
access), :mod:`.pty` (the pseudo-terminal), :mod:`.cli` (``euicc-emu modem``)."""
