"""Profile Elements that carry secrets and settings: TCA SAIP v3.3.1 §8.4 (pinCodes, pukCodes),
§8.5 (akaParameter, cdmaParameter), §8.6 (securityDomain), §8.7 (application), §8.8 (rfm).

Everything is stored under the profile's ``fs/<fsid>/`` so that it goes with the profile:
PINs as :class:`~euicc.fs.pin.PinState`, NAA keys as
:class:`~euicc.auth.subscription.AkaSubscription`, the profile's security domains as GP
:class:`~euicc.gp.registry.RegistryEntry` under ``fs/<fsid>/registry/<AID>`` with their keys under
``fs/<fsid>/keys/<SD AID>/<KVN><KID>`` and their UICC toolkit parameters (TARs, MSL) under
``fs/<fsid>/sd-toolkit/<SD AID>``, RFM settings under ``fs/<fsid>/rfm/<AID>`` and Java Card
applications, which this card cannot run, as records under ``fs/<fsid>/applications/<n>``.

PIN attributes [U]: the meaning of the SAIP ``pinAttributes`` bits was not verified; this module
reads b1 as "PIN enabled" and b3 as "PIN may be disabled" (TS.48: PIN1 6 = disabled and
disablable, PIN2/ADM 3 = enabled, not disablable).  See :data:`PIN_ENABLED_BIT`.
"""
from __future__ import annotations

from typing import Any

from euicc.auth import subscription
from euicc.auth.errors import AuthParameterError
from euicc.auth.subscription import MILENAGE, TUAK, XOR_TEST, AkaSubscription
from euicc.fs import keys as fs_keys
from euicc.fs.pin import PinService, PinState, key_reference_valid
from euicc.gp.registry import KIND_APP, KIND_SD, RegistryEntry
from euicc.profiles.pe_filesystem import InstallContext
from euicc.profiles.saip_files import BAD_VALUES, FEATURE_NOT_SUPPORTED, PeError

PIN_ENABLED_BIT = 0x01        # [U] pinAttributes b1
PIN_DISABLE_ALLOWED_BIT = 0x04   # [U] pinAttributes b3
ALGORITHMS = {1: MILENAGE, 2: TUAK, 3: XOR_TEST}   # SAIP AlgoParameter.algorithmID
SQN_IND_BITS = 5              # sqnInit has 32 = 2^5 entries (SAIP §8.5.1, TS 33.102 Annex C)
DEFAULT_SQN_DELTA = bytes.fromhex("000010000000")


class KeyState:
    """PUKs seen so far (pukCodes precede the pinCodes that reference them) and counters."""

    def __init__(self) -> None:
        self.puks: dict[int, tuple[bytes, int, int]] = {}
        self.applications: list[bytes] = []
        self.security_domains: list[bytes] = []


def _counters(packed: int) -> tuple[int, int]:
    """maxNumOfAttemps-retryNumLeft: (max attempts, retries left) from the two nibbles."""
    return packed >> 4, packed & 0x0F


def install_puk_codes(ctx: InstallContext, keys: KeyState, value: dict[str, Any]) -> None:
    for puk in value["pukCodes"]:
        ref = puk["keyReference"]
        if ref in keys.puks:
            raise PeError(BAD_VALUES, f"PUK {ref:02X} defined twice")
        maximum, left = _counters(puk.get("maxNumOfAttemps-retryNumLeft", 0xAA))
        keys.puks[ref] = (puk["pukValue"], left, maximum)


def install_pin_codes(ctx: InstallContext, keys: KeyState, value: dict[str, Any]) -> None:
    choice, body = value["pinCodes"]
    if choice == "filePath":            # PINs shared with another DF: nothing new to store
        ctx.builder.resolve_path(body)
        return
    service = PinService(ctx.fs.store, ctx.fs.fsid, set())
    for pin in body:
        ref = pin["keyReference"]
        if not key_reference_valid(ref):
            raise PeError(BAD_VALUES, f"PIN key reference {ref:02X} not valid")
        maximum, left = _counters(pin.get("maxNumOfAttemps-retryNumLeft", 0x33))
        if not 0 < left <= maximum:
            raise PeError(BAD_VALUES, f"PIN {ref:02X}: retry counter {left} of {maximum}")
        attributes = pin.get("pinAttributes", 7)
        puk_ref = pin.get("unblockingPINReference")
        puk = puk_left = puk_max = None
        if puk_ref is not None:
            if puk_ref not in keys.puks:
                raise PeError(BAD_VALUES, f"PIN {ref:02X} references undefined PUK {puk_ref:02X}")
            puk, puk_left, puk_max = keys.puks[puk_ref]
        state = PinState(pin["pinValue"], left, maximum,
                         enabled=bool(attributes & PIN_ENABLED_BIT), puk=puk,
                         can_disable=bool(attributes & PIN_DISABLE_ALLOWED_BIT))
        if puk is not None:
            state = PinState(state.value, left, maximum, state.enabled, puk, puk_left, puk_max,
                             state.can_disable)
        service.set(ref, state)


def install_aka_parameter(ctx: InstallContext, value: dict[str, Any]) -> None:
    """PE-AKAParameter for the NAA created just before it (SAIP §8.5.1)."""
    if not ctx.last_naa:
        raise PeError(BAD_VALUES, "akaParameter before any NAA")
    aid = ctx.fs.node(ctx.last_naa).aid
    choice, config = value["algoConfiguration"]
    if choice == "mappingParameter":
        source = ctx.fs.store.get(fs_keys.aka(ctx.fs.fsid, config["mappingSource"]))
        if source is None:
            raise PeError(BAD_VALUES, "mappingSource names no NAA with AKA parameters")
        sub = source
    else:
        sub = _algorithm(config, value)
    try:
        sub.algorithm_set()
    except (AuthParameterError, ValueError) as exc:
        raise PeError(BAD_VALUES, f"AKA parameters: {exc}") from None
    ctx.fs.store.put(fs_keys.aka(ctx.fs.fsid, aid), sub)


