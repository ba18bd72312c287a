"""SGP.22 v3.1 Remote Profile Management with the host tools: the test SM-DP+ (tools.smdpp, an
RPM order for the eUICC) and the LPA (tools.lpa) run a v3 download whose smdpSigned2 carries
rpmPending, then the chained RPM session (§3.1.3 / §3.7.2), in process and through PC/SC; the
command lines; the SM-DP+'s refusals.

The card's side is checked independently: the profile states through ES10c GetProfilesInfo, the
eUICC's LoadRpmPackageResultSigned verified by the SM-DP+ (tools.smdpp.rpm, with the eUICC key of
the session) and the RPM enable notification it received.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID, make_lpa
from tools.lpa import cli as lpa_cli
from tools.lpa import rpm as lpa_rpm
from tools.lpa.activation_code import parse
from tools.lpa.es9plus import Es9FunctionError
from tools.lpa.lpa import iccid_bytes
from tools.lpa.transport import PcscTransmit
from tools.smdpp import cli as smdpp_cli
from tools.smdpp import rpm
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SVN_V3, SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import CANCELLED, RELEASED, order_from_upp

RPM_ENABLE_EVENT = "08"          # NotificationEvent notificationRpmEnable (4), first octet


@pytest.fixture
def smdp_v3():
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(SHIPPED_PKI, ("NIST",)), svn=SVN_V3))
    server.smdp.address = f"127.0.0.1:{server.port}"
    with server:
        yield server.smdp


def managed_order(smdp: SmDpPlus, upp: bytes, matching_id: str):
    oid = next(iter(smdp.credentials.sets.values())).smdp_oid
    return order_from_upp(matching_id, upp, notification_address=smdp.address,
                          rpm_configuration=rpm.rpm_configuration(oid, oid, polling_address=smdp.address))


def enabled(lpa) -> dict[str, int]:
    from tools.lpa.lpa import iccid_digits
    return {iccid_digits(p["iccid"]): p["profileState"] for p in lpa.es10.get_profiles_info()}


def chained_download(lpa, smdp: SmDpPlus, upp: bytes, matching_id: str):
    smdp.add_order(managed_order(smdp, upp, matching_id))
    order = smdp.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID),
                                       rpm.command("listProfileInfo", TS48_ICCID)]))
    result, outcomes = lpa_rpm.download(lpa, parse(f"LPA:1${smdp.address}${matching_id}"))
    assert result.rpm_pending and len(outcomes) == 1
    (outcome,) = outcomes
    kind, value = outcome.result
    assert kind == "loadRpmPackageResultSigned" and outcome.notification_sent
    execution = value["loadRpmPackageResultDataSigned"]["finalResult"][1]
    assert execution[0]["rpmCommandResultData"] == ("enableResult", {"enableResult": 0})
    assert order.state == rpm.EXECUTED
    received = smdp.notifications[-1]
    assert (received.kind, received.verified) == ("rpm-result", True)
    assert enabled(lpa)[TS48_ICCID] == 1
    lpa.process_notifications()
    events = [n.detail["operation"] for n in smdp.notifications if n.kind == "other"]
    assert RPM_ENABLE_EVENT in events and all(n.verified for n in smdp.notifications)
    return outcome


def in_process_lpa():
    lpa = make_lpa(open_card(None).transmit)
    lpa.es10.transport.open()
    return lpa


def test_v3_download_with_chained_rpm_in_process(smdp_v3, upp):
    chained_download(in_process_lpa(), smdp_v3, upp, "RPM-1")


@pytest.mark.pcsc
def test_v3_download_with_chained_rpm_through_pcsc(start_card, pcscd, smdp_v3, upp):
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        chained_download(lpa, smdp_v3, upp, "RPM-PCSC")
        lpa.es10.transport.close()
    finally:
        transmit.close()


def test_rpm_pending_chains_two_packages(smdp_v3, upp):
    lpa = in_process_lpa()
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-2"))
    lpa.download(parse(f"LPA:1${smdp_v3.address}$RPM-2"))
    first = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    second = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("disable", TS48_ICCID)]))
    outcomes = lpa_rpm.run(lpa, smdp_v3.address)
    assert [o.rpm_pending for o in outcomes] == [True, False]
    assert first.state == second.state == rpm.EXECUTED
    assert enabled(lpa)[TS48_ICCID] == 0


def test_smdp_without_rpm_order_refuses_and_the_card_session_ends(smdp_v3, upp):
    lpa = in_process_lpa()
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)], eid="89" + "0" * 30))   # another eUICC
    with pytest.raises(Es9FunctionError) as refused:
        lpa_rpm.run(lpa, smdp_v3.address)
    assert (refused.value.subject, refused.value.reason) == rpm.RPM_ORDER_NOT_FOUND
    assert smdp_v3.rpm.orders[0].state == RELEASED


def test_end_user_rejection_cancels_the_rpm_session(smdp_v3, upp):
    lpa = in_process_lpa()
    order = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    with pytest.raises(lpa_rpm.DownloadError, match="rejected"):
        lpa_rpm.run(lpa, smdp_v3.address, accept=lambda package: False)
    assert order.state == CANCELLED and all(s.ended for s in smdp_v3.sessions.values())


def test_lpa_polling_for_one_profile_gets_only_its_order(smdp_v3, upp):
    lpa = in_process_lpa()
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-4"))
    lpa.download(parse(f"LPA:1${smdp_v3.address}$RPM-4"))
    other = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", "8900100000000000995")]))
    mine = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    (outcome,) = lpa_rpm.run(lpa, smdp_v3.address, iccid_bytes(TS48_ICCID))
    assert not outcome.rpm_pending
    assert (mine.state, other.state) == (rpm.EXECUTED, RELEASED)


def test_smdp_rejects_a_tampered_rpm_result(smdp_v3, upp):
    lpa = in_process_lpa()
    lpa.send_notifications = False
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-3"))
    order = smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    _, (outcome,) = lpa_rpm.download(lpa, parse(f"LPA:1${smdp_v3.address}$RPM-3"))
    (pending,) = lpa.es10.retrieve_notifications(outcome.seq_number)
    tampered = pending[:-1] + bytes([pending[-1] ^ 1])           # last byte of euiccSignRPR
    assert smdp_v3.handle_notification(tampered).verified is False and order.state == rpm.DOWNLOADED
    assert smdp_v3.handle_notification(pending).verified is True and order.state == rpm.EXECUTED


# -- command lines --------------------------------------------------------------------------------------
def test_smdpp_cli_builds_the_rpm_order_in_command_line_order():
    parser = smdpp_cli.argparse.ArgumentParser()
    smdpp_cli.add_arguments(parser)
    args = parser.parse_args(["serve", "--certs", "x", "--rpm-eid", "89049032123451234512345678901235",
                              "--rpm-disable", TS48_ICCID, "--rpm-rename", f"{TS48_ICCID}=Work",
                              "--rpm-delete", TS48_ICCID])
    order = rpm.order_from_args(args.rpm, args.rpm_eid)
    iccid = iccid_bytes(TS48_ICCID)
    assert order.eid == "89049032123451234512345678901235"
    assert [c["rpmCommandDetails"] for c in order.commands] == [
        ("disable", {"iccid": iccid}),
        ("updateMetadata", {"iccid": iccid, "updateMetadataRequest": {"profileName": "Work"}}),
        ("delete", {"iccid": iccid})]


def test_lpa_cli_download_then_rpm(smdp_v3, upp, tmp_path, capsys):
    state = tmp_path / "card.state"
    open_card(state).close()
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-CLI"))
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    assert lpa_cli.main(["--card-state", str(state), "--http", "download", "--activation-code",
                         f"LPA:1${smdp_v3.address}$RPM-CLI"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["rpm"][0]["commands"] == ["enable"] and shown["rpm"][0]["notificationSent"]
    assert shown["rpm"][0]["finalResult"][0] == "rpmPackageExecutionResult"
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("disable", TS48_ICCID)]))
    assert lpa_cli.main(["--card-state", str(state), "--http", "rpm", "--smdp", smdp_v3.address]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["commands"] == ["disable"] and outcome["result"] == "loadRpmPackageResultSigned"
    assert lpa_cli.main(["--card-state", str(state), "profile", "list"]) == 0
    listed = {p["iccid"]: p["state"] for p in json.loads(capsys.readouterr().out)}
    assert listed[TS48_ICCID] == "disabled"


def test_lpa_cli_rpm_polls_the_polling_address_of_the_rpm_configuration(smdp_v3, upp, tmp_path, capsys):
    """Without --smdp the LPA reads each profile's rpmConfiguration (GetProfilesInfo tagList
    '5A BA', SGP.22 v3.1 §5.7.15) and polls its pollingAddress; a card whose profiles name none,
    or an --iccid no managed profile has, is told to give --smdp."""
    state = tmp_path / "card.state"
    open_card(state).close()
    check_rpm_polling(["--card-state", str(state), "--http"], smdp_v3, upp, capsys)


@pytest.mark.pcsc
def test_lpa_cli_rpm_polls_the_polling_address_through_pcsc(start_card, pcscd, smdp_v3, upp, capsys):
    start_card()
    check_rpm_polling(["--reader", reader_name(pcscd), "--http"], smdp_v3, upp, capsys)


def check_rpm_polling(base: list[str], smdp_v3, upp, capsys) -> None:
    assert lpa_cli.main([*base, "rpm"]) == 2
    assert "--smdp" in capsys.readouterr().err
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-POLL"))
    assert lpa_cli.main([*base, "download", "--activation-code", f"LPA:1${smdp_v3.address}$RPM-POLL"]) == 0
    capsys.readouterr()
    assert lpa_cli.main([*base, "rpm", "--iccid", "89001000000000000010"]) == 2
    capsys.readouterr()
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    assert lpa_cli.main([*base, "rpm"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["commands"] == ["enable"] and outcome["notificationSent"]
    assert lpa_cli.main([*base, "profile", "list"]) == 0
    assert {p["iccid"]: p["state"] for p in json.loads(capsys.readouterr().out)}[TS48_ICCID] == "enabled"


def test_lpa_cli_rpm_enable_on_an_esim_port(smdp_v3, upp, tmp_path, capsys):
    """MEP-A1 card state (lpa --card-state --mep A1): `lpa rpm --port 2` sends LoadRpmPackage with
    targetEsimPort 2 and the package's enable puts the profile on eSIM port 2 (SGP.22 v3.1 §2.12)."""
    state = tmp_path / "a1.state"
    base = ["--card-state", str(state), "--mep", "A1", "--http"]
    smdp_v3.add_order(managed_order(smdp_v3, upp, "RPM-PORT"))
    assert lpa_cli.main([*base, "download", "--activation-code", f"LPA:1${smdp_v3.address}$RPM-PORT"]) == 0
    capsys.readouterr()
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID)]))
    assert lpa_cli.main([*base, "rpm", "--port", "2"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["finalResult"] == ["rpmPackageExecutionResult", [
        {"iccid": TS48_ICCID,
         "rpmCommandResultData": ["enableResult", {"enableResult": 0, "targetEsimPort": 2}]}]]
    assert lpa_cli.main([*base, "profile", "list"]) == 0
    assert {p["iccid"]: p.get("esimPort") for p in json.loads(capsys.readouterr().out)}[TS48_ICCID] == 2


def test_lpa_cli_rpm_contact_pcmp_prints_the_pcmp_of_the_downloaded_lpr_configuration(smdp_v3, upp, tmp_path,
                                                                                      capsys):
    """SGP.22 v3.1 LPA Proxy configuration end to end: the SM-DP+ puts lprConfiguration {pcmpAddress}
    in the metadata (``smdpp serve --pcmp-address``), the card keeps it, the RPM contactPcmp
    answers it and the LPA shows it."""
    state = tmp_path / "card.state"
    open_card(state).close()
    oid = next(iter(smdp_v3.credentials.sets.values())).smdp_oid
    smdp_v3.add_order(order_from_upp("LPR-1", upp, notification_address=smdp_v3.address,
                                     rpm_configuration=rpm.rpm_configuration(oid, oid),
                                     pcmp_address="pcmp.example.com"))
    assert lpa_cli.main(["--card-state", str(state), "--http", "download", "--activation-code",
                         f"LPA:1${smdp_v3.address}$LPR-1"]) == 0
    capsys.readouterr()
    smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID), rpm.command("contactPcmp", TS48_ICCID)]))
    assert lpa_cli.main(["--card-state", str(state), "--http", "rpm", "--smdp", smdp_v3.address]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)
    assert outcome["commands"] == ["enable", "contactPcmp"] and outcome["notificationSent"]
    assert outcome["pcmpAddresses"] == ["pcmp.example.com"]


@pytest.mark.pcsc
def test_contact_pcmp_of_a_downloaded_lpr_configuration_through_pcsc(start_card, pcscd, smdp_v3, upp):
    """The same through pcscd + vpcd + pyscard, the RPM chained after the download."""
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        oid = next(iter(smdp_v3.credentials.sets.values())).smdp_oid
        smdp_v3.add_order(order_from_upp("LPR-PCSC", upp, rpm_configuration=rpm.rpm_configuration(oid, oid),
                                         pcmp_address="pcmp.example.com"))
        smdp_v3.rpm.add(rpm.RpmOrder([rpm.command("enable", TS48_ICCID), rpm.command("contactPcmp", TS48_ICCID)]))
        _, (outcome,) = lpa_rpm.download(lpa, parse(f"LPA:1${smdp_v3.address}$LPR-PCSC"))
        final = outcome.result[1]["loadRpmPackageResultDataSigned"]["finalResult"][1]
        assert final[1]["rpmCommandResultData"] == (
            "contactPcmpResult", ("contactPcmpResponseOk", {"pcmpAddress": "pcmp.example.com"}))
        lpa.es10.transport.close()
    finally:
        transmit.close()
