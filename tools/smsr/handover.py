"""SM-SR change, GSMA SGP.02 v4.2 §3.8 (ES7 between the SM-SRs, ES5 to the ISD-R): the part both the
SM-SR services (:mod:`tools.m2m_services.smsr_change`, over SOAP) and the in-process command
(``euicc-emu smsr change-smsr``) run, so that they are one change, not two.

- ``KEY_SET_KINDS``: the ISD-R key sets a new SM-SR establishes (SPEC_NOTES §2.9 "new SCP80/81
  keys"): SCP80 (KVN '01'-'0F', three AES keys KIc / KID / DEK, KUQ '10') and SCP81 (KVN '40'-'4F',
  one PSK-TLS key, key type '85' GP CS Table 11-16, KUQ '5C', key ID 01; NJIWA's CreateSCP81KeySet
  [C NJIWA-B] also derives one key and no DEK).  Each is GP Amd E scenario #3 with its own
  ephemeral key: the keys come from the shared secret (X9.63 KDF, SPEC_NOTES §2.4), none travels.
- :class:`Relay`: the old SM-SR's two relay steps, ES7.AuthenticateSMSR (DGI '3A01', the card's RC
  back) and ES7.CreateAdditionalKeySet (DGI '3A02' CRT rebuilt by the old SM-SR from the ES7 fields,
  :func:`relayed_key_agreement`; the card's receipt back).
- :func:`establish_key_sets`: the new SM-SR's side for every kind, receipts verified.
- :func:`handed_over`: the EIS as ES7.HandoverEUICC carries it (no keys, their versions only; the
  audit trail, counters and notifications stay with the old SM-SR).
- :func:`finalise_items`: ES5.FinaliseISDRhandover's DELETE items for the old key sets.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from euicc import tlv
from tools.ota.packet import AES, OtaKeyset
from tools.m2m_services.eis_xml import eis_fields, key_versions, parse_eis
from tools.smsr.eis import SCP80_KVNS, SCP81_KVNS, PskKeyset
from tools.smsr.eis_file import EisDocument
from tools.smsr.key_establishment import (
    EstablishedKeys,
    KeyEstablishment,
    KeyEstablishmentError,
    certificate_command,
    crt,
    key_agreement_command,
)
from tools.smsr.settings import DEFAULT, M2mSettings
from tools.smsr.smsr import CHAIN_FIRST, CHAIN_LAST, SmSr, read_eid


@dataclass(frozen=True)
class KeySetKind:
    """One kind of ISD-R key set the new SM-SR establishes."""

    name: str
    kvns: range
    settings: M2mSettings
    last_key_id: int
    install: Callable[[EisDocument, EstablishedKeys], None]

    def kvn(self, taken: list[int]) -> int:
        """The first KVN of this kind the old SM-SR's key sets leave free."""
        return next(k for k in self.kvns if k not in taken)


def _install_scp80(doc: EisDocument, keys: EstablishedKeys) -> None:
    doc.use_keyset(OtaKeyset(keys.kvn, AES, keys.keys[0], AES, keys.keys[1]))
    doc.eis.counters[keys.kvn] = 0


def _install_scp81(doc: EisDocument, keys: EstablishedKeys) -> None:
    doc.eis.psk_keysets[keys.kvn] = PskKeyset(keys.kvn, keys.keys[0])


SCP80 = KeySetKind("SCP80", SCP80_KVNS, DEFAULT, 0x03, _install_scp80)
"""SGP.02 §2.2.1.1: KIc / KID / DEK as key IDs 01-03 (AES, GP Amd E KUQ '10')."""
SCP81 = KeySetKind("SCP81", SCP81_KVNS, dataclasses.replace(DEFAULT, key_usage_qualifier=0x5C, key_type=0x85),
                   0x02, _install_scp81)
"""GP Amd B PSK-TLS key set: the PSK as key ID 01 (a DEK, key ID 02, only if later PUT); deleted as keys 01-02
(WHTY's FinaliseISDRhandover vector 'F2 03 41 01 02' [C WHTY])."""
KEY_SET_KINDS: tuple[KeySetKind, ...] = (SCP80, SCP81)


def kind_of(kvn: int) -> KeySetKind | None:
    return next((k for k in KEY_SET_KINDS if kvn in k.kvns), None)


def finalise_items(kvns: list[int] | tuple[int, ...]) -> list[tuple[int, int, int]]:
    """ES5.FinaliseISDRhandover / rollback items 'F2 03 KVN first last' for key sets ``kvns``."""
    return [(kvn, 0x01, kind.last_key_id) for kvn in kvns if (kind := kind_of(kvn)) is not None]


