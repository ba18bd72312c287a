"""ES5 functions of SGP.02 v4.2 §4.1.1 through the ISD-R's OTA channel: each success and every
refusal with its status word (SPEC_NOTES §2.2/§2.3: 6A88, 6985, 69E1, 6A84, 6A80)."""
from __future__ import annotations

import pytest

from tests.m2m import host
from tests.m2m.conftest import add_profile, set_attributes

ISDP_20 = host.isdp_aid(0x20)


def create_isdp(aid: bytes, quota: bytes | None = None, elf: bytes = host.ELF) -> bytes:
    params = bytes.fromhex("C90481020370") + (host.ber(0xEF, host.ber(0x83, quota)) if quota else b"")
    data = (bytes([len(elf)]) + elf + bytes([16]) + host.MODULE + bytes([16]) + aid
            + bytes.fromhex("0380C000") + bytes([len(params)]) + params + b"\x00")
    return bytes([0x80, 0xE6, 0x0C, 0x00, len(data)]) + data + b"\x00"


def dgi_aid(tag: int, aid: bytes) -> bytes:
    return host.store_data(host.dgi(tag, host.ber(0x4F, aid)))


def delete(aid: bytes, p2: int = 0x40) -> bytes:
    data = host.ber(0x4F, aid)
    return bytes([0x80, 0xE4, 0x00, p2, len(data)]) + data + b"\x00"


def state(card, aid):
    return card.services.profiles.get(aid)


# -- CreateISDP ---------------------------------------------------------------------------------
def test_create_isdp_with_public_vector(smsr, card):
    vector = bytes.fromhex("80E60C003F10A0000005591010FFFFFFFF8900000D0010A0000005591010FFFFFFFF8900000E00"
                           "10A0000005591010FFFFFFFF8900001300" "0380C000" "06C904810203 70" "00".replace(" ", ""))
    data, sw = smsr.one(vector)
    assert (data, sw) == (b"\x00", 0x9000)
    entry = card.services.registry.get(host.isdp_aid(0x13))
    assert entry is not None and entry.lifecycle == 0x07 and not entry.selectable


def test_create_isdp_refusals(smsr, card):
    assert smsr.one(create_isdp(ISDP_20, quota=b"\x7f\xff\xff"))[1] == 0x6A84
    assert smsr.one(create_isdp(ISDP_20, elf=bytes(16)))[1] == 0x6A88
    assert smsr.one(create_isdp(ISDP_20, quota=b"\x10\x00")) == (b"\x00", 0x9000)
    assert smsr.one(create_isdp(ISDP_20))[1] == 0x6A80            # exists already
    assert smsr.one(create_isdp(host.isdp_aid(0x01)))[1] == 0x6A80  # TAR outside the ISD-P range


# -- EnableProfile / DisableProfile ---------------------------------------------------------------
def test_enable_profile_switches_and_refreshes(smsr, card, terminal, first_isdp):
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(dgi_aid(0x3A03, second)) == (b"", 0x9000)
    assert state(card, second).state == 1 and state(card, first_isdp).state == 0
    assert card.services.registry.get(second).lifecycle == 0x3F
    refresh, = terminal.take(0x01)
    assert host.parse_tlvs(host.parse_tlvs(refresh)[0][1])[0][1][1:] == b"\x01\x04"


def test_enable_refusals(smsr, card, first_isdp):
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(dgi_aid(0x3A03, host.isdp_aid(0x99)))[1] == 0x6A88     # unknown ISD-P
    assert smsr.one(dgi_aid(0x3A03, first_isdp))[1] == 0x6985             # already enabled
    set_attributes(card, first_isdp, pol1=0x01)                              # disable not allowed
    assert smsr.one(dgi_aid(0x3A03, second))[1] == 0x69E1
    assert state(card, first_isdp).state == 1
    smsr.one(create_isdp(host.isdp_aid(0x30)))
    assert smsr.one(dgi_aid(0x3A03, host.isdp_aid(0x30)))[1] == 0x6985   # ISD-P without profile


def test_disable_profile_enables_the_fallback_profile(smsr, card, first_isdp):
    second = add_profile(card, 0x20, "8988100000000000011", fallback=True)
    assert smsr.one(dgi_aid(0x3A04, first_isdp)) == (b"", 0x9000)
    assert state(card, second).state == 1 and state(card, first_isdp).state == 0


def test_disable_refusals(smsr, card, first_isdp):
    assert smsr.one(dgi_aid(0x3A04, first_isdp))[1] == 0x6985             # no fall-back profile
    second = add_profile(card, 0x20, "8988100000000000011", fallback=True)
    assert smsr.one(dgi_aid(0x3A04, second))[1] == 0x6985                 # not enabled
    set_attributes(card, first_isdp, pol1=0x01)
    assert smsr.one(dgi_aid(0x3A04, first_isdp))[1] == 0x69E1
    assert smsr.one(dgi_aid(0x3A04, host.isdp_aid(0x77)))[1] == 0x6A88


