"""``euicc-emu conformance`` as a user runs it, in a subprocess against a card on pcscd + vpcd:
one line per case, exit status 0 when all pass and 1 on a FAIL (here: a card description whose
EID is not the card's), the JUnit and HTML files written, and the HTML rendered by headless
Chromium (Debian package ``chromium``) with its summary visible."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.e2e.pcsc_host import reader_name
from tools.conformance import description

REPO = Path(__file__).resolve().parents[2]
CASES = ["TC_eUICC_ES10c.GetEID#01", "TC_UICC_Select_MF#01", "TC_eUICC_ES10b.GetEUICCInfo1#01"]


def conformance(reader: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.cli", "conformance", "--reader", reader, *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def chromium_dom(page: Path) -> str:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.fail("chromium is not installed (Debian package chromium; sudo bash tools/setup.sh test)")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.pcsc
def test_cli_exit_status_reports_and_browser(start_card, pcscd, tmp_path):
    start_card(first_profile="test")
    reader = reader_name(pcscd)
    selection = [arg for case in CASES for arg in ("--case", case)]
    good = conformance(reader, *selection, "--junit", str(tmp_path / "r.xml"), "--html", str(tmp_path / "r.html"))
    assert good.returncode == 0, good.stdout + good.stderr
    lines = [line for line in good.stdout.splitlines() if line.startswith(("PASS", "FAIL", "INCONCLUSIVE"))]
    assert [line.split()[:2] for line in lines] == [["PASS", case] for case in CASES]
    assert ET.parse(tmp_path / "r.xml").getroot().get("tests") == "3"

    dom = chromium_dom(tmp_path / "r.html")
    assert 'id="summary"' in dom and "TC_eUICC_ES10c.GetEID#01" in dom and ">PASS<" in dom

    card = json.loads(description.DEFAULT_CARD.read_text())
    card["eid"] = "89049032000000000000000000000163"       # a valid EID, but not this card's
    card["trusted_ci"] = [str(REPO / p) for p in card["trusted_ci"]]
    card["smdp_certs"] = str(REPO / card["smdp_certs"])
    (tmp_path / "wrong.json").write_text(json.dumps(card))
    bad = conformance(reader, "--card", str(tmp_path / "wrong.json"), "--case", CASES[0])
    assert bad.returncode == 1
    assert bad.stdout.startswith(f"FAIL         {CASES[0]}  EID ")

    # an SM-DP+ under a CI the card does not trust: the download case is INCONCLUSIVE, not FAIL
    subprocess.run([sys.executable, "-m", "tools.cli", "pki", "create", "--out", str(tmp_path / "pki"),
                    "--curves", "NIST"], cwd=REPO, check=True, capture_output=True, timeout=120)
    card["eid"], card["smdp_certs"] = None, str(tmp_path / "pki")
    (tmp_path / "untrusted.json").write_text(json.dumps(card))
    case = "TC_eUICC_ES10b.AuthenticateServer#01"
    untrusted = conformance(reader, "--card", str(tmp_path / "untrusted.json"), "--case", case)
    assert untrusted.returncode == 0, untrusted.stdout + untrusted.stderr
    assert untrusted.stdout.startswith(f"INCONCLUSIVE {case}  precondition not met: the card does not trust")


def test_cli_usage_errors():
    done = subprocess.run([sys.executable, "-m", "tools.cli", "conformance", "--case", "TC_nope"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unknown case id(s): TC_nope" in done.stderr
    listed = subprocess.run([sys.executable, "-m", "tools.cli", "conformance", "--list", "--suite", "consumer"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) >= 80
