"""euicc.rsp.der.integer: one universal INTEGER TLV read at TLV level (LoadRpmPackageRequest
``targetEsimPort``).  Known answers from X.690 (08/2015): §8.3.1 at least one contents octet,
§8.3.2 the first nine bits of a multi-octet contents neither all zero nor all one (two's
complement, §8.3.3); anything else is '6A80'."""
from __future__ import annotations

import pytest

from euicc.apdu import SwError
from euicc.rsp import der


@pytest.mark.parametrize("encoding, value", [
    ("020100", 0), ("02017F", 127), ("02020080", 128), ("020180", -128), ("0202FF7F", -129), ("0201FF", -1),
    ("02020100", 256),
])
def test_minimal_encodings(encoding, value):
    assert der.integer(bytes.fromhex(encoding)) == value


@pytest.mark.parametrize("encoding", [
    "0200",                 # §8.3.1: no contents octet
    "02020001",             # §8.3.2 b): nine zero bits
    "0202007F",
    "0202FF80",             # §8.3.2 a): nine one bits
    "0203FFFFFF",
    "020100FF",             # a byte after the TLV
    "0202FF",               # shorter than its length
], ids=["empty", "leading-zero", "leading-zero-7f", "leading-ones", "all-ones", "trailing", "truncated"])
def test_other_encodings_are_6a80(encoding):
    with pytest.raises(SwError) as refused:
        der.integer(bytes.fromhex(encoding))
    assert refused.value.sw == 0x6A80
