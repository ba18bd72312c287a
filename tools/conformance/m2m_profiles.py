"""M2M profile management over ES5 (SGP.02 v4.2 §3.2-§3.5, §3.15, §3.18, §4.1.1): EnableProfile /
DisableProfile success paths with their notifications, HandleNotificationConfirmation,
SetFallBackAttribute and the Fall-Back mechanism, the Emergency Profile Attribute,
UpdateSMSRAddressingParameters, refusals (Fall-Back profile, Master Delete without a valid token),
with GET STATUS (audit) after each change.

A second profile is needed: most cases install it with the consumer download (SGP.22 ES8+/ES10b
with the project's test SM-DP+, :func:`download.installed`: fewer packets than SGP.02 over SMS);
a card that does not also take SGP.22 downloads makes them INCONCLUSIVE.  POL1 reaches a profile
only in SGP.02 profile metadata, so its case downloads with the runner's SGP.02 ES8
(:mod:`tools.conformance.m2m_es8`).  Each case deletes that profile at the end.
Case names ``TC_eUICC_ES5.<function>#nn`` follow this module family's labels (SGP.11 identifiers
cannot be read here).
"""
from __future__ import annotations

import time

from tools import ber_tlv as tlv
from tools.conformance.download import installed
from tools.conformance.environment import DOWNLOAD_IMSI, POL1_ICCID, EnvironmentError_
from tools.conformance.m2m import (ENVELOPE, LCS_ENABLED, create_isdp_apdu, delete_apdu, dgi_apdu, enabled_isdp,
                                   get_status, isdp, keyset, script, start, sw_of)
from tools.conformance.m2m_cat import (NO_SERVICE, NOTIF_FALLBACK, NOTIF_PROFILE_CHANGE, NOTIF_ROLLBACK, REFRESH,
                                       Notification, attach, confirm, confirmed, location_status, notifications)
from tools.conformance.m2m_es8 import download, ecasd_key, establish_isdp_key_set, with_pol1
from tools.conformance.mutation import command, flip, mutation, replace
from tools.conformance.model import Inconclusive, case
from tools.conformance.session import Session

DGI_ENABLE, DGI_DISABLE, DGI_FALLBACK, DGI_ADDRESSING = 0x3A03, 0x3A04, 0x3A05, 0x3A07   # SGP.02 §4.1.1
DGI_EMERGENCY = 0x3A09   # [U] SetEmergencyProfileAttribute: no public source codes it (SPEC_NOTES §8 item 2)
LCS_DISABLED = 0x1F      # SGP.02 Table 28 / SPEC_NOTES §2.2
ATTR_FALLBACK, ATTR_EMERGENCY = 0x01, 0x02   # GET STATUS '53' bits (SPEC_NOTES §2.2, NJIWA; b2 [U])
NO_SERVICE_EVENTS = 5    # 'no service' reports before the Fall-Back mechanism must have acted [R: §3.18
#                          leaves the count to the implementation; this card's is 1]
TEST_SMSR_MSISDN = "4498765432"   # a test SM-SR address for UpdateSMSRAddressingParameters
FETCH = command(0x12)
SW_POL1 = 0x69E1        # "POL1 of the profile prevents this action" (SPEC_NOTES §2.3, NJIWA-B)
POL1_TAR = bytes.fromhex("00FFF2")   # the ISD-P the POL1 case creates
ROLLBACK_WAIT_BUDGET = 30.0   # seconds the runner waits for a rollback (longer validity periods: INCONCLUSIVE)


def es5(s: Session, dgi: int, aid: bytes) -> int:
    """One ES5 STORE DATA (DGI {4F AID}) in its own script; its status word."""
    return sw_of(script(s, [dgi_apdu(dgi, aid)])[-1])


