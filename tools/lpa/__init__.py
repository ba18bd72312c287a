"""The LPA (host side): GSMA SGP.22 v2.5 ES9+ client (§6.5) and ES10 over STORE DATA (§5.7),
over PC/SC (pyscard) or an in-process transmit callable.  Never imported by card code.

Modules: :mod:`.transport`, :mod:`.es10`, :mod:`.es9plus`, :mod:`.activation_code`,
:mod:`.lpa` (procedures), :mod:`.cli` (``main(argv)`` / ``euicc-emu lpa``).
"""