# -- DeleteProfile ------------------------------------------------------------------------------
def test_delete_profile(smsr, card):
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(delete(second)) == (b"\x00", 0x9000)
    assert card.services.registry.get(second) is None
    assert not card.store.keys(f"fs/isdp-{second.hex().upper()}/")


@pytest.mark.parametrize("case, sw", [("enabled", 0x6985), ("fallback", 0x6985), ("pol1", 0x69E1),
                                      ("unknown", 0x6A88)])
def test_delete_refusals(smsr, card, first_isdp, case, sw):
    second = add_profile(card, 0x20, "8988100000000000011",
                         fallback=case == "fallback", pol1=0x02 if case == "pol1" else 0)
    target = {"enabled": first_isdp, "unknown": host.isdp_aid(0x55)}.get(case, second)
    assert smsr.one(delete(target))[1] == sw
    assert card.services.registry.get(second) is not None


def test_delete_when_disabled_does_not_forbid_delete(smsr, card):
    second = add_profile(card, 0x20, "8988100000000000011", pol1=0x04)
    assert smsr.one(delete(second))[1] == 0x9000


# -- attributes ----------------------------------------------------------------------------------
def test_set_fallback_attribute_moves_it(smsr, card, first_isdp):
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(dgi_aid(0x3A05, first_isdp))[1] == 0x9000
    assert smsr.one(dgi_aid(0x3A05, second))[1] == 0x9000
    assert [r.isdp_aid for r in card.services.profiles.records() if r.fallback] == [second]
    assert smsr.one(dgi_aid(0x3A05, host.isdp_aid(0x66)))[1] == 0x6A88


def test_set_emergency_attribute(smsr, card, first_isdp):
    second = add_profile(card, 0x20, "8988100000000000011")
    assert smsr.one(dgi_aid(0x3A09, second))[1] == 0x9000
    assert state(card, second).emergency
    assert smsr.one(dgi_aid(0x3A05, second))[1] == 0x6985      # emergency cannot be fall-back
    smsr.one(dgi_aid(0x3A05, first_isdp))
    assert smsr.one(dgi_aid(0x3A09, first_isdp))[1] == 0x6985  # fall-back cannot be emergency


def test_unknown_dgi_is_6a80(smsr, first_isdp):
    assert smsr.one(dgi_aid(0x3A0F, first_isdp))[1] == 0x6A80
    assert smsr.one(host.store_data(b"\x3a\x03\x05\x4f"))[1] == 0x6A80


# -- UpdateSMSRAddressingParameters ------------------------------------------------------------------
def test_update_smsr_addressing_parameters(smsr, card):
    value = host.ber(0xA3, host.ber(0x81, bytes.fromhex("0B9144872143658709F1")[0:1] + bytes.fromhex("91")
                                       + bytes.fromhex("4478123456F7")))
    assert smsr.one(host.store_data(host.dgi(0x3A07, value)))[1] == 0x9000
    stored = card.store.get("m2m/smsr-address")
    assert stored.digits == "44872143657" and stored.toa == 0x91
    assert smsr.one(host.store_data(host.dgi(0x3A07, host.ber(0xA3, host.ber(0x81, b"\x09")))))[1] == 0x6A80


# -- eUICCCapabilityAudit -------------------------------------------------------------------------
def test_capability_audit(smsr, card, pki, first_isdp):
    set_attributes(card, first_isdp, fallback=True)
    cert, sw = smsr.one(bytes.fromhex("80CABF3004 5C027F21 00".replace(" ", "")))
    ecasd_cert = dict(host.parse_tlvs(host.parse_tlvs(host.parse_tlvs(cert)[0][1])[0][1]))
    assert sw == 0x9000 and ecasd_cert[0x7F49] == host.ber(0xB0, host.point(pki.ecasd)) + host.ber(0xF0, b"\x00")
    resources, sw = smsr.one(bytes.fromhex("80CAFF2100"))
    assert sw == 0x9000 and [t for t, _ in host.parse_tlvs(host.parse_tlvs(resources)[0][1])] == [0x81, 0x82, 0x83]
    status, sw = smsr.one(bytes.fromhex("80F2400212") + host.ber(0x4F, first_isdp) + b"\x00")
    entry = dict(host.parse_tlvs(host.parse_tlvs(status)[0][1]))
    assert sw == 0x9000 and entry[0x9F70] == b"\x3f" and entry[0x53] == b"\x01"
