"""Fixtures: a fresh in-process card personalised for SGP.02 with a test PKI generated here, a
controllable clock, the terminal and the SM-SR's OTA server (host side in tests/m2m/host.py)."""
from __future__ import annotations

import pytest

from euicc.composition import open_card
from euicc.crypto.ecka import Curve, EckaKeyPair
from euicc.m2m.personalization import personalize
from euicc.m2m.records import OtaKeySet, SmsrAddress
from euicc.m2m.runtime import M2mRuntime
from euicc.m2m.settings import M2mSettings
from tests.m2m import host
from tools.ota import packet as ota

KIC = bytes.fromhex("11223344556677889900AABBCCDDEEFF")
KID = bytes.fromhex("FFEEDDCCBBAA00998877665544332211")
DEK = bytes.fromhex("0F0E0D0C0B0A09080706050403020100")
SMSR_DIGITS = "4477001122"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def pki() -> host.Pki:
    return host.Pki()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> M2mSettings:
    return M2mSettings()


@pytest.fixture
def card(pki, clock, settings):
    card = open_card(None, m2m=M2mRuntime(settings=settings, clock=clock))
    store = card.store
    with store.transaction():
        ecasd = EckaKeyPair.from_private_value(
            Curve.NIST_P256, pki.ecasd.private_numbers().private_value.to_bytes(32, "big"))
        personalize(store, keysets=(OtaKeySet(0x01, KIC, KID, DEK),), ecasd=ecasd,
                    ecasd_cert=pki.cert(pki.ecasd, 0x03, issuer=pki.eum),
                    ci_curve=Curve.NIST_P256, ci_point=host.point(pki.ci),
                    smsr_address=SmsrAddress(0x91, SMSR_DIGITS))
    return card


@pytest.fixture
def terminal(card) -> host.Terminal:
    t = host.Terminal(card)
    t.terminal_profile()
    return t


@pytest.fixture
def smsr(terminal) -> host.OtaServer:
    return host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, KIC, ota.AES, KID))


@pytest.fixture
def first_isdp(card) -> bytes:
    """The ISD-P of the card's provisioned (enabled) test profile."""
    return card.services.profiles.enabled().isdp_aid


def add_profile(card, tar: int, iccid: str, **attributes) -> bytes:
    """Test set-up: a second installed (Disabled) profile in ISD-P `tar` with a default file system."""
    from dataclasses import replace

    from euicc.fs import default_fs
    from euicc.fs.filesystem import FileSystem
    from euicc.profiles.manager import fsid_of
    from euicc.profiles.model import ProfileRecord, iccid_bytes
    profiles = card.services.profiles
    with card.store.transaction():
        aid = profiles.create_isdp(host.isdp_aid(tar))
        sub = default_fs.Subscription(iccid=iccid)
        default_fs.build(FileSystem(card.store, fsid_of(aid)), sub)
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=iccid_bytes(default_fs.luhn(iccid)),
                                           fsid=fsid_of(aid)))
        if attributes:
            profiles.update(replace(profiles.get(aid), **attributes))
    return aid


def set_attributes(card, aid: bytes, **attributes) -> None:
    from dataclasses import replace
    with card.store.transaction():
        card.services.profiles.update(replace(card.services.profiles.get(aid), **attributes))
