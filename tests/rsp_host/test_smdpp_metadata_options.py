"""Test SM-DP+ order options used by the conformance cases: a profile owner and PPRs in the
metadata (SGP.22 §2.9.1, StoreMetadataRequest), and a metadata ICCID that differs from the
package's (to provoke the eUICC's installFailedDueToDataMismatch)."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tools.conformance import asn1
from tools.smdpp.cli import mcc_mnc
from tools.smdpp.orders import load_upp, order_from_upp

UPP = Path(__file__).resolve().parents[2] / "euicc" / "profiles" / "data" / "default_test_profile.der"


def test_mcc_mnc_coding():
    """TS 24.008 §10.5.1.3: 001/01 -> 00 F1 10; 310/410 -> 13 00 14."""
    assert mcc_mnc("00101") == bytes.fromhex("00F110")
    assert mcc_mnc("310410") == bytes.fromhex("130014")
    for bad in ("0010", "0010123", "00a01"):
        with pytest.raises(argparse.ArgumentTypeError):
            mcc_mnc(bad)


def test_metadata_carries_owner_pprs_and_the_announced_iccid():
    order = order_from_upp("M", load_upp(UPP), ppr_ids=("ppr2",), profile_owner=bytes.fromhex("00F110"),
                           metadata_iccid="89019990001234567802")
    decoded = asn1.rsp().decode("StoreMetadataRequest", order.metadata.encode())
    assert decoded["iccid"] == bytes.fromhex("98109909002143658720")
    assert decoded["profileOwner"] == {"mccMnc": bytes.fromhex("00F110")}
    assert decoded["profilePolicyRules"] == (b"\x20", 3)
    plain = asn1.rsp().decode("StoreMetadataRequest", order_from_upp("P", load_upp(UPP)).metadata.encode())
    assert "profileOwner" not in plain and "profilePolicyRules" not in plain
    assert plain["iccid"] == bytes.fromhex("98000100000000000001")   # 89001000000000000010
