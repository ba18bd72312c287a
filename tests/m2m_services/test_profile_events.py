"""The SM-SR's notifications of attribute changes and of the eUICC's own profile changes (SGP.02
v4.2 §5.5 Handle*Notification; eUICC notification types of SPEC_NOTES §2.8), without a card:
the eUICC notifications are built by hand here ('05' Fall-Back, '03' rollback, '02', '01')."""
from __future__ import annotations

from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.profile_events import attribute_events, card_events
from tools.m2m_services.smsr_store import ProfileRecord
from tools.smsr.mo import Notification

EID = "89049032000000000000000000000163"
A, B = "A0000005591010FFFFFFFF8900001000", "A0000005591010FFFFFFFF8900001100"
RECORDS = [ProfileRecord(EID, A, "8900000000000000001", "MNO1", None, Pol2()),
           ProfileRecord(EID, B, "8900000000000000002", "MNO2", "SM-DP", Pol2())]


def _n(kind: int, aid: str | None) -> Notification:
    return Notification(bytes.fromhex(EID), kind, 1, bytes.fromhex(aid) if aid else None, b"")


def _names(events) -> list[tuple[str, str]]:
    return [(record.iccid[-1], name) for record, name in events]


def test_attribute_moves_from_one_holder_to_another():
    assert _names(attribute_events(RECORDS, "fallback", A, B)) == [
        ("2", "HandleFallBackAttributeSetNotification"), ("1", "HandleFallBackAttributeUnsetNotification")]
    assert _names(attribute_events(RECORDS, "emergency", None, A)) == [
        ("1", "HandleEmergencyProfileAttributeSetNotification")]
    assert attribute_events(RECORDS, "fallback", A, A) == []            # set again: no change, nothing sent


def test_fall_back_activation_and_rollback_are_reported_as_state_changes():
    # B enabled; no service: the card enables the Fall-Back profile A ('05')
    assert _names(card_events([_n(0x05, A)], RECORDS, B)) == [
        ("1", "HandleProfileEnabledNotification"), ("2", "HandleProfileDisabledNotification")]
    # a switch to B the SM-SR never confirmed: the card rolls back to A ('03') - reported against
    # the state the SM-SR believed (B enabled)
    assert _names(card_events([_n(0x03, A)], RECORDS, B)) == [
        ("1", "HandleProfileEnabledNotification"), ("2", "HandleProfileDisabledNotification")]
    # Fall-Back then the card's own return ('02'): two changes, in order
    assert _names(card_events([_n(0x05, A), _n(0x02, B)], RECORDS, B)) == [
        ("1", "HandleProfileEnabledNotification"), ("2", "HandleProfileDisabledNotification"),
        ("2", "HandleProfileEnabledNotification"), ("1", "HandleProfileDisabledNotification")]
    # the eUICC declaration ('01', first attachment) and a '02' for the profile already enabled change nothing
    assert card_events([_n(0x01, None), _n(0x02, B)], RECORDS, B) == []
