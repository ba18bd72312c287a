"""Fixtures: SGP.26 test credentials, TS.48 profiles, a running test SM-DP+ and a stub eUICC."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.rsp_host.stub_euicc import StubEuicc
from tests.vectors import SGP26, TS48_V7 as TS48, TS48_V7_ICCID as TS48_ICCID
from tools.lpa.es9plus import Es9PlusClient
from tools.lpa.es10 import Es10Client
from tools.lpa.lpa import Lpa
from tools.lpa.transport import Es10Transport
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer

SGP26_EID = "89049032123451234512345678901235"


@pytest.fixture(scope="session")
def upp() -> bytes:
    return TS48.read_bytes()


@pytest.fixture(scope="session")
def credentials():
    return load_folder(SGP26, ("NIST",))


def make_stub(tag: str = "NIST") -> StubEuicc:
    key = serialization.load_pem_private_key((SGP26 / f"eUICC/SK_EUICC_ECDSA_{tag}.pem").read_bytes(), None)
    return StubEuicc(key, (SGP26 / f"eUICC/CERT_EUICC_ECDSA_{tag}.der").read_bytes(),
                     (SGP26 / f"EUM/CERT_EUM_ECDSA_{tag}.der").read_bytes(),
                     x509.load_der_x509_certificate((SGP26 / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der").read_bytes()),
                     bytes.fromhex(SGP26_EID))


@pytest.fixture
def stub() -> StubEuicc:
    return make_stub()


@pytest.fixture
def smdp(credentials):
    """A test SM-DP+ on a free port of 127.0.0.1 (plain HTTP); address = 127.0.0.1:<port>."""
    server = Es9PlusServer(SmDpPlus("placeholder", credentials))
    server.smdp.address = f"127.0.0.1:{server.port}"
    with server:
        yield server.smdp


#: The test CI hierarchy shipped with the card (data only): a new card's identity chains to it.
SHIPPED_PKI = Path(__file__).resolve().parents[2] / "tools" / "pki" / "test_pki"


@pytest.fixture
def card_smdp():
    """A test SM-DP+ holding the DPauth/DPpb certificates of the card's shipped test CI."""
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(SHIPPED_PKI, ("NIST",))))
    server.smdp.address = f"127.0.0.1:{server.port}"
    with server:
        yield server.smdp


def make_lpa(transmit) -> Lpa:
    return Lpa(Es10Client(Es10Transport(transmit)), es9=lambda addr: Es9PlusClient(addr, use_tls=False))


# PC/SC end-to-end fixtures (pcscd, `euicc-emu run` on the test slot) are shared with tests/e2e.
from tests.pcsc_fixtures import SLOT as PCSC_SLOT  # noqa: E402,F401
