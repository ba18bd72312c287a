"""Settings of the SGP.02 v4.2 card side: every coding that public sources leave open
(SPEC_NOTES §8) is a field here with its documented default, so that one object decides.

Values marked [U] are not in any public source; [R] are readings of the spec's intent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from euicc.cat.catp.endpoint import CatTpSettings
from euicc.crypto.scp80 import MSL_CC_CIPHER_COUNTER_HIGHER, MinimumSecurityLevel, Scp80Settings
from euicc.ota.scp81.settings import Scp81Settings

ISDR_TAR = bytes.fromhex("000001")          # SGP.02 Annex H
SW_POL1 = 0x69E1                             # "POL1 of the profile prevents this action"

# SGP.02 v4.2 §4.1.1 STORE DATA DGIs (SPEC_NOTES §2.3)
DGI_CERTIFICATE = 0x3A01
DGI_KEY_AGREEMENT = 0x3A02
DGI_ENABLE = 0x3A03
DGI_DISABLE = 0x3A04
DGI_FALLBACK = 0x3A05
DGI_CONNECTIVITY = 0x3A07
DGI_CONFIRMATION = 0x3A08

# SGP.02 notification types (SPEC_NOTES §2.8)
NOTIF_DECLARATION = 0x01
NOTIF_PROFILE_CHANGE = 0x02
NOTIF_ROLLBACK = 0x03
NOTIF_FALLBACK = 0x05

# GP Amd E certificate roles (tag 73 / C8)
ROLE_SM_DP, ROLE_SM_SR = 0x01, 0x02


@dataclass(frozen=True)
class Pol1Coding:
    """Bit coding of the POL1 byte [U: SPEC_NOTES §8.1, setting ``pol1_bitmap``]."""

    disable_not_allowed: int = 0x01
    delete_not_allowed: int = 0x02
    delete_when_disabled: int = 0x04


@dataclass(frozen=True)
class M2mSettings:
    """Emulator choices for SGP.02 (see SPEC_NOTES §2 and §8 for each default's source).

    - ``dgi_emergency``: DGI of ES5.SetEmergencyProfileAttribute [U; default '3A09': no public
      source codes it (SPEC_NOTES §8 item 2); '3A06', the gap in '3A01'-'3A08', is kept free for
      the likelier UpdatePOL1; the host's ``tools.smsr.settings.M2mSettings.emergency_dgi`` agrees].
    - ``refresh_qualifier``: REFRESH after a profile switch (TS 102 223 §6.4.7; '04' UICC reset).
    - ``notification_aid_tag``: '2F' (NJIWA-B) or '4F' (WHTY quirk) [U: §8.4].
    - ``notification_retry_interval`` / ``notification_max_sends``: repetition of the SEND SHORT
      MESSAGE until ES5.HandleNotificationConfirmation [U: §8.9].
    - ``validity_period``: seconds after which an unconfirmed profile switch is rolled back
      (type '03' notification) [U: §8.9].
    - ``notification_spi`` / ``notification_kic`` / ``notification_kid`` algorithm nibbles: the
      SCP80 Command Packet of a notification (no counter, SPEC_NOTES §2.8) [R].
    - ``fallback_no_service_events``: consecutive location status 'no service' events that
      trigger the Fall-Back mechanism [R: "implementation specific", §2.7].
    - ``fallback_return_after``: seconds after a Fall-Back activation (or a failed return) after
      which the next EVENT DOWNLOAD makes the eUICC return to the profile the mechanism disabled
      (SGP.02 v4.2 "return from Fall-Back"; the device-side trigger is not specified publicly, §2.7
      [R]); ``None``: only the SM-SR ends the Fall-Back state (ES5.EnableProfile).
    - ``isdr_minimum_security_level``: Minimum Security Level (TS 102 226 §8.2.1.3.2.2 coding) of
      the ISD-R and ISD-P TARs: SGP.02 §2.4 secures ES5/ES8 packets with a cryptographic checksum,
      ciphering and a counter that must be higher, so MSL '01 16' (Minimum SPI1 '16').  It also
      guards ``rfm_tars`` (secured with SGP.02-installed ISD-P key sets) [R].
    - ``isdp_tars_use_isdr_keys``: ISD-P TARs are secured with the ISD-R key sets [U: §8.7].
    - ``rfm_tars``: TARs of the enabled profile's remote file management (TS 101 220 Annex D).
    - ``max_reserved_nvm``: the largest 'EF 83' quota an ISD-P may reserve ('6A84' beyond).
    - ``token_kvn``: KVN of an ISD-P's delete-token key (Master Delete) [C WHTY: '70'].
    - ``scenario_04_supported``: GP Amd E scenario bit '04' (HostID/SDIN in shared info) [U].
    - ``bip_parameter_templates``: the sub-templates of the connectivity parameters (DGI '3A07')
      whose '35' bearer description and '47' network access name a BIP channel uses, first found
      wins [R: 'A1' CAT_TP and 'A2' HTTP parameters after the 'A0' SMS parameters; SPEC_NOTES §8
      item 3 leaves them U].
    - ``bip_buffer_size``: the buffer a BIP channel asks for (TS 102 223 §8.55) [R].
    - ``location_poll_interval``: seconds between PROVIDE LOCAL INFORMATION (location
      information, TS 102 223 §6.4.15) when the terminal cannot report location status events
      but declares that command and timers [R].
    - ``scp81``: the SCP81 administration agent's settings (GP Amd B, :mod:`euicc.ota.scp81.settings`).
    - ``cat_tp``: the ISD-R's CAT_TP endpoint (TS 102 127, :class:`~euicc.cat.catp.endpoint.CatTpSettings`);
      ``cat_tp_local_port``: its CAT_TP source port on a link the SM-SR's PUSH asks for (TS 102
      226 §9; [U] no source names it).
    - ``notification_transport``: ``"sms"`` (SEND SHORT MESSAGE) or ``"https"`` (a session to the
      SM-SR's HTTPS address, SGP.02 §3.15; falls back to SMS while that address is unknown) [U:
      SGP.02 leaves the choice to the eUICC's configuration].
    """

    pol1: Pol1Coding = field(default_factory=Pol1Coding)
    dgi_emergency: int = 0x3A09
    refresh_qualifier: int = 0x04
    notification_aid_tag: int = 0x2F
    notification_retry_interval: float = 60.0
    notification_max_sends: int = 3
    validity_period: float = 180.0
    notification_spi: bytes = bytes.fromhex("0600")
    notification_kic_algorithm: int = 0x2   # AES (TS 102 225 §5.1.2)
    notification_kid_algorithm: int = 0x2   # AES CMAC
    fallback_no_service_events: int = 1
    fallback_return_after: float | None = 3600.0
    isdr_minimum_security_level: MinimumSecurityLevel = MSL_CC_CIPHER_COUNTER_HIGHER
    isdp_tars_use_isdr_keys: bool = True
    rfm_tars: frozenset[bytes] = frozenset({bytes.fromhex("B00000"), bytes.fromhex("B00010")})
    max_reserved_nvm: int = 0x100000
    token_kvn: int = 0x70
    scenario_04_supported: bool = False
    bip_parameter_templates: tuple[int, ...] = (0xA1, 0xA2)
    bip_buffer_size: int = 1400
    location_poll_interval: float = 300.0
    scp80: Scp80Settings = field(default_factory=Scp80Settings)
    scp81: Scp81Settings = field(default_factory=Scp81Settings)
    cat_tp: CatTpSettings = field(default_factory=CatTpSettings)
    cat_tp_local_port: int = 1026
    notification_transport: str = "sms"
