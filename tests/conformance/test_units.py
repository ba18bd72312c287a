"""Pieces of the conformance runner that need no card: TLV reading, the card description, the
ATR protocol parser, OID contents, the reports (JUnit parsed back with xml.etree), and the rule
that the runner never imports the card's packages."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import asn1tools
import pytest

from tools import ber_tlv as tlv
from tools.conformance import description, m2m, m2m_cat, report_html, report_junit, runner
from tools.conformance.download import oid_body
from tools.conformance.gp import offered_protocols
from tools.conformance.m2m_cat import open_packet
from tools.conformance.m2m_es8 import with_pol1
from tools.conformance.model import CaseResult, Exchange, Fail, Step, Verdict
from tools.conformance.session import Session
from tools.ota.packet import AES, OtaKeyset, build_command_packet

REPO = Path(__file__).resolve().parents[2]


def test_the_runner_never_imports_the_card():
    """tools/conformance and everything it imports, all case modules loaded, in a fresh interpreter:
    neither the card's packages nor the project's SM-SR / SM-DP tools (which use the card's TLV code)."""
    code = ("import sys, tools.conformance.cli, tools.conformance.mutation, tools.conformance.report_html;"
            "from tools.conformance import runner; runner.load_cases();"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('euicc', 'applets')"
            " or m.startswith(('tools.smsr', 'tools.smdp_m2m', 'tools.m2m_services'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_at_least_80_cases_each_with_a_mutation():
    cases = runner.load_cases()
    assert len(cases) >= 80
    assert all(c.mutation.description and callable(c.mutation.matches) for c in cases.values())
    assert {c.suite for c in cases.values()} <= set(runner.SUITES)


def test_tlv_reader():
    assert tlv.split(bytes.fromhex("5A02AABB9F7001019F")[:-1]) == [(0x5A, b"\xaa\xbb"), (0x9F70, b"\x01")]
    assert tlv.split(bytes.fromhex("81820001") + b"\x00") == [(0x81, b"\x00")]
    assert tlv.encode(0xBF2D, bytes(200))[:5] == bytes.fromhex("BF2D81C8") + b"\x00"
    for bad in ("5A03AABB", "1F", "5A", "5A84000000"):
        with pytest.raises(tlv.TlvError):
            tlv.split(bytes.fromhex(bad))


def test_atr_protocols():
    """ISO/IEC 7816-3 §8.2.3: no TD1 = T=0 only; TD1 = 80 offers T=0, TD2 = 31 adds T=1."""
    assert offered_protocols(bytes.fromhex("3B00")) == {0}
    assert offered_protocols(bytes.fromhex("3B9F96801FC78031E073FE211B63")) == {0, 15}
    assert offered_protocols(bytes.fromhex("3B8080010101")) == {0, 1}


def test_oid_contents():
    """X.690 §8.19.5 example-style values: 2.999.10 -> 88 37 0A; 1.2.840.114283.1 (GP)."""
    assert oid_body("2.999.10") == bytes.fromhex("88370A")
    assert oid_body("1.2.840.114283.1") == bytes.fromhex("2A864886FC6B01")


def test_default_description():
    card = description.load()
    assert card.svn == (2, 5, 0) and card.scp03["kvn"] == 0x30 and card.pins["pin1"] == "0000"
    assert len(card.trusted_ci_pkids()) == 2 and all(len(k) == 20 for k in card.trusted_ci_pkids())
    assert card.m2m_ci_key.is_file() and card.m2m_eum_certificate.is_file() and card.m2m_smdp_key is None
    assert card.m2m_pol1_disabling_not_allowed == 0x01


def test_pol1_goes_into_the_profile_header():
    """with_pol1 puts ProfileHeader.pol (SAIP PE_Definitions v3.3.1, AUTOMATIC TAGS [4]) into a
    package, replacing one that is there, the other elements untouched: decoded back with asn1tools."""
    pe = asn1tools.compile_files([str(REPO / "euicc" / "asn1" / "PE_Definitions-3.3.1.asn")], codec="der")
    header = {"major-version": 2, "minor-version": 3, "profileType": "test", "iccid": bytes.fromhex("89019990001234567828"),
              "eUICC-Mandatory-services": {}, "eUICC-Mandatory-GFSTEList": [], "connectivityParameters": b"\x01"}
    end = pe.encode("ProfileElement", ("end", {"end-header": {"identification": 99}}))
    package = pe.encode("ProfileElement", ("header", header)) + end
    changed = with_pol1(package, 0x01)
    kind, value = pe.decode("ProfileElement", changed[:len(changed) - len(end)])
    assert kind == "header" and value == {**header, "pol": b"\x01"} and changed.endswith(end)
    again = with_pol1(changed, 0x04)
    assert pe.decode("ProfileElement", again[:len(again) - len(end)])[1]["pol"] == b"\x04"
    with pytest.raises(ValueError):
        with_pol1(end, 0x01)


def test_the_shipped_template_loads():
    card = description.load(Path(description.__file__).parent / "cards" / "template.toml")
    assert card.name == "my test eUICC" and card.scp80 is None and card.usim["imsi"] == "001010000000001"
    assert all(path.is_file() for path in card.trusted_ci)


def test_toml_description_and_errors(tmp_path):
    path = tmp_path / "card.toml"
    path.write_text('name = "lab card"\nsvn = "2.2.2"\n[scp03]\nkvn = "31"\nenc = "00112233445566778899AABBCCDDEEFF"\n')
    card = description.load(path)
    assert card.svn == (2, 2, 2) and card.scp03 == {"kvn": 0x31, "enc": bytes.fromhex("00112233445566778899AABBCCDDEEFF")}
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x", "scp03": {"enc": "XYZ"}}))
    with pytest.raises(description.DescriptionError):
        description.load(tmp_path / "bad.json")
    with pytest.raises(description.DescriptionError):
        description.load(tmp_path / "missing.json")


def results() -> list[CaseResult]:
    cases = list(runner.load_cases().values())[:3]
    step = Step("SELECT <ISD-R>", [Exchange(bytes.fromhex("00A40400"), bytes.fromhex("9000"))], ["note & <b>"])
    return [CaseResult(cases[0], Verdict.PASS, "as specified", [step], 0.5),
            CaseResult(cases[1], Verdict.FAIL, "SW 6A80, expected <6700>", [step], 0.25),
            CaseResult(cases[2], Verdict.INCONCLUSIVE, "precondition not met: x", [], 0.0)]


def test_junit_parses_back(tmp_path):
    report_junit.write(results(), tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "1"
    cases = root.findall("./testsuite/testcase")
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    assert cases[1].find("failure").get("message") == "SW 6A80, expected <6700>"
    assert cases[2].find("skipped") is not None
    assert ">> 00A40400" in cases[0].find("system-out").text


def test_html_is_escaped_and_self_contained():
    page = report_html.render(results(), "card <x>", "Virtual PCD 00 01")
    assert "SELECT &lt;ISD-R&gt;" in page and "note &amp; &lt;b&gt;" in page and "card &lt;x&gt;" in page
    assert "<script" not in page and "http" not in page.split("<body>")[1]
    assert page.count('class="FAIL"') >= 2


def test_notification_packet_opens_with_the_described_keys():
    """A Command Packet built by tools.ota (TS 102 225 §5.1.1, SPI '06 00': CC, ciphered, no
    counter check) to the ISD-R TAR opens with the default description's SCP80 keys; a flipped
    ciphered byte or another TAR is a FAIL; the description carries the validity period."""
    card = description.load()
    assert card.m2m_validity_period == 180
    keys = OtaKeyset(card.scp80.kvn, AES, card.scp80.kic, AES, card.scp80.kid)
    body = bytes.fromhex("E10D4C0489049032 4D0102 4E020007".replace(" ", ""))
    packet = build_command_packet(keys, bytes.fromhex("0600"), bytes.fromhex("000001"), body)
    session = Session(next(iter(runner.load_cases().values())), None, card)
    assert open_packet(session, packet) == body
    for bad in (packet[:-1] + bytes([packet[-1] ^ 1]), packet[:7] + bytes.fromhex("00FFFE") + packet[10:]):
        with pytest.raises(Fail):
            open_packet(session, bad)


class ScriptedCard:
    """A transport answering from a script of (expected command prefix, answer) pairs, in order."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script, self.sent = [(bytes.fromhex(c), bytes.fromhex(a)) for c, a in script], []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        expected, answer = self.script.pop(0)
        assert apdu.startswith(expected), apdu.hex()
        return answer


def test_terminal_profile_then_set_up_event_list_answered():
    """A card that asks for SET UP EVENT LIST (location status, TS 102 223 §6.6.16) after TERMINAL
    PROFILE: the runner fetches it and answers 'performed successfully' (§6.8, result '00') as a
    terminal does; a card that asks for nothing is left alone."""
    setup_event_list = "D00C810301050082028182990103"
    card = ScriptedCard([("80100000", "910E"), ("801200000E", setup_event_list + "9000"),
                         ("801400000C810301050082028281830100", "9000")])
    m2m.start(Session(next(iter(runner.load_cases().values())), card, description.load()))
    assert not card.script
    quiet = ScriptedCard([("80100000", "9000")])
    m2m.start(Session(next(iter(runner.load_cases().values())), quiet, description.load()))
    assert not quiet.script and len(quiet.sent) == 1


REFRESH_COMMAND = "D009810301010082028182"                # TS 102 223 §6.6.13: REFRESH, qualifier 00
TERMINAL_RESPONSE = "801400000C810301010082028281830100"   # §6.8: same details, ME -> UICC, result '00'


def test_es10_answered_91xx_is_success_and_the_proactive_command_is_answered():
    """STORE DATA answered '91xx' (TS 102 221 §7.4.2.2: done, a proactive command pending): the ES10
    response is the data, the runner FETCHes and answers 'performed successfully' as a terminal does,
    and keeps the command for the case; another status word is still a FAIL."""
    card = ScriptedCard([("80AA", "9000"), ("0070000001", "019000"), ("01A40400", "9000"),
                         ("81E29100", "BF3E035A01AA910B"), ("801200000B", REFRESH_COMMAND + "9000"),
                         (TERMINAL_RESPONSE, "9000")])
    s = Session(next(iter(runner.load_cases().values())), card, description.load())
    assert s.es10_raw(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E035A01AA")
    assert not card.script and card.sent[-1] == bytes.fromhex(TERMINAL_RESPONSE)
    assert [p.type for p in s.proactive] == [0x01]
    refused = ScriptedCard([("81E29100", "6A80")])
    s.es10_channel = 1
    s.transport = refused
    with pytest.raises(Fail):
        s.es10_raw(bytes.fromhex("BF3E035C015A"))


def test_location_status_gives_the_commands_fetched_after_es5_first():
    """Proactive commands fetched after an ES5 ENVELOPE answered '91xx' are the case's to see with
    the next location status report (e.g. the REFRESH of a profile switch, SGP.02 §3.2.1)."""
    card = ScriptedCard([("80C20000", "9000")])
    s = Session(next(iter(runner.load_cases().values())), card, description.load())
    s.proactive = [m2m_cat.Proactive(0x01, {})]
    assert [p.type for p in m2m_cat.location_status(s, m2m_cat.NORMAL_SERVICE)] == [0x01]
    assert s.proactive == [] and not card.script


def test_multipart_script_each_parts_91xx_is_fetched_before_the_next_part():
    """A script in two SMS-DELIVER parts (TS 31.115 concatenation) whose first ENVELOPE the card
    answers '91xx' (TS 102 221 §7.4.2.2): the runner FETCHes and answers the proactive command
    before it sends the second part, and keeps it for the case; the last part's answer is then
    read for the PoR (none here: a FAIL).  Another status word on an earlier part is a FAIL."""
    long_apdu = bytes.fromhex("80E29100") + bytes([200]) + bytes(200)
    card = ScriptedCard([("80C20000", "910B"), ("801200000B", REFRESH_COMMAND + "9000"),
                         (TERMINAL_RESPONSE, "9000"), ("80C20000", "9000")])
    s = Session(next(iter(runner.load_cases().values())), card, description.load())
    with pytest.raises(Fail, match="no PoR"):
        m2m.send_packet(s, [long_apdu], counter=1)
    assert not card.script and [a[:2] for a in card.sent] == [b"\x80\xC2", b"\x80\x12", b"\x80\x14", b"\x80\xC2"]
    assert [p.type for p in s.proactive] == [0x01]
    refused = ScriptedCard([("80C20000", "6F00")])
    s = Session(next(iter(runner.load_cases().values())), refused, description.load())
    with pytest.raises(Fail, match="part 1/2"):
        m2m.send_packet(s, [long_apdu], counter=1)