def attributes(s: Session) -> dict[bytes, tuple[int, int]]:
    """GET STATUS of the ISD-Ps: AID -> (life cycle state, '53' attribute byte or -1)."""
    rapdus = script(s, [bytes.fromhex("80F24002024F0000")])
    out = {}
    for _, entry in tlv.split(rapdus[0][:-2]):
        lcs, attr = tlv.find(entry, 0x9F70) or b"\xff", tlv.find(entry, 0x53)
        out[tlv.find(entry, 0x4F) or b""] = (lcs[0], attr[0] if attr else -1)
    return out


def second_profile(s: Session) -> tuple[bytes, bytes]:
    """(the enabled ISD-P, the ISD-P of a freshly downloaded disabled profile); deletion registered."""
    keyset(s)
    start(s)
    original = enabled_isdp(s)
    final, _ = installed(s)
    aid = final["aid"]
    s.on_exit("ES5 EnableProfile of the original profile, notification confirmed", lambda: back_to(s, original))
    s.check(attributes(s).get(aid, (0,))[0] == LCS_DISABLED, "the downloaded ISD-P is not listed Disabled")
    return original, aid


def back_to(s: Session, aid: bytes) -> None:
    if attributes(s).get(aid, (0,))[0] != LCS_ENABLED:
        es5(s, DGI_ENABLE, aid)
        attach(s)


def switched(s: Session, enabled: bytes, disabled: bytes, kind: int = NOTIF_PROFILE_CHANGE) -> Notification:
    """After a profile switch: the audit shows it; the terminal's next location status report
    fetches the REFRESH (SGP.02 §3.2.1, TS 102 223 §6.4.7) and the notification of ``kind`` naming
    ``enabled`` (SGP.02 §3.15), which is confirmed."""
    states = attributes(s)
    s.check(states.get(enabled, (0,))[0] == LCS_ENABLED and states.get(disabled, (0,))[0] == LCS_DISABLED,
            f"after the switch: {enabled.hex().upper()} {states.get(enabled)}, {disabled.hex().upper()} {states.get(disabled)}")
    commands = location_status(s, 0x00)
    s.check(any(c.type == REFRESH for c in commands), "no REFRESH after the profile switch")
    found = [n for n in confirmed(s, commands) if n.kind == kind]
    s.check(len(found) == 1 and found[0].aid == enabled, f"no single notification {kind:02X} for {enabled.hex().upper()}")
    return found[0]


def switch(s: Session, enabled: bytes, disabled: bytes, what: str = "EnableProfile") -> Notification:
    """ES5.EnableProfile of ``enabled`` (SGP.02 §3.2), accepted, then the switch checked (:func:`switched`)."""
    s.check(es5(s, DGI_ENABLE, enabled) == 0x9000, f"{what} refused")
    return switched(s, enabled, disabled)


def second_enabled(s: Session, fallback: bool = False) -> tuple[bytes, bytes, Notification]:
    """The opening of most cases: a second profile (:func:`second_profile`), with ``fallback`` the
    Fall-Back Attribute on the original first (SGP.02 §3.18), then the switch to the second profile
    (:func:`switch`); (original, second, the switch's notification)."""
    original, aid = second_profile(s)
    if fallback:
        fallback_on(s, original)
    return original, aid, switch(s, aid, original)


def fallback_on(s: Session, aid: bytes) -> None:
    s.check(es5(s, DGI_FALLBACK, aid) == 0x9000, "SetFallBackAttribute refused")


@case("TC_eUICC_ES5.EnableProfile#01", suite="m2m", group="ES5", title="EnableProfile: switched, REFRESH, notification 02",
      clause="SGP.02 §3.2, §4.1.1.2 (DGI 3A03), §3.15; TS 102 223 §6.4.7",
      restores="re-enables the original profile (notification confirmed) and deletes the downloaded one",
      mutation=mutation("the fetched proactive commands lose a bit at the end", FETCH, flip(-1)))
def enable_profile(s: Session) -> None:
    second_enabled(s)


