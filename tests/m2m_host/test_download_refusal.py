"""The SM-DP's reading of the ISD-P's answer to a profile package (SGP.02 §4.1.3.3): a TCA SAIP
v3.3.1 ``EUICCResponse`` (PEDefinitions, AUTOMATIC TAGS).  Known answers written here in DER by
hand from the module text: 'A0' peStatus {'30' PEStatus {'80' status, '81' identification}},
'81 00' profileInstallationAborted, '82' statusMessage."""
from __future__ import annotations

import pytest

from tools.smdp_m2m.smdp import refusal

MESSAGE = "ICCID already on the card".encode()


@pytest.mark.parametrize(("der", "reason"), [
    ("3007a0053003800100", None),                                            # ok
    ("300ca00830068001018101058100", "pe-not-supported (PE 5)"),
    ("3024a005300380010381008219" + MESSAGE.hex(), "bad-values: ICCID already on the card"),
    ("3009a00530038001008100", "profile installation aborted"),              # aborted, no failing PE
    ("0102", "not a SAIP EUICCResponse: 0102"),
])
def test_refusal_names_the_reason(der: str, reason: str | None) -> None:
    assert refusal(bytes.fromhex(der)) == reason
