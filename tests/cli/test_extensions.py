"""``--extensions`` chooses the card's functions (euicc.composition): a consumer-only card made
in a state file, read back by ``euicc-emu info`` with the same choice, refused in one line by a
card opened with both, and an unknown name is a usage error (exit 2)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from euicc.composition import open_card

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EUICC_EXTENSIONS"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_consumer_only_card_is_read_with_its_extensions_and_refused_without(tmp_path):
    state = tmp_path / "card.state"
    open_card(state, extensions=["rsp"], first_profile="minimal").close()
    shown = _cli("info", "--state", str(state), "--extensions", "rsp", "--json")
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["eid"]) == 32
    refused = _cli("info", "--state", str(state))          # default: rsp and m2m
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"euicc-emu: {state}: not a complete card: no m2m/ecasd/ecka, m2m/ecasd/cert, m2m/ci record"]


def test_an_unknown_extension_is_a_usage_error(tmp_path):
    result = _cli("info", "--state", str(tmp_path / "card.state"), "--extensions", "rsp,iot")
    assert result.returncode == 2
    assert "unknown extension iot; choose from rsp, m2m" in result.stderr