def relayed_key_agreement(kvn: int, counter: int, scenario: int, epk: bytes, signature: bytes,
                          s: M2mSettings = DEFAULT) -> bytes:
    """The STORE DATA the old SM-SR relays for ES7.CreateAdditionalKeySet: the CRT rebuilt from the
    function's fields with the kind of ``kvn`` (its KUQ and key type; the new SM-SR signed that CRT);
    :class:`ValueError` for a KVN of no kind."""
    kind = kind_of(kvn)
    if kind is None:
        raise ValueError(f"KVN {kvn:02X} is neither an SCP80 nor an SCP81 key set version")
    settings = dataclasses.replace(kind.settings, scenario_parameter=scenario)
    crt_tlv = crt(settings, kvn, 0x01, counter.to_bytes(5, "big") if counter else b"")
    return key_agreement_command(crt_tlv, epk, signature, s)


class Relay(Protocol):
    """What the new SM-SR asks of the old one (ES7, SGP.02 §5.6)."""

    def authenticate_smsr(self, certificate: bytes) -> bytes:
        """ES7.AuthenticateSMSR: relay CERT.SR; the card's random challenge back."""

    def create_additional_key_set(self, kvn: int, scenario: int, epk: bytes, signature: bytes) -> bytes:
        """ES7.CreateAdditionalKeySet: relay the key agreement; the card's '[85 DR] 86 receipt' back."""


def establish_key_sets(relay: Relay, key: ec.EllipticCurvePrivateKey, certificate: bytes,
                       ecasd: ec.EllipticCurvePublicKey, taken: list[int], doc: EisDocument) -> None:
    """GP Amd E scenario #3 through ``relay`` for every kind; each verified key set goes into ``doc``.
    :class:`KeyEstablishmentError` on a bad answer."""
    for kind in KEY_SET_KINDS:
        ke = KeyEstablishment(key, certificate, ecasd, kind.kvn(taken), kind.settings)
        ke.process_challenge(tlv.tlv(0x85, relay.authenticate_smsr(certificate)))
        epk, signature = ke.key_agreement()
        keys = ke.process_receipt(relay.create_additional_key_set(ke.kvn, kind.settings.scenario_parameter,
                                                                  epk, signature))
        kind.install(doc, keys)


def handed_over(doc: EisDocument) -> tuple[EisDocument, list[int]]:
    """The EIS ES7.HandoverEUICC gives the new SM-SR (through its ES7 form, keys left out) and the
    versions of the old SM-SR's key sets."""
    fields = eis_fields(doc.eis.eid.hex(), doc, [], None, key_versions=True)
    return parse_eis(fields, require_keys=False)[2], key_versions(fields)


class _DirectRelay:
    """The old SM-SR relaying in the same process (its SCP80 key set, TS 102 226 script chaining)."""

    def __init__(self, old: SmSr) -> None:
        self.old = old

    def authenticate_smsr(self, certificate: bytes) -> bytes:
        rapdus = self.old.execute([certificate_command(certificate, self.old.s)], self.old.s.isd_r_tar,
                                  "AuthenticateSMSR", CHAIN_FIRST)
        try:
            return tlv.unwrap(rapdus[-1][:-2], 0x85)
        except tlv.TlvError as exc:
            raise KeyEstablishmentError(f"no random challenge in {rapdus[-1].hex()}") from exc

    def create_additional_key_set(self, kvn: int, scenario: int, epk: bytes, signature: bytes) -> bytes:
        command = relayed_key_agreement(kvn, 0, scenario, epk, signature, self.old.s)
        return self.old.execute([command], self.old.s.isd_r_tar, "CreateAdditionalKeySet", CHAIN_LAST)[-1][:-2]


def change_smsr(old: SmSr, new_key: ec.EllipticCurvePrivateKey, new_certificate: bytes,
                ecasd_public: ec.EllipticCurvePublicKey, name: str = "SM-SR2",
                finalise: bool = True) -> SmSr:
    """Hand the eUICC from ``old`` to a new SM-SR in one process; returns the new SM-SR attached to the
    terminal.  The same steps as the services' change, without SOAP and without crash recovery."""
    if not old.eis.eid and old.terminal is not None:
        old.eis.eid = read_eid(old.terminal)
    doc, old_kvns = handed_over(EisDocument(old.eis, old.keyset.kvn))
    establish_key_sets(_DirectRelay(old), new_key, new_certificate, ecasd_public, old_kvns, doc)
    doc.eis.log(f"taken over from {old.name} (ES7.HandoverEUICC)")
    new = SmSr(doc.eis, doc.eis.keysets[doc.active_kvn or 0], old.s, name)
    new.attach(old.terminal)
    if finalise:
        new.finalise_isdr_handover(finalise_items(old_kvns))
    return new