@case("TC_eUICC_ES5.HandleNotificationConfirmation#01", suite="m2m", group="ES5",
      title="a confirmed notification: a second confirmation is refused, it is not sent again",
      clause="SGP.02 §3.15, §4.1.1.12 (DGI 3A08)",
      restores="re-enables the original profile (notification confirmed) and deletes the downloaded one",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def confirmation(s: Session) -> None:
    seq = second_enabled(s)[2].seq
    again = confirm(s, seq)
    s.check(sw_of(again) in (0x6A88, 0x6A80), f"a second confirmation of {seq} answered {sw_of(again):04X}")
    resent = [n.seq for n in confirmed(s, location_status(s, 0x00))]
    s.check(seq not in resent, f"notification {seq} sent again after its confirmation")


@case("TC_eUICC_ES5.DisableProfile#01", suite="m2m", group="ES5",
      title="DisableProfile: the Fall-Back profile enabled instead, notification 02",
      clause="SGP.02 §3.3, §4.1.1.3 (DGI 3A04), §4.1.1.7, §3.15",
      restores="re-enables the original profile, deletes the downloaded one; leaves the Fall-Back Attribute on the "
               "originally enabled profile (SGP.02 only moves it)",
      mutation=mutation("a bit of every PoR flips (its CC fails)", ENVELOPE, flip(-1, 0x10)))
def disable_profile(s: Session) -> None:
    original, aid, _ = second_enabled(s, fallback=True)
    s.check(es5(s, DGI_DISABLE, aid) == 0x9000, "DisableProfile refused")
    switched(s, original, aid)


@case("TC_eUICC_ES5.SetFallBackAttribute#01", suite="m2m", group="ES5",
      title="SetFallBackAttribute moves the attribute: one holder in the audit",
      clause="SGP.02 §3.18, §4.1.1.7 (DGI 3A05), §4.1.1.5 (audit)",
      restores="sets the attribute back on the originally enabled profile and deletes the downloaded one",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def set_fallback(s: Session) -> None:
    original, aid = second_profile(s)
    fallback_on(s, original)
    s.on_exit("SetFallBackAttribute of the original profile", lambda: es5(s, DGI_FALLBACK, original))
    fallback_on(s, aid)
    holders = [a for a, (_, attr) in attributes(s).items() if attr >= 0 and attr & ATTR_FALLBACK]
    s.check(holders == [aid], f"Fall-Back Attribute holders {[h.hex().upper() for h in holders]}")


@case("TC_eUICC_ES5.DeleteProfile#E02", suite="m2m", group="ES5", title="DeleteProfile of the Fall-Back profile is refused",
      clause="SGP.02 §3.5, §3.18 (the Fall-Back profile cannot be deleted), §4.1.1.4",
      restores="sets the attribute back on the originally enabled profile and deletes the downloaded one",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def delete_fallback(s: Session) -> None:
    original, aid = second_profile(s)
    fallback_on(s, original)
    s.on_exit("SetFallBackAttribute of the original profile", lambda: es5(s, DGI_FALLBACK, original))
    fallback_on(s, aid)
    answer = sw_of(script(s, [delete_apdu(aid)])[-1])
    s.check(answer == 0x6985, f"DELETE of the Fall-Back profile answered {answer:04X}, expected 6985")
    s.check(aid in attributes(s), "the Fall-Back profile is gone")


@case("TC_eUICC_ES5.FallBack#01", suite="m2m", group="ES5",
      title="location status 'no service': the Fall-Back profile enabled, notification 05",
      clause="SGP.02 §3.18 (Fall-Back mechanism), §3.15; TS 102 223 §7.5.4",
      restores="deletes the downloaded profile; leaves the Fall-Back Attribute on the originally enabled profile",
      mutation=mutation("the fetched proactive commands lose a bit at the end", FETCH, flip(-1)))
def fall_back(s: Session) -> None:
    original, aid, _ = second_enabled(s, fallback=True)
    commands = []
    for _ in range(NO_SERVICE_EVENTS):
        commands += location_status(s, NO_SERVICE)
        if any(c.type == REFRESH for c in commands):
            break
    s.check(any(c.type == REFRESH for c in commands), f"no switch after {NO_SERVICE_EVENTS} 'no service' events")
    states = attributes(s)
    s.check(states[original][0] == LCS_ENABLED and states[aid][0] == LCS_DISABLED, "the Fall-Back profile is not enabled")
    found = [n for n in attach(s) if n.kind == NOTIF_FALLBACK]
    s.check(len(found) == 1 and found[0].aid == original, "no single Fall-Back notification (05) for the Fall-Back profile")


@case("TC_eUICC_ES5.SetEmergencyProfileAttribute#01", suite="m2m", group="ES5",
      title="SetEmergencyProfileAttribute: set in the audit; refused on the Fall-Back profile",
      clause="SGP.02 v4.2 §3.x (Emergency Profile Attribute; DGI and '53' bit [U]), §4.1.1.5",
      restores="deletes the downloaded profile (with the attribute); leaves the Fall-Back Attribute on the originally "
               "enabled profile",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def emergency(s: Session) -> None:
    original, aid = second_profile(s)
    fallback_on(s, original)
    s.check(es5(s, DGI_EMERGENCY, original) == 0x6985, "the Fall-Back profile took the Emergency Profile Attribute")
    s.check(es5(s, DGI_EMERGENCY, aid) == 0x9000, "SetEmergencyProfileAttribute refused")
    attr = attributes(s)
    s.check(attr[aid][1] >= 0 and attr[aid][1] & ATTR_EMERGENCY, f"'53' of the target is {attr[aid][1]}")
    s.check(attr[original][1] & ATTR_EMERGENCY == 0, "the Fall-Back profile shows the Emergency Profile Attribute")


def addressing(msisdn: str) -> bytes:
    """UpdateSMSRAddressingParameters: DGI '3A07' {A3 {81 digit count, TON/NPI '91', BCD}} (SPEC_NOTES §2.3)."""
    digits = msisdn + ("F" if len(msisdn) % 2 else "")
    bcd = bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))
    body = tlv.encode(0xA3, tlv.encode(0x81, bytes([len(msisdn), 0x91]) + bcd))
    return bytes([0x80, 0xE2, 0x88, 0x00, len(body) + 3]) + bytes([0x3A, 0x07, len(body)]) + body + b"\x00"


@case("TC_eUICC_ES5.UpdateSMSRAddressingParameters#01", suite="m2m", group="ES5",
      title="the next notification goes to the new SM-SR address",
      clause="SGP.02 §4.1.1.10 (DGI 3A07), §3.15",
      restores="writes back the address the first notification went to; re-enables the original profile; deletes the "
               "downloaded one",
      mutation=mutation("the fetched proactive commands lose a bit at the end", FETCH, flip(-1)))
def smsr_address(s: Session) -> None:
    original, aid, first = second_enabled(s)
    before = first.destination
    s.require(before.isdigit() and before != TEST_SMSR_MSISDN, f"the card's SM-SR address is {before!r}")
    s.check(sw_of(script(s, [addressing(TEST_SMSR_MSISDN)])[-1]) == 0x9000, "UpdateSMSRAddressingParameters refused")
    s.on_exit(f"UpdateSMSRAddressingParameters {before}", lambda: script(s, [addressing(before)]))
    after = switch(s, original, aid, "EnableProfile of the original profile")
    s.check(after.destination == TEST_SMSR_MSISDN, f"the notification went to {after.destination}")


@case("TC_eUICC_ES5.MasterDelete#E01", suite="m2m", group="ES5", title="MasterDelete with a wrong delete token is refused",
      clause="SGP.02 §4.1.1.6, GP CS §11.2.2.1 / Annex C.4 (delete token)",
      restores="deletes the downloaded profile",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def master_delete_bad_token(s: Session) -> None:
    _, aid = second_profile(s)
    control = tlv.encode(0x42, b"SMDP") + tlv.encode(0x45, b"\x01") + tlv.encode(0x5F20, b"SMDP") + tlv.encode(0x93, b"\x01")
    body = tlv.encode(0x4F, aid) + tlv.encode(0xB6, control) + tlv.encode(0x9E, bytes(16))
    answer = sw_of(script(s, [bytes([0x80, 0xE4, 0x00, 0x00, len(body)]) + body + b"\x00"])[-1])
    s.check(answer == 0x6982, f"MasterDelete with a wrong token answered {answer:04X}, expected 6982")
    s.check(aid in attributes(s), "the profile is gone after a refused MasterDelete")


@case("TC_eUICC_ES5.EnableProfile#E02", suite="m2m", group="ES5", title="EnableProfile of the enabled profile is refused",
      clause="SGP.02 §4.1.1.2 (target not Disabled)",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def enable_enabled(s: Session) -> None:
    keyset(s)
    start(s)
    aid = enabled_isdp(s)
    s.check(es5(s, DGI_ENABLE, aid) == 0x6985, "EnableProfile of the enabled profile was not refused with 6985")
    s.check(dict(get_status(s)).get(aid) == LCS_ENABLED, "the enabled profile changed state")


@case("TC_eUICC_ES5.CreateISDP_Enable#E01", suite="m2m", group="ES5", title="EnableProfile of an ISD-P without a profile is refused",
      clause="SGP.02 §4.1.1.2, §3.2 (only a Disabled profile is enabled)",
      restores="deletes the ISD-P it created",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def enable_empty(s: Session) -> None:
    keyset(s)
    start(s)
    aid = isdp(bytes.fromhex("00FFF1"))
    s.require(aid not in dict(get_status(s)), f"ISD-P {aid.hex().upper()} already exists")
    s.check(sw_of(script(s, [create_isdp_apdu(aid)])[-1]) == 0x9000, "CreateISDP refused")
    s.on_exit("DELETE the ISD-P", lambda: script(s, [delete_apdu(aid)]))
    s.check(es5(s, DGI_ENABLE, aid) == 0x6985, "EnableProfile of an empty ISD-P was not refused with 6985")
    s.check(dict(get_status(s)).get(aid) != LCS_ENABLED, "the empty ISD-P is enabled")


@case("TC_eUICC_ES5.Rollback#01", suite="m2m", group="ES5",
      title="an unconfirmed switch is rolled back after the validity period: notification 03",
      clause="SGP.02 §3.2 (rollback when the switch is not confirmed), §3.15; TS 102 223 §7.5.4",
      restores="deletes the downloaded profile",
      mutation=mutation("the fetched proactive commands lose a bit at the end", FETCH, flip(-1)))
def rollback(s: Session) -> None:
    period = s.card.m2m_validity_period
    s.require(period is not None, "the card description gives no m2m_validity_period")
    s.require(period <= ROLLBACK_WAIT_BUDGET, f"the validity period ({period:.0f} s) is longer than the runner waits "
                                              f"({ROLLBACK_WAIT_BUDGET:.0f} s; euicc-emu: run --m2m-validity-period)")
    original, aid = second_profile(s)
    s.check(es5(s, DGI_ENABLE, aid) == 0x9000, "EnableProfile refused")
    sent = [n for n in notifications(s, location_status(s, 0x00)) if n.kind == NOTIF_PROFILE_CHANGE]
    s.check(len(sent) == 1, "no notification of the switch")
    s.step(f"wait {period + 1:.0f} s without confirming notification {sent[0].seq}")
    time.sleep(period + 1)
    commands = location_status(s, 0x00)
    s.check(any(c.type == REFRESH for c in commands), "no REFRESH: the switch was not rolled back")
    states = attributes(s)
    s.check(states[original][0] == LCS_ENABLED and states[aid][0] == LCS_DISABLED, "the original profile is not enabled")
    found = [n for n in confirmed(s, commands) + attach(s) if n.kind == NOTIF_ROLLBACK]
    s.check(len(found) == 1 and found[0].aid == original, "no single rollback notification (03) for the original profile")


def pol1_profile(s: Session, aid: bytes) -> None:
    """CreateISDP ``aid``, then the runner as SM-DP installs a profile whose POL1 says "disabling not
    allowed" (SGP.02 §3.1.2: ES5.CreateISDP, ES8.EstablishISDPKeySet, ES8.DownloadAndInstallation)."""
    try:
        dp_key, dp_certificate = s.env.m2m_smdp()
        eum = s.env.eum_key()
        package = with_pol1(s.env.upp(POL1_ICCID, DOWNLOAD_IMSI).read_bytes(), s.card.m2m_pol1_disabling_not_allowed)
    except (EnvironmentError_, OSError, ValueError) as exc:
        raise Inconclusive(f"no SM-DP for ES8 or no profile package: {exc}") from None
    ecasd = ecasd_key(s, eum)
    s.check(sw_of(script(s, [create_isdp_apdu(aid)])[-1]) == 0x9000, "CreateISDP refused")
    keys = establish_isdp_key_set(s, aid, dp_key, dp_certificate, ecasd)
    download(s, aid, keys, package)
    s.check(attributes(s).get(aid, (0,))[0] == LCS_DISABLED, "the downloaded ISD-P is not listed Disabled")


def pol1_restore(s: Session, original: bytes, aid: bytes) -> None:
    """Back to ``original`` by the Fall-Back mechanism, which POL1 does not govern (SGP.02 §3.18,
    SPEC_NOTES §2.6), then DeleteProfile of ``aid`` (its POL1 allows deletion)."""
    states = attributes(s)
    if states.get(aid, (0,))[0] == LCS_ENABLED:
        fallback_on(s, original)
        for _ in range(NO_SERVICE_EVENTS):
            if any(c.type == REFRESH for c in location_status(s, NO_SERVICE)):
                break
        attach(s)
    back_to(s, original)
    if aid in attributes(s):
        script(s, [delete_apdu(aid)])


@case("TC_eUICC_ES5.POL1#01", suite="m2m", group="ES5",
      title="POL1 'disabling not allowed': EnableProfile of another profile and DisableProfile refused (69E1)",
      clause="SGP.02 §2.4.4 / §3.x (POL1), §4.1.1.2, §4.1.1.3, §3.1.2 (ES8 download: §4.1.3.1, §4.1.3.3)",
      restores="the Fall-Back mechanism re-enables the original profile (it ignores POL1); deletes the downloaded "
               "one; leaves the Fall-Back Attribute on the originally enabled profile",
      mutation=mutation("the ENVELOPE answers 6F00", ENVELOPE, replace(b"", 0x6F00)))
def pol1_disabling(s: Session) -> None:
    keyset(s)
    start(s)
    original, aid = enabled_isdp(s), isdp(POL1_TAR)
    s.require(aid not in attributes(s), f"ISD-P {aid.hex().upper()} already exists")
    s.on_exit("Fall-Back to the original profile, DeleteProfile of the POL1 profile", lambda: pol1_restore(s, original, aid))
    pol1_profile(s, aid)
    switch(s, aid, original, "EnableProfile of the POL1 profile")
    answer = es5(s, DGI_ENABLE, original)
    s.check(answer == SW_POL1, f"EnableProfile of another profile answered {answer:04X}, expected {SW_POL1:04X} (POL1)")
    fallback_on(s, original)
    answer = es5(s, DGI_DISABLE, aid)
    s.check(answer == SW_POL1, f"DisableProfile of the POL1 profile answered {answer:04X}, expected {SW_POL1:04X}")
    states = attributes(s)
    s.check(states[aid][0] == LCS_ENABLED and states[original][0] == LCS_DISABLED, "a refused command switched profiles")
