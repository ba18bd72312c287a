"""The EIS as the binding carries it (SGP.02 v4.2 §5.1.1.2 eUICC Information Set) in ES1.RegisterEIS,
GetEIS and AuditEIS.

Element names follow NJIWA's EIS type where it has one [C NJIWA io/njiwa/sr/ws/types/Eis.java:
EumSignedInfo/Eid, Eum-Id, ProfileInfo/Iccid, Isd-p-aid, Mno-id, FallbackAttribute, State,
Smdp-id, pol2]; ``EmergencyProfileAttribute`` (SGP.02 v4.x) is our name (no readable source has one); the
ECASD certificate and the ISD-R key set are a simplified form of our own
(``EcasdCertificate`` hex; ``Isd-r``/``KeySet`` with Version, KIc/KID algorithm and value and the
counter; an SCP81 key set as ``KeySet`` with Version '64'-'79' and ``Psk`` [``Dek``] hex), since the
§5.1.1.2 SecurityDomain/KeySet schema is not in a readable source.  Keys go
only in ES1 (EUM -> SM-SR); GetEIS and AuditEIS answers never carry them, and ES7.HandoverEUICC
carries only the key set versions (the old SM-SR's keys stay with it, SGP.02 §3.8).  The Emergency
Profile attribute is ``EmergencyProfileAttribute`` (name not in a readable source: a setting).
"""
from __future__ import annotations

from tools.m2m_services.binding import Field
from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.smsr_store import ProfileRecord
from tools.ota.packet import OtaKeyset
from tools.smsr.eis import SCP81_KVNS, Eis, ProfileInfo, PskKeyset
from tools.smsr.eis_file import ALGORITHMS, EisDocument

_NAMES = {code: name for name, code in ALGORITHMS.items()}

STATES = {"SELECTABLE": "Selectable", "PERSONALIZED": "Personalized", "DISABLED": "Disabled", "ENABLED": "Enabled",
          "INSTALLED": "Installed"}
"""EIS profile states (SGP.02 §5.1.1.2 ProfileInfo State) by the card's GP life-cycle names."""


class EisFormatError(ValueError):
    """An EIS element that does not have the form above."""


def _values(fields: list[Field]) -> dict[str, str]:
    return {n: v for n, v in fields if isinstance(v, str)}


def _groups(fields: list[Field], name: str) -> list[list[Field]]:
    return [v for n, v in fields if n == name and isinstance(v, list)]


def eis_fields(eid: str, doc: EisDocument, profiles: list[ProfileRecord], eum: str | None,
               with_keys: bool = False, key_versions: bool = False) -> list[Field]:
    """The ``Eis`` group of ``doc``; ISD-R keys only when ``with_keys`` (ES1), their versions alone
    when ``key_versions`` (ES7)."""
    records = {p.isdp_aid: p for p in profiles}
    signed: list[Field] = [("Eid", eid)]
    if eum:
        signed.append(("Eum-Id", eum))
    signed.append(("EcasdCertificate", doc.eis.ecasd_certificate.hex().upper()))
    out: list[Field] = [("EumSignedInfo", signed)]
    for aid, info in doc.eis.profiles.items():
        record = records.get(aid.hex().upper())
        profile: list[Field] = [("Isd-p-aid", aid.hex().upper())]
        if record and record.iccid:
            profile.insert(0, ("Iccid", record.iccid))
        if record and record.mno:
            profile.append(("Mno-id", record.mno))
        if record and (record.msisdn or record.imsi):
            profile.append(("SubscriptionAddress", subscription_address(record.imsi, record.msisdn)))
        profile += [("FallbackAttribute", "true" if info.fallback else "false"),
                    ("EmergencyProfileAttribute", "true" if info.emergency else "false"),
                    ("State", STATES.get(info.state, info.state))]
        if record and record.smdp:
            profile.append(("Smdp-id", record.smdp))
        if record and record.pol2.rules:
            profile.append(("pol2", record.pol2.fields()))
        out.append(("ProfileInfo", profile))
    if with_keys:
        keysets = [("KeySet", [("Version", str(k.kvn)), ("KicAlgorithm", _NAMES[k.kic_algorithm]),
                               ("Kic", k.kic.hex().upper()), ("KidAlgorithm", _NAMES[k.kid_algorithm]),
                               ("Kid", k.kid.hex().upper()), ("Counter", str(doc.eis.counters.get(kvn, 0)))])
                   for kvn, k in sorted(doc.eis.keysets.items())]
        keysets += [("KeySet", [("Version", str(k.kvn)), ("Psk", k.psk.hex().upper())]
                     + ([("Dek", k.dek.hex().upper())] if k.dek else [])) for _, k in sorted(doc.eis.psk_keysets.items())]
        out.append(("Isd-r", keysets))
    elif key_versions:
        out.append(("Isd-r", [("KeySet", [("Version", str(kvn))])
                              for kvn in sorted([*doc.eis.keysets, *doc.eis.psk_keysets])]))
    return out


def subscription_address(imsi: str | None, msisdn: str | None) -> list[Field]:
    """SGP.02 §5.1.1.2 SubscriptionAddress {Imsi, Msisdn} (element names [C NJIWA], a setting)."""
    return [(n, v) for n, v in (("Imsi", imsi), ("Msisdn", msisdn)) if v]


