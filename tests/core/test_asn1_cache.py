"""The compiled ASN.1 modules (euicc/asn1): compiled before `euicc-emu run` presents a card, and
their on-disk cache is used only when it matches (key of module texts and versions, payload digest).

Known answers: SGP.22 v2.5 §5.7.8 GetEuiccInfo1Request is ``BF20 00``; TCA SAIP v3.3.1 ``PEHeader``
{mandated NULL, identification 1} is ``30 05 80 00 81 01 01`` (X.690 DER, context tags in order)."""
from __future__ import annotations

from pathlib import Path

import pytest

import euicc.asn1 as asn1
import tools.cli_run as cli_run
from tools.cli import build_parser


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(asn1.CACHE_ENV, raising=False)
    return tmp_path / "cache" / "euicc-emu" / "asn1"


def known_answers(rsp, saip) -> None:
    assert rsp.encode("GetEuiccInfo1Request", {}) == bytes.fromhex("BF2000")
    assert saip.encode("PEHeader", {"mandated": None, "identification": 1}) == bytes.fromhex("30058000810101")


def test_second_compilation_comes_from_the_cache(cache):
    rsp = asn1._compile(asn1.RSP_MODULES)
    files = list(cache.glob("*.pickle"))
    assert len(files) == 1
    again = asn1._compile(asn1.RSP_MODULES)
    assert again is not rsp and list(cache.glob("*.pickle")) == files
    known_answers(again, asn1._compile(asn1.SAIP_MODULES))


@pytest.mark.parametrize("damage", ["payload", "key", "truncated"])
def test_a_cache_file_that_does_not_match_is_not_used(cache, damage, monkeypatch):
    asn1._compile(asn1.RSP_MODULES)
    (path,) = cache.glob("*.pickle")
    key, digest, payload = path.read_bytes().split(b"\n", 2)
    if damage == "payload":
        payload = payload[:100] + bytes([payload[100] ^ 1]) + payload[101:]
    elif damage == "key":
        key = b"0" * 64
    else:
        payload = payload[: len(payload) // 2]
    path.write_bytes(key + b"\n" + digest + b"\n" + payload)
    compiled = []
    real = asn1.asn1tools.compile_string
    monkeypatch.setattr(asn1.asn1tools, "compile_string", lambda *a, **k: compiled.append(1) or real(*a, **k))
    spec = asn1._compile(asn1.RSP_MODULES)
    assert compiled == [1]                                          # compiled afresh, not unpickled
    assert spec.encode("GetEuiccInfo1Request", {}) == bytes.fromhex("BF2000")
    assert path.read_bytes().split(b"\n", 1)[0] == path.stem.encode()   # and the file replaced


def test_cache_off(cache, monkeypatch):
    monkeypatch.setenv(asn1.CACHE_ENV, "off")
    known_answers(asn1._compile(asn1.RSP_MODULES), asn1._compile(asn1.SAIP_MODULES))
    assert not cache.exists()


def test_card_process_compiles_asn1_before_it_serves(cache, tmp_path, monkeypatch):
    """`euicc-emu run` has both specifications compiled when it starts serving vpcd (the moment
    the card appears in PC/SC), whatever the new card's first profile needed."""
    seen = []

    class Runner:
        def __init__(self, connections) -> None:
            self.connections = connections

        def serve_until_signalled(self) -> int:
            seen.append((asn1.rsp.cache_info().currsize, asn1.saip.cache_info().currsize))
            return 0

    monkeypatch.setattr(cli_run, "BridgeRunner", Runner)
    asn1.rsp.cache_clear()
    asn1.saip.cache_clear()
    args = build_parser().parse_args(["run", "--state", str(tmp_path / "card.state"), "--vpcd-port", "1",
                                      "--slot", "0", "--first-profile", "minimal"])
    assert cli_run.run(args) == 0
    assert seen == [(1, 1)]
