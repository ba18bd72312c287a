"""Known-answer vectors and small public test data kept in the repository (see SOURCES.md).

``section(name)`` is one section of the reference ``test_vectors.json``; ``cases(...)`` turns a
list of its vectors into ``pytest.param``s with readable ids, so a parametrized test runs once per
vector and a failure names the vector.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import pytest

from tests.reference import require

HERE = Path(__file__).parent
DATA = HERE / "data"
SGP26 = DATA / "sgp26"
"""GSMA SGP.26 "Variant O" test PKI (certificates and keys, NIST and BRP), reference layout."""
ASN1 = DATA / "asn1"
"""ASN.1 modules as published (``sgp22/``, ``saip/``), for decoders independent of the card's copy."""
TS48_V7 = HERE.parent / "ota" / "data" / "TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"
"""GSMA TS.48 v7.0 BERTLV_SUCI package (reference ``profiles/ts48-v7/``), copied for the OTA tests."""
TS48_V7_ICCID = "89000123456789012341"
TS48_PACKAGES = (
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der",
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI_NoRAMRFM.der",
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV.der",
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV_NoRAMRFM.der",
    "pysim-unique/TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der",
    "pysim-unique/TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V5-SAIP2-1A-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V5-SAIP2-1B-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V4-SAIP2-3-BERTLV-UNIQUE.der",
    "pysim-unique/TS48V4-SAIP2-3-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V4-SAIP2-1A-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V4-SAIP2-1B-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V2-SAIP2-1-NOBERTLV-UNIQUE.der",
    "pysim-unique/TS48V2-SAIP2-3-BERTLV-UNIQUE.der",
    "ts48-v5-original/TS48v5_SAIP2.3_BERTLV_SUCI.der",
)
"""The reference folder's TS.48 packages (its README section 2 table), relative to ``profiles/``."""


def ts48_package(rel: str) -> Path:
    """A TS.48 package by its ``profiles/``-relative name: the repository copy of the v7
    BERTLV_SUCI package, the others from the reference folder (the test skips when absent)."""
    if rel == "ts48-v7/" + TS48_V7.name:
        return TS48_V7
    return require(f"profiles/{rel}")


@cache
def vectors() -> dict:
    """The whole ``test_vectors.json``."""
    return json.loads((DATA / "vectors" / "test_vectors.json").read_text())


def section(name: str) -> dict:
    return vectors()[name]


def slug(text: str) -> str:
    """A test id from a vector's name: letters, digits and single '-'."""
    return re.sub(r"[^0-9A-Za-z_.*]+", "-", text).strip("-")


def cases(items: Iterable, ident: Callable[[object], str]) -> list:
    """One ``pytest.param`` per vector, its id given by ``ident(vector)``."""
    params = [pytest.param(item, id=slug(ident(item))) for item in items]
    ids = [p.id for p in params]
    assert len(set(ids)) == len(ids), f"vector ids are not unique: {ids}"
    return params
