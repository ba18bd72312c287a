"""Codings of GSMA SGP.02 v4.2 that public sources leave open or disagree on, as one settings object.

Every value marked [R] (recalled) or [U] (unverified) in SPEC_NOTES §2/§8 is a field here with the
default the project ships; the SM-SR, SM-DP and terminal simulators take a :class:`M2mSettings`
so a test (or a user facing a real card) can switch a coding without touching the builders.
"""
from __future__ import annotations

from dataclasses import dataclass

AID_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF89")
"""SGP.02 Annex H: every SGP.02 security-domain AID is this prefix || TAR(3) || '00'."""


def aid_for_tar(tar: bytes) -> bytes:
    """SGP.02 Annex H: AID = prefix || TAR || '00'."""
    if len(tar) != 3:
        raise ValueError("a TAR is 3 bytes")
    return AID_PREFIX + tar + b"\x00"


def tar_of(aid: bytes) -> bytes:
    """SGP.02 Annex H: the TAR of a domain is bytes 13-15 of its AID."""
    if len(aid) != 16 or aid[:12] != AID_PREFIX:
        raise ValueError("not an SGP.02 Annex H AID")
    return aid[12:15]


@dataclass(frozen=True)
class M2mSettings:
    """Host-side SGP.02 codings (defaults: SPEC_NOTES §2.3-§2.8, §8)."""

    isd_r_tar: bytes = bytes.fromhex("000001")          # SGP.02 Annex H [C]
    ecasd_tar: bytes = bytes.fromhex("000002")          # SGP.02 Annex H [C]
    elf_tar: bytes = bytes.fromhex("00000D")            # ISD-P executable load file '...0D00' [C]
    module_tar: bytes = bytes.fromhex("00000E")         # ISD-P executable module '...0E00' [C]
    first_isdp_tar: int = 0x000010                      # ISD-P TAR range 000010-00FFFF [C]
    # -- ES5 APDU forms (SPEC_NOTES §2.3) --
    isdp_privileges: bytes = bytes.fromhex("80C000")    # INSTALL privileges (meaning [R])
    isdp_install_params: bytes = bytes.fromhex("C90481020370")  # SCP03 i=70 [C]
    append_le: bool = True                               # NJIWA-B / WHTY append Le '00'
    delete_p2: int = 0x40                                # DELETE P2 used by both harnesses
    smsr_address_ton_npi: int = 0x85                     # WHTY's byte inside '3A07 A3 81' [U]
    # SetEmergencyProfileAttribute DGI [U]: no public source codes it (SPEC_NOTES §8 item 2); '3A06', the gap
    # in '3A01'-'3A08', is left for the likelier UpdatePOL1; '3A09' is the card's default too.
    emergency_dgi: int = 0x3A09
    # -- SCP80 for ES5 over SMS (SPEC_NOTES §3.1) --
    spi: bytes = bytes.fromhex("1639")                  # counter higher, CC, ciphered; PoR CC ciphered SMS-SUBMIT [C]
    cc_length: int = 8
    isdp_over_isdr_keys: bool = True                     # ES8 via the ISD-P TAR with ISD-R keys [R] (§8 item 7)
    script_chaining: bool = True                         # TS 102 226 '83' tag across scripts of one session [C NJIWA-B]
    audit_next_occurrences: int = 7                      # GET STATUS 'next' commands in the audit script [U]
    # -- key establishment, GP Amd E scenario #3 (SPEC_NOTES §2.4) --
    scenario_parameter: int = 0x09                       # WHTY vector [C WHTY]
    key_usage_qualifier: int = 0x10                      # three keys [C]
    key_type: int = 0x88                                 # AES
    key_length: int = 0x10                               # 16-byte keys
    epk_with_b0_f0: bool = True                          # '7F49 {B0 point, F0 ref}' (NJIWA-B); False: bare point (WHTY)
    curve_reference: int = 0x00                          # NIST P-256
    isdp_scp03_kvn: int = 0x30
    token_kvn: int = 0x70                                # ISD-P delete-token key, PUT KEY by the SM-DP [C WHTY]
    new_isdr_kvn: int = 0x02                             # SCP80 KVN established for a new SM-SR [C WHTY]
    # -- notifications (SPEC_NOTES §2.8) --
    notification_aid_tags: tuple[int, ...] = (0x2F, 0xAF, 0x4F)  # NJIWA-B / WHTY (§8 item 4)
    # -- SCP03t over the ISD-P (SPEC_NOTES §2.5) --
    scp03t_key_id: int = 0x00                            # INITIALIZE UPDATE key ID [C WHTY]
    scp03t_security_level: int = 0x33
    profile_segment_size: int = 1024                     # bytes of UPP per '86' TLV (one SCP80 packet, ~9 SMS)

    def isdr_aid(self) -> bytes:
        return aid_for_tar(self.isd_r_tar)

    def ecasd_aid(self) -> bytes:
        return aid_for_tar(self.ecasd_tar)

    def elf_aid(self) -> bytes:
        return aid_for_tar(self.elf_tar)

    def module_aid(self) -> bytes:
        return aid_for_tar(self.module_tar)


DEFAULT = M2mSettings()
