"""EID check digits (SGP.29 / ISO 7064 MOD 97-10) against the published example EIDs."""
from __future__ import annotations

import pytest

from tools.pki import eid

PUBLISHED = ["89049032123451234512345678901235",  # SGP.26 / SGP.23 #EID1
             "89049044900000000000000000102355"]  # sysmoEUICC1-C2T (pySim cardinfo)


@pytest.mark.parametrize("value", PUBLISHED)
def test_published_eids(value):
    assert eid.is_valid(value)
    assert eid.check_digits(value[:30]) == value[30:]
    assert eid.complete(value[:30]) == value


@pytest.mark.parametrize("value", [PUBLISHED[0][:30] + "36", PUBLISHED[1][:31], PUBLISHED[1] + "0",
                                   "8904904490000000000000000010235x", ""])
def test_invalid_eids(value):
    assert not eid.is_valid(value)


def test_from_prefix():
    value = eid.from_prefix("89049032", 163)
    assert value[:30] == "890490320000000000000000000163"
    assert len(value) == 32 and eid.is_valid(value)


@pytest.mark.parametrize("call", [lambda: eid.check_digits("123"), lambda: eid.from_prefix("8" * 31),
                                  lambda: eid.from_prefix("89049032", 10 ** 23)])
def test_errors(call):
    with pytest.raises(eid.EidError):
        call()
