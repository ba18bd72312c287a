"""`euicc-emu lpa notification list` shows ICCIDs as digits (EF.ICCID coding decoded, TS 102 221
§13.2), the same digits `lpa profile list` and `lpa download` print.  Known answer: the TS.48 v7
test profile's ICCID 89000123456789012341; its install notification (SGP.22 §5.7.9, kept on the
card with --no-notify) carries it."""
from __future__ import annotations

import json

import pytest

from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import TS48_ICCID
from tools.lpa import cli
from tools.smdpp.orders import order_from_upp


def test_notification_list_prints_iccid_digits(card_smdp, upp, tmp_path, capsys):
    state = tmp_path / "card.state"
    open_card(state).close()
    check_notification_list(["--card-state", str(state), "--http"], card_smdp, upp, capsys)


@pytest.mark.pcsc
def test_notification_list_through_pcsc(start_card, pcscd, card_smdp, upp, capsys):
    start_card()
    check_notification_list(["--reader", reader_name(pcscd), "--http"], card_smdp, upp, capsys)


def check_notification_list(base: list[str], card_smdp, upp, capsys) -> None:
    card_smdp.add_order(order_from_upp("NOTIF-ICCID", upp))
    assert cli.main([*base, "download", "--no-notify", "--activation-code",
                     f"LPA:1${card_smdp.address}$NOTIF-ICCID"]) == 0
    assert json.loads(capsys.readouterr().out)["iccid"] == TS48_ICCID
    assert cli.main([*base, "notification", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    installs = [n for n in listed if n.get("iccid") == TS48_ICCID]
    assert len(installs) == 1, listed
    assert installs[0]["notificationAddress"] == card_smdp.address
