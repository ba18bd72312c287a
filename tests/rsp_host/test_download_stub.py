"""LPA <-> test SM-DP+ over HTTP with a stub eUICC (tests/rsp_host/stub_euicc.py, written from
SGP.22 independently of tools/ and euicc/): the complete §3.1.3 download and its error paths."""
from __future__ import annotations

import pytest

from tests.rsp_host.conftest import SGP26_EID, TS48_ICCID, make_lpa
from tools.lpa.activation_code import parse
from tools.lpa.es9plus import Es9FunctionError
from tools.lpa.lpa import DownloadError, iccid_digits
from tools.smdpp.orders import CANCELLED, FAILED, INSTALLED, order_from_upp


def ac(smdp, matching_id: str) -> str:
    return parse(f"LPA:1${smdp.address}${matching_id}")


def test_download_installs_the_ts48_profile(smdp, stub, upp):
    smdp.add_order(order_from_upp("MATCH-1", upp))
    result = make_lpa(stub.transmit).download(ac(smdp, "MATCH-1"))
    assert iccid_digits(result.iccid) == TS48_ICCID
    assert stub.profiles[0].upp == upp                      # the stub decrypted exactly the UPP
    assert result.isdp_aid == stub.profiles[0].aid
    assert result.notification_sent and stub.notifications == []   # delivered, then removed
    note = smdp.notifications[-1]
    assert note.kind == "installation-result" and note.verified
    assert smdp.orders["MATCH-1"].state == INSTALLED


def test_download_with_ppk_and_small_segments(smdp, stub, upp):
    smdp.segment_limit = 200
    smdp.add_order(order_from_upp("PPK", upp, use_ppk=True))
    make_lpa(stub.transmit).download(ac(smdp, "PPK"))
    assert stub.profiles[0].upp == upp


def test_eid_bound_order(smdp, stub, upp):
    smdp.add_order(order_from_upp("MINE", upp, eid=SGP26_EID))
    smdp.add_order(order_from_upp("OTHER", upp, eid="89049032123451234512345678901335"))
    make_lpa(stub.transmit).download(ac(smdp, "MINE"))
    with pytest.raises(Es9FunctionError) as err:
        make_lpa(stub.transmit).download(ac(smdp, "OTHER"))
    assert (err.value.subject, err.value.reason) == ("8.1.1", "3.8")


def test_unknown_matching_id_is_refused(smdp, stub):
    with pytest.raises(Es9FunctionError) as err:
        make_lpa(stub.transmit).download(ac(smdp, "NOPE"))
    assert (err.value.function, err.value.subject, err.value.reason) == ("authenticateClient", "8.2.6", "3.8")


def test_confirmation_code(smdp, stub, upp):
    smdp.add_order(order_from_upp("CC", upp, confirmation_code="1234"))
    lpa = make_lpa(stub.transmit)
    with pytest.raises(DownloadError, match="confirmation code"):
        lpa.download(ac(smdp, "CC"))
    with pytest.raises(Es9FunctionError) as err:
        lpa.download(ac(smdp, "CC"), confirmation_code="9999")
    assert (err.value.subject, err.value.reason) == ("8.2.7", "3.8")
    lpa.download(ac(smdp, "CC"), confirmation_code="1234")
    assert smdp.orders["CC"].state == INSTALLED


def test_confirmation_code_retries_exceeded(smdp, stub, upp):
    order = order_from_upp("CC", upp, confirmation_code="1234")
    order.cc_attempts_left = 1
    smdp.add_order(order)
    with pytest.raises(Es9FunctionError) as err:
        make_lpa(stub.transmit).download(ac(smdp, "CC"), confirmation_code="0000")
    assert (err.value.subject, err.value.reason) == ("8.2.7", "6.4")
    assert order.state == FAILED


def test_end_user_rejection_cancels_the_session(smdp, stub, upp):
    smdp.add_order(order_from_upp("NO", upp))
    with pytest.raises(DownloadError, match="rejected"):
        make_lpa(stub.transmit).download(ac(smdp, "NO"), accept=lambda meta: False)
    assert smdp.orders["NO"].state == CANCELLED
    assert all(s.ended for s in smdp.sessions.values())


def test_altered_segment_fails_cleanly(smdp, stub, upp, monkeypatch):
    """One byte of one 86 segment altered in transit -> the eUICC reports scp03tSecurityError(8)
    for loadProfileElements(5); the SM-DP+ records the failure from the signed result."""
    smdp.add_order(order_from_upp("BAD", upp))
    original = smdp.get_bound_profile_package

    def tamper(transaction_id, response):
        out = original(transaction_id, response)
        bpp = bytearray(out["boundProfilePackage"])
        bpp[len(bpp) - 100] ^= 0x01              # inside the last 86 segment
        return {**out, "boundProfilePackage": bytes(bpp)}

    monkeypatch.setattr(smdp, "get_bound_profile_package", tamper)
    with pytest.raises(DownloadError) as err:
        make_lpa(stub.transmit).download(ac(smdp, "BAD"))
    assert err.value.result["bppCommandId"] == 5 and err.value.result["errorReason"] == 8
    assert stub.profiles == []
    assert smdp.orders["BAD"].state == FAILED
