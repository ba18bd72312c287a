"""Robustness campaigns for the card (issue #6): atheris fuzz harnesses and their runner.

Commands (``python -m tools.fuzz ...``)::

    list                                   the harnesses
    run [--seconds-per-harness N] [--harness NAME]...   bounded run, results in build/fuzz/results.json
    campaign --seconds-per-harness 28800   the long campaign (restarts a harness after a crash)
    seeds                                  regenerate the seed corpus from the reference data folder
    report [--run-tests]                   inputs fuzzed, crashes, power-cut points, refusals

Layout: ``invariants`` (valid status words, state-change and memory rules checked on every
input), ``card_targets`` (Card.transmit, APDU sequences, remote APDU scripts, vpcd frames),
``codec_targets`` (APDU, BER-TLV, SCP80, SMS/ENVELOPE, certificates, SAIP, BSP), ``rsp_targets``
(ES10 over STORE DATA on a logical channel), ``m2m_targets`` (SGP.02 ES5 scripts behind valid SCP80
packets, ES8 data in an SCP03t session), ``rsp_host`` (in-process LPA + SM-DP+ rig: ES10
seeds, power-cut and state-machine tests), ``harnesses``
(the registry and seed builders), ``seeds`` (corpus writer), ``runner`` (atheris subprocesses),
``atheris_main`` (the subprocess entry), ``report``.

Adding a parser or command (e.g. ES10 STORE DATA, ES5 over SCP80) takes one entry:

1. write the target — a callable taking one ``bytes`` input that lets only the parser's
   documented exception pass silently and raises ``InvariantViolation`` when a result is wrong
   (card commands need no new target: their APDUs are seeds of ``card_apdu``/``card_session``);
2. write a seed function returning valid traffic for it (real commands, published vectors);
3. add ``Harness("name", target_factory, seed_function, "summary")`` to ``HARNESSES`` in
   harnesses.py, run ``python -m tools.fuzz seeds --harness name`` and commit the corpus.

A new status word a spec defines goes into ``invariants.EXTRA_VALID_SW`` with its clause.
The CI smoke test (tests/robustness/test_fuzz_smoke.py) picks every registered harness up.
"""
