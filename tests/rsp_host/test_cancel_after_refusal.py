"""ES9+.CancelSession after the SM-DP+ refused the order (SGP.22 v2.5 §5.6.5, §3.0.1 Common Cancel
Session procedure), through real HTTP on loopback with the real card's signatures: the LPA ends the
card's session (ES10b.CancelSession, §5.7.14) and forwards the signed euiccCancelSessionSigned;
the SM-DP+ must verify it with the eUICC key authenticated in AuthenticateClient although that call
(or GetBoundProfilePackage) was refused.  Subject/reason codes from SGP.22 §5.6.3 / §5.6.2."""
from __future__ import annotations

import pytest

from euicc.asn1 import rsp
from euicc.composition import open_card
from tests.rsp_host.conftest import make_lpa
from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient
from tools.lpa.lpa import hash_cc
from tools.smdpp.orders import FAILED, RELEASED, order_from_upp

END_USER_REJECTION, POSTPONED = 0, 1                    # CancelSessionReason
MATCHING_ID_REFUSED = ("8.2.6", "3.8")                  # §5.6.3 Matching ID refused
CC_REFUSED = ("8.2.7", "3.8")                           # §5.6.2 Confirmation Code refused


def authenticated(smdp, matching_id: str):
    """InitiateAuthentication, ES10b.AuthenticateServer and AuthenticateClient (as an LPA)."""
    lpa = make_lpa(open_card(None).transmit)
    lpa.es10.transport.open()
    client = Es9PlusClient(smdp.address, use_tls=False)
    init = client.initiate_authentication(lpa.es10.get_euicc_challenge(), lpa.es10.get_euicc_info1(), smdp.address)
    txid = bytes.fromhex(init["transactionId"])
    ctx = rsp().encode("CtxParams1", ("ctxParamsForCommonAuthentication", {
        "matchingId": matching_id, "deviceInfo": {"tac": b"\x35\x29\x06\x11", "deviceCapabilities": {}}}))
    auth = lpa.es10.authenticate_server(client.field(init, "serverSigned1"), client.field(init, "serverSignature1"),
                                        client.field(init, "euiccCiPKIdToBeUsed"),
                                        client.field(init, "serverCertificate"), ctx)
    return lpa, client, txid, auth


def test_cancel_session_after_refused_authenticate_client(card_smdp):
    lpa, client, txid, auth = authenticated(card_smdp, "NO-SUCH-ORDER")
    with pytest.raises(Es9FunctionError) as err:
        client.authenticate_client(txid, auth)
    assert (err.value.subject, err.value.reason) == MATCHING_ID_REFUSED
    assert client.cancel_session(txid, lpa.es10.cancel_session(txid, END_USER_REJECTION)) is not None
    assert card_smdp.sessions[txid].ended


def wrong_confirmation_code(smdp, upp, matching_id: str):
    """An order with confirmation code 1234, prepared on the card with 9999 (SGP.22 §5.7.5)."""
    smdp.add_order(order_from_upp(matching_id, upp, confirmation_code="1234"))
    lpa, client, txid, auth = authenticated(smdp, matching_id)
    answer = client.authenticate_client(txid, auth)
    prepared = lpa.es10.prepare_download(client.field(answer, "smdpSigned2"), client.field(answer, "smdpSignature2"),
                                         client.field(answer, "smdpCertificate"), hash_cc("9999", txid))
    return lpa, client, txid, prepared


def test_cancel_session_after_refused_get_bound_profile_package(card_smdp, upp):
    lpa, client, txid, prepared = wrong_confirmation_code(card_smdp, upp, "CC-ORDER")
    with pytest.raises(Es9FunctionError) as err:
        client.get_bound_profile_package(txid, prepared)
    assert (err.value.subject, err.value.reason) == CC_REFUSED
    client.cancel_session(txid, lpa.es10.cancel_session(txid, POSTPONED))
    assert card_smdp.sessions[txid].ended and card_smdp.orders["CC-ORDER"].state == RELEASED


def test_postponing_does_not_revive_an_order_that_failed(card_smdp, upp):
    """After too many wrong confirmation codes the order is terminated (§5.6.2); a later
    CancelSession 'postponed' (§5.6.5: back to Released) must not release it again."""
    lpa, client, txid, prepared = wrong_confirmation_code(card_smdp, upp, "CC-FAIL")
    for _ in range(3):
        with pytest.raises(Es9FunctionError):
            client.get_bound_profile_package(txid, prepared)
    assert card_smdp.orders["CC-FAIL"].state == FAILED
    client.cancel_session(txid, lpa.es10.cancel_session(txid, POSTPONED))
    assert card_smdp.sessions[txid].ended and card_smdp.orders["CC-FAIL"].state == FAILED
