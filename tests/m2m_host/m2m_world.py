"""Test world of the SGP.02 host tools: a card with an M2M identity, a terminal, SM-SR(s), an SM-DP.

The PKI, the world and the life-cycle scenario are host code (:mod:`tools.smsr.lifecycle`); the
card's M2M identity is written into its store the way an EUM personalises it
(:func:`tools.bench.m2m_bench.personalise`, the only place these tests touch card internals).
"""
from __future__ import annotations

import json

from tests.vectors import TS48_V7 as TS48
from tools.bench.m2m_bench import isdr_keyset, personalise
from tools.smsr.lifecycle import Pki, World
from tools.smsr.lifecycle import connect as connect_link
from tools.terminal.link import CallableLink

__all__ = ["TS48", "Pki", "World", "connect", "personalise"]


def connect(transmit, reset, pki: Pki) -> World:
    return connect_link(CallableLink(transmit, reset), isdr_keyset(), pki)


# -- the command-line tools as a user chains them (in-process or through PC/SC) ------------------
DEFAULT_KIC, DEFAULT_KID = "000102030405060708090A0B0C0D0E0F", "101112131415161718191A1B1C1D1E1F"
"""The default card's documented ISD-R key set 01 (README / euicc/m2m/personalization.py docstring)."""


def invoke_cli(capsys, argv: list[str]) -> tuple[int, str]:
    """``euicc-emu ARGV`` in process (console script tools.cli:main): exit status and stdout."""
    from tools.cli import main

    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().out


def audit_states(out: str) -> dict[str, str]:
    """AID -> state from the lines of ``smsr audit``."""
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("A0000005591010")}


def duplicate_iccid_download(capsys, pki_dir, reader: list[str]) -> None:
    """SGP.02 §3.1.3 / §4.1.3.3: the second download of the TS.48 profile (same ICCID) into an
    existing ISD-P is refused by the card with a SAIP EUICCResponse (bad-values, statusMessage);
    the SM-DP says why and has the ISD-P deleted (ES3.DeleteISDP -> ES5 DELETE), so the audit
    no longer lists it and the EIS file keeps no keys for it; the first profile is untouched."""
    from tools.cli import main

    run = lambda argv: invoke_cli(capsys, argv)  # noqa: E731
    assert run(["smsr", "pki", "--out", str(pki_dir)])[0] == 0
    eis = str(pki_dir / "eis.json")
    smsr = ["smsr", "--eis", eis, *reader]
    download = ["smdp-m2m", "--eis", eis, *reader, "download", "--key", str(pki_dir / "SK_DP.pem"), "--cert",
                str(pki_dir / "CERT_DP.hex"), "--isdp"]
    first = run([*smsr, "create-isdp"])[1].split()[1]
    assert run([*download, first, str(TS48)])[0] == 0
    second = run([*smsr, "create-isdp"])[1].split()[1]
    capsys.readouterr()
    assert main([*download, second, str(TS48)]) == 1
    err = capsys.readouterr().err
    assert "ICCID already on the card" in err and "bad-values" in err and "deleted" in err
    assert "data error" not in err
    status, out = run([*smsr, "audit"])
    states = audit_states(out)
    assert status == 0 and second.upper() not in states and states[first.upper()] == "DISABLED"
    doc = json.loads((pki_dir / "eis.json").read_text())
    keyed = {i["isdp_aid"] for i in doc["smdp"]["isdps"]}
    assert first.upper() in keyed and second.upper() not in keyed
    assert second.upper() not in {p["isdp_aid"] for p in doc["profiles"]}


def cli_life_cycle(run, pki_dir, reader: list[str]) -> None:
    """audit, create-isdp, smdp-m2m download of TS.48, update-connectivity, set-fallback, enable with
    its notification confirmed, terminal location none (Fall-Back, SGP.02 §3.18) with its notification,
    change-smsr (§3.8) after which the old key set is refused, master-delete with the SM-DP's token
    (§3.9) - each as a separate command line sharing one EIS file; ``run(argv) -> (status, stdout)``."""
    eis = str(pki_dir / "eis.json")
    smsr = ["smsr", "--eis", eis, *reader]
    status, out = run(["smsr", "pki", "--out", str(pki_dir)])
    assert status == 0 and "eis.json" in out
    status, out = run([*smsr, "audit"])
    assert status == 0, out
    states = audit_states(out)
    original = next(aid for aid, state in states.items() if state == "ENABLED")
    status, out = run([*smsr, "create-isdp"])
    assert status == 0 and out.startswith("created ")
    isdp = out.split()[1]
    assert audit_states(run([*smsr, "audit"])[1])[isdp] == "SELECTABLE"          # SGP.02 §4.1.1.1
    status, out = run(["smdp-m2m", "--eis", eis, *reader, "download", "--key", str(pki_dir / "SK_DP.pem"),
                       "--cert", str(pki_dir / "CERT_DP.hex"), "--eum-key", str(pki_dir / "PK_EUM.pem"),
                       "--isdp", isdp, str(TS48)])
    assert status == 0 and f"ISD-P {isdp}" in out, out
    assert audit_states(run([*smsr, "audit"])[1])[isdp] == "DISABLED"            # installed, §4.1.3.3
    assert run(["smdp-m2m", "--eis", eis, *reader, "update-connectivity", isdp, "--smsc", "33689924111"])[0] == 0
    assert run([*smsr, "set-fallback", original])[0] == 0
    assert run([*smsr, "enable", isdp])[0] == 0
    status, out = run([*smsr, "notifications"])
    assert status == 0 and "confirmed profile change succeeded seq" in out and isdp in out   # type '02'
    states = audit_states(run([*smsr, "audit"])[1])
    assert (states[isdp], states[original]) == ("ENABLED", "DISABLED")
    status, out = run(["terminal", *reader, "location", "none"])                 # network loss
    assert status == 0 and "SW 9000" in out
    status, out = run([*smsr, "notifications"])
    assert status == 0 and "confirmed profile change after fall-back" in out and original in out  # '05'
    states = audit_states(run([*smsr, "audit"])[1])
    assert (states[isdp], states[original]) == ("DISABLED", "ENABLED")
    status, out = run([*smsr, "change-smsr", "--new-key", str(pki_dir / "SK_SR2.pem"), "--new-cert",
                       str(pki_dir / "CERT_SR2.hex"), "--ci-key", str(pki_dir / "PK_CI.pem"),
                       "--eum-key", str(pki_dir / "PK_EUM.pem")])
    assert status == 0 and "new ISD-R key set: --kvn 2" in out, out
    status, _ = run(["smsr", *reader, "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID, "--counter", "1000", "audit"])
    assert status == 1                                                             # old keys deleted
    assert run([*smsr, "audit"])[0] == 0                                           # the new SM-SR's work
    status, token = run(["smdp-m2m", "--eis", eis, "master-delete-token", isdp])
    assert status == 0 and len(bytes.fromhex(token.strip())) == 16
    status, out = run([*smsr, "master-delete", isdp, "--token", token.strip()])
    assert status == 0, out
    assert isdp not in audit_states(run([*smsr, "audit"])[1])
