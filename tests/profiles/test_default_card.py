"""The out-of-the-box card (issue: the default card carries one enabled test profile made by the
profile builder) — in process; tests/e2e/test_default_profile.py does the same through PC/SC."""
from euicc.composition import open_card
from euicc.provisioning import default_test_profile
from tools.profile_builder.default_profile import default_test_profile as build_default


def test_shipped_package_is_what_the_builder_makes():
    assert default_test_profile() == build_default()


def test_new_card_carries_the_enabled_test_profile():
    card = open_card(None, first_profile="test")
    info = card.describe()
    assert [p["state"] for p in info["profiles"]] == ["enabled"]
    assert info["iccids"] == ["89001000000000000010"]
    tx = lambda h: card.transmit(bytes.fromhex(h)).hex().upper()  # noqa: E731
    assert tx("00A4040C07A0000000871002") == "9000"
    assert tx("00A4000C026F07") == "9000"
    # EF.IMSI (TS 31.102 §4.2.2) of IMSI 001010000000001: length 08, '9' parity nibble
    assert tx("00B0000009") == "080910100000000010" + "9000"


def test_info_shows_the_test_subscription():
    """`euicc-emu info` prints the test profile's IMSI and its published Milenage keys."""
    card = open_card(None, first_profile="test")
    (profile,) = card.describe()["profiles"]
    assert profile["imsi"] == "001010000000001"
    assert profile["aka"] == {"algorithm": "milenage",
                              "k": "465b5ce8b199b49faa5f0a2ee238a6bc",      # TS 35.208 set 1
                              "opc": "cd63cb71954a9f4e48a5994e37a02baf"}