def parse_subscription_address(fields: list[Field] | None) -> tuple[str | None, str | None]:
    """(IMSI, MSISDN): digit strings (E.212 up to 15, E.164 up to 15), at least one."""
    values = _values(fields or [])
    imsi, msisdn = values.get("Imsi"), values.get("Msisdn")
    for name, value in (("Imsi", imsi), ("Msisdn", msisdn)):
        if value is not None and not (value.isdigit() and 5 <= len(value) <= 15):
            raise EisFormatError(f"{name} is not 5 to 15 digits")
    if imsi is None and msisdn is None:
        raise EisFormatError("SubscriptionAddress holds neither Imsi nor Msisdn")
    return imsi, msisdn


def _hex(text: str | None, what: str) -> bytes:
    try:
        return bytes.fromhex(text or "")
    except ValueError:
        raise EisFormatError(f"{what} is not hex") from None


def _int(text: str | None, what: str, top: int) -> int:
    if text is None or not text.isdigit() or int(text) > top:
        raise EisFormatError(f"{what} is not an integer 0..{top}")
    return int(text)


def key_versions(fields: list[Field] | None) -> list[int]:
    """The ISD-R key set versions an ``Eis`` group lists (ES7.HandoverEUICC)."""
    return [_int(_values(k).get("Version"), "KeySet Version", 0x7F)
            for isdr in _groups(fields or [], "Isd-r") for k in _groups(isdr, "KeySet")]


def parse_eis(fields: list[Field] | None, require_keys: bool = True
              ) -> tuple[str, str | None, EisDocument, list[ProfileRecord]]:
    """(EID, EUM id, document, profile records) of an ``Eis`` group; ISD-R keys are required in ES1,
    absent in ES7 (``require_keys`` False: key sets without keys are skipped)."""
    if fields is None:
        raise EisFormatError("no Eis")
    signed = next(iter(_groups(fields, "EumSignedInfo")), None)
    if signed is None:
        raise EisFormatError("no EumSignedInfo")
    values = _values(signed)
    eid = values.get("Eid", "")
    if len(eid) != 32 or not eid.isdigit():
        raise EisFormatError("Eid is not 32 decimal digits")
    doc = EisDocument(Eis(eid=bytes.fromhex(eid), ecasd_certificate=_hex(values.get("EcasdCertificate"), "EcasdCertificate")))
    states = {v: k for k, v in STATES.items()}
    records = []
    for profile in _groups(fields, "ProfileInfo"):
        p = _values(profile)
        aid = _hex(p.get("Isd-p-aid"), "Isd-p-aid")
        if len(aid) != 16:
            raise EisFormatError("Isd-p-aid is not a 16-byte AID")
        state = states.get(p.get("State", ""), None)
        if state is None:
            raise EisFormatError(f"unknown profile State {p.get('State')!r}")
        doc.eis.profiles[aid] = ProfileInfo(aid, state, p.get("FallbackAttribute") == "true",
                                            p.get("EmergencyProfileAttribute") == "true", p.get("Smdp-id"))
        pol2 = next(iter(_groups(profile, "pol2")), [])
        address = next(iter(_groups(profile, "SubscriptionAddress")), None)
        imsi, msisdn = parse_subscription_address(address) if address is not None else (None, None)
        records.append(ProfileRecord(eid, aid.hex().upper(), p.get("Iccid"), p.get("Mno-id"), p.get("Smdp-id"),
                                     Pol2.from_fields(pol2), msisdn, imsi))
    for isdr in _groups(fields, "Isd-r"):
        for keyset in _groups(isdr, "KeySet"):
            k = _values(keyset)
            if "Psk" in k:
                kvn = _int(k.get("Version"), "KeySet Version", 0x7F)
                if kvn not in SCP81_KVNS:
                    raise EisFormatError(f"a Psk KeySet must have a Version {SCP81_KVNS.start}..{SCP81_KVNS.stop - 1}")
                doc.eis.psk_keysets[kvn] = PskKeyset(kvn, _hex(k.get("Psk"), "Psk"), _hex(k.get("Dek"), "Dek"))
                continue
            if not require_keys and "Kic" not in k:
                continue
            kvn = _int(k.get("Version"), "KeySet Version", 0x0F)
            try:
                kic_alg, kid_alg = ALGORITHMS[k.get("KicAlgorithm", "")], ALGORITHMS[k.get("KidAlgorithm", "")]
            except KeyError:
                raise EisFormatError(f"KeySet algorithms must be among {sorted(ALGORITHMS)}") from None
            doc.use_keyset(OtaKeyset(kvn, kic_alg, _hex(k.get("Kic"), "Kic"), kid_alg, _hex(k.get("Kid"), "Kid")))
            doc.eis.counters[kvn] = _int(k.get("Counter", "0"), "Counter", 0xFFFFFFFFFF)
    if require_keys and doc.active_keyset() is None:
        raise EisFormatError("no ISD-R KeySet: the SM-SR could not reach the card")
    return eid, values.get("Eum-Id"), doc, records