def _algorithm(config: dict[str, Any], value: dict[str, Any]) -> AkaSubscription:
    algorithm = ALGORITHMS.get(config["algorithmID"])
    if algorithm is None:
        raise PeError(FEATURE_NOT_SUPPORTED, f"algorithmID {config['algorithmID']}")
    if algorithm == XOR_TEST:   # TS 34.108 §8.1.2: SQN checks and OPc do not apply
        return AkaSubscription(XOR_TEST, config["key"])
    sqn_init = value.get("sqnInit") or ()
    seq_ms = tuple(int.from_bytes(s, "big") for s in sqn_init)
    common = dict(
        ind_bits=SQN_IND_BITS,
        delta=int.from_bytes(value.get("sqnDelta", DEFAULT_SQN_DELTA), "big"),
        age_limit=int.from_bytes(value.get("sqnAgeLimit", DEFAULT_SQN_DELTA), "big"),
        seq_ms=seq_ms if any(seq_ms) else ())
    if algorithm == MILENAGE:
        rotations = config.get("rotationConstants", bytes.fromhex("4000204060"))
        constants = config.get("xoringConstants")
        return AkaSubscription(
            MILENAGE, config["key"], config["opc"], rotations=tuple(rotations),
            constants=(tuple(constants[i:i + 16] for i in range(0, 80, 16)) if constants
                       else subscription.DEFAULT_CONSTANTS), **common)
    return AkaSubscription(TUAK, config["key"], config["opc"],
                           iterations=config.get("numberOfKeccak", 1), **common)


def install_cdma_parameter(ctx: InstallContext, value: dict[str, Any]) -> None:
    """PE-CDMAParameter (SAIP §8.5.2): kept with the profile; CAVE is not provided by this card."""
    if not ctx.naa.get("csim"):
        raise PeError(BAD_VALUES, "cdmaParameter without a CSIM")
    body = {k: v for k, v in value.items() if k != "cdma-header"}
    ctx.fs.store.put(fs_keys.cdma(ctx.fs.fsid), body)


def install_security_domain(ctx: InstallContext, keys: KeyState, value: dict[str, Any]) -> None:
    """PE-SecurityDomain (SAIP §8.6): the SD as a registry entry of the profile, and its keys."""
    inst = value["instance"]
    aid = inst["instanceAID"]
    fsid = ctx.fs.fsid
    store = ctx.fs.store
    if store.get(fs_keys.registry(fsid, aid)) is not None:
        raise PeError(BAD_VALUES, f"security domain {aid.hex()} defined twice")
    store.put(fs_keys.registry(fsid, aid), _entry(inst, KIND_SD))
    for key in value.get("keyList", ()):
        kvn, kid = key["keyVersionNumber"][0], key["keyIdentifier"][0]
        components = tuple({"type": c["keyType"], "data": c["keyData"],
                            "mac_length": c.get("macLength", 8)} for c in key["keyComponents"])
        store.put(fs_keys.sd_key(fsid, aid, kvn, kid), {
            "usage": key["keyUsageQualifier"], "access": key.get("keyAccess", b"\x00"),
            "counter": key.get("keyCounterValue", b""), "components": components})
    toolkit = inst.get("applicationParameters", {}).get("uiccToolkitApplicationSpecificParametersField")
    if toolkit:     # TS 102 226 §8.2.1.3.2.1: the SD's TARs and Minimum Security Level for RAM
        store.put(fs_keys.sd_toolkit(fsid, aid), bytes(toolkit))
    perso = value.get("sdPersoData")
    if perso:
        store.put(fs_keys.sd_perso(fsid, aid), tuple(perso))
    keys.security_domains.append(aid)


def _entry(inst: dict[str, Any], kind: str) -> RegistryEntry:
    privileges = inst["applicationPrivileges"]
    if len(privileges) not in (1, 3):
        raise PeError(BAD_VALUES, "applicationPrivileges is 1 or 3 bytes")
    return RegistryEntry(inst["instanceAID"], kind, inst.get("lifeCycleState", b"\x07")[0],
                         int.from_bytes(privileges.ljust(3, b"\x00"), "big"),
                         elf=inst["applicationLoadPackageAID"],
                         sd=inst.get("extraditeSecurityDomainAID", b""))


def install_rfm(ctx: InstallContext, value: dict[str, Any]) -> None:
    """PE-RFM (SAIP §8.8): the RFM instance's TARs, security level and access domains."""
    aid = value["instanceAID"]
    body = {k: v for k, v in value.items() if k != "rfm-header"}
    ctx.fs.store.put(fs_keys.rfm(ctx.fs.fsid, aid), body)


def install_application(ctx: InstallContext, keys: KeyState, value: dict[str, Any]) -> None:
    """PE-Application (SAIP §8.7): recorded, listed and reported; Java Card code cannot run here."""
    block = value.get("loadBlock")
    instances = value.get("instanceList", ())
    record = {
        "package": block["loadPackageAID"] if block else b"",
        "load_block_size": len(block["loadBlockObject"]) if block else 0,
        "instances": tuple(_entry(i, KIND_APP).aid for i in instances),
        "executable": False,
    }
    index = len(keys.applications)
    ctx.fs.store.put(fs_keys.application(ctx.fs.fsid, index), record)
    keys.applications.extend([record["package"]] if block else [])
    keys.applications.extend(record["instances"])
