"""Host-side test PKI for SGP.22 (CI, EUM, eUICC, SM-DP+ certificates) and EID utilities.

``tools.pki.cli.main(argv)`` is the command line (``python -m tools.pki``), mountable as
``euicc-emu pki ...``.  Never imported by card code.
"""
