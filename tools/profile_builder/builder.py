"""Build an Unprotected Profile Package (TCA SAIP v3.3.1) from subscription parameters.

Element sequence (SAIP §2.2 / §8, shaped like the GSMA TS.48 v7 packages): ``header``, ``mf``,
``pukCodes``, ``pinCodes`` (MF: PIN1, ADM1[, ADM2]), ``telecom``, ``pinCodes`` (PIN2),
``usim``, ``opt-usim``, ``pinCodes`` (PIN2), ``akaParameter``, [``isim``, ``opt-isim``,
``pinCodes``, ``akaParameter``], ``securityDomain`` (MNO-SD), ``end``. PE identification
numbers count from 1 in this order. The header lists the mandatory services implied by the
content and, as ``eUICC-Mandatory-GFSTEList``, every template OID the PEs use.

Free of host-only dependencies: the card's first-run code imports :func:`default_test_profile`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from euicc.profiles.saip_codec import encode_upp

from . import coding
from .files import (ECC_RECORDS, ISIM_ARR_RECORDS, ISIM_FILES, MF_ARR_RECORDS, MF_FILES,
                    OPT_ISIM_FILES, OPT_USIM_FILES, TELECOM_FILES, TEMPLATE_ISIM, TEMPLATE_MF,
                    TEMPLATE_OPT_ISIM, TEMPLATE_OPT_USIM, TEMPLATE_TELECOM, TEMPLATE_USIM,
                    USIM_ARR_RECORDS, USIM_FILES, EfSpec, df_fcp)

# TCA SAIP v3.3.1 PINKeyReferenceValue / PUKKeyReferenceValue.
PIN_APPL1, SECOND_PIN_APPL1, ADM1, ADM2 = 0x01, 0x81, 0x0A, 0x0B
PUK_APPL1, SECOND_PUK_APPL1 = 0x01, 0x81
# TS 31.102 §4.2.8 UST services the built USIM provides files for: SMS, SMSP, GID1, GID2, SPN,
# PLMNwAcT, MSISDN, 33 ("shall be set to 1"), EST, OPLMNwAcT, HPLMNwAcT, EHPLMN, EPS MM info.
UST_SERVICES = frozenset({10, 12, 17, 18, 19, 20, 21, 33, 34, 42, 43, 71, 85})
UST_SIZE = 17
IST_SERVICES = frozenset({1})  # TS 31.103 §4.2.7: P-CSCF address (EF.P-CSCF in opt-isim)
# TS 35.206 §4.1 default Milenage constants r1..r5 (bits) and c1..c5.
MILENAGE_R = bytes.fromhex("4000204060")
MILENAGE_C = bytes(31) + b"\x01" + bytes(15) + b"\x02" + bytes(15) + b"\x04" + bytes(15) + b"\x08"
ALGORITHM_ID = {"milenage": 1, "tuak": 2, "xor": 3}  # SAIP AlgoParameter.algorithmID
# MNO-SD instance of the TS.48 v7 packages (GP ISD package/class, AID A000000151000000).
MNO_SD_INSTANCE = {
    "applicationLoadPackageAID": bytes.fromhex("A0000001515350"),
    "classAID": bytes.fromhex("A000000151535041"),
    "instanceAID": bytes.fromhex("A000000151000000"),
    "applicationPrivileges": bytes.fromhex("82DC00"),
    "lifeCycleState": bytes.fromhex("0F"),
    "applicationSpecificParametersC9": bytes.fromhex("810280008201F08301F08701F0"),
    "applicationParameters": {
        "uiccToolkitApplicationSpecificParametersField": bytes.fromhex(
            "010000000002010206B2010000000000")},
}
# GP card recognition data stored in the MNO-SD (STORE DATA DGI 0070), as in TS.48 v7.
MNO_SD_PERSO = bytes.fromhex("0070326630732E06072A864886FC6B01600B06092A864886FC6B020202630906"
                             "072A864886FC6B03640B06092A864886FC6B048000")
KEY_TYPES = {"des": b"\x80", "aes": b"\x88"}  # GP Card Spec v2.3 Table 11-16
# Key usage qualifiers of KIc, KID, KIK (GP Card Spec §11.1.9), as in TS.48 v7.
KEY_USAGE = ((0x01, b"\x18"), (0x02, b"\x14"), (0x03, b"\x48"))


@dataclass(frozen=True)
class KeySet:
    """One MNO-SD key set (SCP80 KIc/KID/KIK) with its key version number."""

    kvn: int
    kic: bytes
    kid: bytes
    kik: bytes
    algorithm: str = "aes"

    def key_objects(self) -> list[dict[str, Any]]:
        """SAIP KeyObject list (§8.6.3) for this key set."""
        if self.algorithm not in KEY_TYPES:
            raise ValueError("key set algorithm must be 'aes' or 'des'")
        if not 1 <= self.kvn <= 0x7F:
            raise ValueError("KVN must be 1..127")
        lengths = (16, 24, 32) if self.algorithm == "aes" else (16, 24)
        out = []
        for (kid, usage), key in zip(KEY_USAGE, (self.kic, self.kid, self.kik)):
            if len(key) not in lengths:
                raise ValueError(f"{self.algorithm.upper()} key of {len(key)} bytes")
            out.append({"keyUsageQualifier": usage, "keyIdentifier": bytes([kid]),
                        "keyVersionNumber": bytes([self.kvn]),
                        "keyComponents": [{"keyType": KEY_TYPES[self.algorithm], "keyData": key}]})
        return out


@dataclass(frozen=True)
class IsimParameters:
    """ISIM identities (TS 31.103 §4.2.2 IMPI, §4.2.4 IMPU, §4.2.3 home network domain)."""

    impi: str
    impu: tuple[str, ...]
    domain: str


@dataclass(frozen=True)
class ProfileParameters:
    """Everything the builder needs. Byte values are raw bytes; digits are strings.

    ``amf`` is not part of a SAIP package (PE-AKAParameter has no AMF; the network sends it
    in AUTN, TS 33.102 §6.3.3); it is kept here for the network-side tools.
    ``algorithm_options`` is SAIP ``AlgoParameter.algorithmOptions``; its bit meanings were not
    verified, the default '02' is the TS.48 v7 value.
    """

    iccid: str
    imsi: str
    k: bytes
    opc: bytes | None = None
    op: bytes | None = None
    amf: bytes = b"\x80\x00"
    algorithm: str = "milenage"
    milenage_r: bytes = MILENAGE_R
    milenage_c: bytes = MILENAGE_C
    keccak_iterations: int = 1
    algorithm_options: bytes = b"\x02"
    mnc_length: int = 2
    pin1: str = "0000"
    pin2: str = "9999"
    puk1: str = "11111111"
    puk2: str = "22222222"
    adm1: str = "55555555"
    adm2: str | None = None
    spn: str = "euicc-emu"
    spn_display_condition: int = 0x01
    access_class: int | None = None
    ue_operation_mode: int = 0x00
    key_sets: tuple[KeySet, ...] = ()
    isim: IsimParameters | None = None
    profile_type: str = "euicc-emu test profile"
    version: tuple[int, int] = (2, 3)
    usim_aid: bytes = bytes.fromhex("A0000000871002FF49FF0589")
    isim_aid: bytes = bytes.fromhex("A0000000871004FF49FF0589")
    extra_services: frozenset[str] = field(default_factory=frozenset)

    @property
    def mcc(self) -> str:
        return self.imsi[:3]

    @property
    def mnc(self) -> str:
        return self.imsi[3:3 + self.mnc_length]

    def resolved_opc(self) -> bytes:
        """OPc (Milenage, TS 35.206 §4.1: OPc = E_K(OP) xor OP) or TOPc (TUAK, given as is)."""
        if self.algorithm == "xor":
            return self.opc if self.opc is not None else bytes(16)
        if (self.opc is None) == (self.op is None):
            raise ValueError("give exactly one of OPc and OP")
        if self.opc is not None:
            return self.opc
        if self.algorithm != "milenage":
            raise ValueError("TUAK needs TOPc (deriving it from TOP needs Keccak, not offered here)")
        if len(self.k) != 16 or len(self.op) != 16:
            raise ValueError("Milenage K and OP are 16 bytes")
        enc = Cipher(algorithms.AES(self.k), modes.ECB()).encryptor()
        cipher = enc.update(self.op) + enc.finalize()
        return bytes(a ^ b for a, b in zip(cipher, self.op))


def _file(spec: EfSpec | dict[str, Any], *content: tuple[str, Any]) -> list[tuple[str, Any]]:
    fcp = spec.fcp() if isinstance(spec, EfSpec) else spec
    return [("fileDescriptor", fcp), *content]


def _data(data: bytes) -> tuple[str, bytes]:
    return ("fillFileContent", data)


def _records(spec: EfSpec, records: Sequence[bytes]) -> list[tuple[str, Any]]:
    """Fill commands writing one record after the other (SAIP §8.3.3 fillFileOffset)."""
    out: list[tuple[str, Any]] = []
    for index, record in enumerate(records):
        if len(record) > spec.record_length:
            raise ValueError(f"record {index + 1} of EF {spec.fid} is too long")
        out.append(_data(record))
        if index < len(records) - 1 and len(record) < spec.record_length:
            out.append(("fillFileOffset", spec.record_length - len(record)))
    return _file(spec, *out)


def _hexrecords(hexes: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def _dir_record(aid: bytes, label: str) -> bytes:
    """EF.DIR application template (TS 102 221 §13.1): 61 {4F AID, 50 label}."""
    body = b"\x4f" + bytes([len(aid)]) + aid + b"\x50" + bytes([len(label)]) + label.encode()
    return b"\x61" + bytes([len(body)]) + body


class ProfileBuilder:
    """Turns :class:`ProfileParameters` into the ordered list of (PE name, value) pairs."""

    def __init__(self, params: ProfileParameters) -> None:
        self.p = params
        self._elements: list[tuple[str, dict[str, Any]]] = []
        self._templates: list[str] = []

    def elements(self) -> list[tuple[str, dict[str, Any]]]:
        p = self.p
        self._validate()
        self._add("mf", self._mf(), TEMPLATE_MF)
        self._add("pukCodes", {"pukCodes": self._puks()})
        self._add("pinCodes", {"pinCodes": ("pinconfig", self._mf_pins())})
        self._add("telecom", self._telecom(), TEMPLATE_TELECOM)
        self._add("pinCodes", {"pinCodes": ("pinconfig", [self._pin2()])})
        self._add("usim", self._usim(), TEMPLATE_USIM)
        self._add("opt-usim", self._opt_usim(), TEMPLATE_OPT_USIM)
        self._add("pinCodes", {"pinCodes": ("pinconfig", [self._pin2()])})
        self._add("akaParameter", self._aka())
        if p.isim is not None:
            self._add("isim", self._isim(p.isim), TEMPLATE_ISIM)
            self._add("opt-isim", self._opt_isim(), TEMPLATE_OPT_ISIM)
            self._add("pinCodes", {"pinCodes": ("pinconfig", [self._pin2()])})
            self._add("akaParameter", self._aka())
        self._add("securityDomain", self._security_domain())
        self._add("end", {})
        return [("header", self._header())] + self._elements

    def _validate(self) -> None:
        p = self.p
        if p.algorithm not in ALGORITHM_ID:
            raise ValueError("algorithm must be milenage, tuak or xor")
        if p.mnc_length not in (2, 3):
            raise ValueError("MNC length must be 2 or 3")
        coding.imsi_ef(p.imsi)
        coding.iccid_header_bcd(p.iccid)

    def _add(self, name: str, body: dict[str, Any], template: str | None = None) -> None:
        header_key = {"pukCodes": "puk-Header", "pinCodes": "pin-Header",
                      "securityDomain": "sd-Header", "akaParameter": "aka-header",
                      "opt-usim": "optusim-header", "opt-isim": "optisim-header"}.get(
                          name, f"{name}-header")
        value = {header_key: {"mandated": None, "identification": len(self._elements) + 1}}
        if template is not None:
            value["templateID"] = template
            if template not in self._templates:
                self._templates.append(template)
        value.update(body)
        self._elements.append((name, value))

    def _header(self) -> dict[str, Any]:
        p = self.p
        services: dict[str, None] = {"usim": None}
        if p.isim is not None:
            services["isim"] = None
        if p.algorithm == "milenage":
            services["milenage"] = None
        elif p.algorithm == "tuak":
            services["tuak256" if len(p.k) == 32 else "tuak128"] = None
        else:
            services["usim-test-algorithm"] = None
        services.update(dict.fromkeys(sorted(p.extra_services)))
        return {"major-version": p.version[0], "minor-version": p.version[1],
                "profileType": p.profile_type, "iccid": coding.iccid_header_bcd(p.iccid),
                "eUICC-Mandatory-services": services,
                "eUICC-Mandatory-GFSTEList": list(self._templates)}

    def _pin_refs(self, local: bool) -> bytes:
        refs = ([SECOND_PIN_APPL1] if local else []) + [PIN_APPL1, ADM1]
        return bytes(refs + ([ADM2] if self.p.adm2 else []))

    def _mf(self) -> dict[str, Any]:
        p = self.p
        dir_records = [_dir_record(p.usim_aid, "USIM")]
        if p.isim is not None:
            dir_records.append(_dir_record(p.isim_aid, "ISIM"))
        return {
            "mf": [("fileDescriptor", {"securityAttributesReferenced": bytes.fromhex("2F0601"),
                                       "pinStatusTemplateDO": self._pin_refs(local=False)})],
            "ef-pl": _file(MF_FILES["ef-pl"]),
            "ef-iccid": _file(MF_FILES["ef-iccid"], _data(coding.iccid_ef(p.iccid))),
            "ef-dir": _records(MF_FILES["ef-dir"], dir_records),
            "ef-arr": _records(MF_FILES["ef-arr"], _hexrecords(MF_ARR_RECORDS)),
            "ef-umpc": _file(MF_FILES["ef-umpc"], _data(bytes.fromhex("3C3C000000"))),
        }

    def _puks(self) -> list[dict[str, Any]]:
        return [{"keyReference": PUK_APPL1, "pukValue": coding.pin_value(self.p.puk1, "PUK1")},
                {"keyReference": SECOND_PUK_APPL1,
                 "pukValue": coding.pin_value(self.p.puk2, "PUK2")}]

    def _mf_pins(self) -> list[dict[str, Any]]:
        p = self.p
        pins = [{"keyReference": PIN_APPL1, "pinValue": coding.pin_value(p.pin1, "PIN1"),
                 "unblockingPINReference": PUK_APPL1, "pinAttributes": 6,
                 "maxNumOfAttemps-retryNumLeft": 0x33},
                {"keyReference": ADM1, "pinValue": coding.pin_value(p.adm1, "ADM1"),
                 "pinAttributes": 3, "maxNumOfAttemps-retryNumLeft": 0xAA}]
        if p.adm2:
            pins.append({"keyReference": ADM2, "pinValue": coding.pin_value(p.adm2, "ADM2"),
                         "pinAttributes": 3, "maxNumOfAttemps-retryNumLeft": 0xAA})
        return pins

    def _pin2(self) -> dict[str, Any]:
        return {"keyReference": SECOND_PIN_APPL1, "pinValue": coding.pin_value(self.p.pin2, "PIN2"),
                "unblockingPINReference": SECOND_PUK_APPL1, "pinAttributes": 3,
                "maxNumOfAttemps-retryNumLeft": 0x33}

    def _telecom(self) -> dict[str, Any]:
        return {"df-telecom": _file(df_fcp("7F10", self._pin_refs(local=True))),
                "ef-arr": _file(TELECOM_FILES["ef-arr"])}

    def _usim(self) -> dict[str, Any]:
        p = self.p
        f = USIM_FILES
        plmn = coding.plmn(p.mcc, p.mnc)
        access_class = int(p.imsi[-1]) if p.access_class is None else p.access_class
        if not 0 <= access_class <= 15:
            raise ValueError("access class must be 0..15")
        acc = (1 << access_class).to_bytes(2, "big")  # TS 31.102 §4.2.15
        value: dict[str, Any] = {
            "adf-usim": _file(df_fcp("7FD0", self._pin_refs(local=True), p.usim_aid)),
            "ef-imsi": _file(f["ef-imsi"], _data(coding.imsi_ef(p.imsi))),
            "ef-arr": _records(f["ef-arr"], _hexrecords(USIM_ARR_RECORDS)),
            "ef-ust": _file(f["ef-ust"], _data(coding.service_table(UST_SERVICES, UST_SIZE))),
            "ef-spn": _file(f["ef-spn"], _data(coding.spn_ef(p.spn, p.spn_display_condition))),
            "ef-est": _file(f["ef-est"], _data(b"\x00")),
            "ef-acc": _file(f["ef-acc"], _data(acc)),
            "ef-ecc": _records(f["ef-ecc"], _hexrecords(ECC_RECORDS)),
            "ef-hpplmn": _file(f["ef-hpplmn"], _data(b"\x00")),
            "ef-start-hfn": _file(f["ef-start-hfn"], _data(bytes.fromhex("F00000F00000"))),
            # TS 31.102 §4.2.17/§4.2.23/§4.2.91: "not updated" location info on our PLMN.
            "ef-loci": _file(f["ef-loci"], _data(b"\xff" * 4 + plmn + bytes.fromhex("FFFEFF01"))),
            "ef-psloci": _file(f["ef-psloci"],
                               _data(b"\xff" * 7 + plmn + bytes.fromhex("FFFEFF01"))),
            "ef-epsloci": _file(f["ef-epsloci"], ("fillFileOffset", 12),
                                _data(bytes.fromhex("000000000001"))),
            # TS 31.102 §4.2.18: UE operation mode, RFU, MNC length.
            "ef-ad": _file(f["ef-ad"], _data(bytes([p.ue_operation_mode, 0, 0, p.mnc_length]))),
        }
        for name in ("ef-keys", "ef-keysPS", "ef-fdn", "ef-sms", "ef-smsp", "ef-smss",
                     "ef-threshold", "ef-fplmn", "ef-netpar", "ef-epsnsc"):
            value[name] = _file(f[name])
        return value

    def _opt_usim(self) -> dict[str, Any]:
        f = OPT_USIM_FILES
        unused = bytes.fromhex("FFFFFF0000")  # TS 31.102 §4.2.5: empty PLMN + AcT entry
        ehplmn = coding.plmn(self.p.mcc, self.p.mnc).ljust(int(f["ef-ehplmn"].size, 16), b"\xff")
        return {
            "ef-li": _file(f["ef-li"]),
            "ef-gid1": _file(f["ef-gid1"], _data(b"\xff\xff")),
            "ef-gid2": _file(f["ef-gid2"], _data(b"\xff\xff")),
            "ef-msisdn": _file(f["ef-msisdn"]),
            **{name: _file(f[name], _data(unused * (int(f[name].size, 16) // 5)))
               for name in ("ef-plmnwact", "ef-oplmnwact", "ef-hplmnwact")},
            "ef-ehplmn": _file(f["ef-ehplmn"], _data(ehplmn)),
        }

    def _aka(self) -> dict[str, Any]:
        p = self.p
        if p.algorithm == "tuak":
            if len(p.k) not in (16, 32):
                raise ValueError("TUAK K is 16 or 32 bytes")
            if not 1 <= p.keccak_iterations <= 255:
                raise ValueError("Keccak iterations must be 1..255")
        elif len(p.k) != 16:
            raise ValueError("K must be 16 bytes")
        opc = p.resolved_opc()
        if len(opc) != (32 if p.algorithm == "tuak" else 16):
            raise ValueError("OPc is 16 bytes (Milenage) / TOPc 32 bytes (TUAK)")
        if len(p.milenage_r) != 5 or len(p.milenage_c) != 80:
            raise ValueError("Milenage r is 5 bytes and c is 80 bytes")
        algo: dict[str, Any] = {"algorithmID": ALGORITHM_ID[p.algorithm],
                                "algorithmOptions": p.algorithm_options, "key": p.k, "opc": opc}
        if p.algorithm == "milenage":
            algo.update(rotationConstants=p.milenage_r, xoringConstants=p.milenage_c)
        if p.algorithm == "tuak":
            algo["numberOfKeccak"] = p.keccak_iterations
        return {"algoConfiguration": ("algoParameter", algo)}

    def _isim(self, isim: IsimParameters) -> dict[str, Any]:
        f = ISIM_FILES
        return {
            "adf-isim": _file(df_fcp("7FB0", self._pin_refs(local=True), self.p.isim_aid)),
            "ef-impi": _file(f["ef-impi"], _data(coding.tlv80(isim.impi))),
            "ef-impu": _records(f["ef-impu"], [coding.tlv80(u) for u in isim.impu]),
            "ef-domain": _file(f["ef-domain"], _data(coding.tlv80(isim.domain))),
            "ef-ist": _file(f["ef-ist"], _data(coding.service_table(IST_SERVICES, 7))),
            "ef-ad": _file(f["ef-ad"], _data(bytes([self.p.ue_operation_mode, 0, 0]))),
            "ef-arr": _records(f["ef-arr"], _hexrecords(ISIM_ARR_RECORDS)),
        }

    def _opt_isim(self) -> dict[str, Any]:
        return {"ef-pcscf": _file(OPT_ISIM_FILES["ef-pcscf"])}

    def _security_domain(self) -> dict[str, Any]:
        value: dict[str, Any] = {"instance": dict(MNO_SD_INSTANCE), "sdPersoData": [MNO_SD_PERSO]}
        keys = [obj for key_set in self.p.key_sets for obj in key_set.key_objects()]
        if keys:
            value["keyList"] = keys
        return value


def build_elements(params: ProfileParameters) -> list[tuple[str, dict[str, Any]]]:
    """The ordered (PE name, value) list for ``params``."""
    return ProfileBuilder(params).elements()


def build_upp(params: ProfileParameters) -> bytes:
    """The DER Unprotected Profile Package for ``params``."""
    return encode_upp(build_elements(params))
