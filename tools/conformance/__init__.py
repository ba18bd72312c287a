"""Conformance rehearsal: SGP.23 / SGP.11-style test cases run against any eUICC on PC/SC.

Host side only: nothing here imports the card's packages (``euicc``, ``applets``); the card is
reached through a :class:`tools.conformance.transport.Transport` (PC/SC in production) and
described by a card description file (:mod:`tools.conformance.description`).
"""
