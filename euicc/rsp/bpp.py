"""ES10b.LoadBoundProfilePackage: SGP.22 v2.5 §5.7.6, §3.1.3.3 (Sub-procedure Profile
Installation), §2.5.5 (BPP structure) and §2.6.4 (BSP).

The LPA sends the BPP in segments (§5.7.6 / SPEC_NOTES §1.6): ``BF36`` header with the whole
``BF23`` InitialiseSecureChannelRequest; the complete ``A0`` (ConfigureISDP in ``87``s); the
``A1`` header then each ``88`` (StoreMetadata); the complete ``A2`` (ReplaceSessionKeys) if any;
the ``A3`` header then each ``86`` (profile elements).  A whole BPP in one command is accepted
too.  Each segment answers '9000' without data, the last ``86`` (or any failure) answers the
signed ``BF37`` ProfileInstallationResult, which is also kept as a notification (§3.5).

Nothing persists until the last segment: decrypted commands and the package are held in the
volatile :class:`BppLoader`; the ISD-P, the profile record, the file system and the notification
are then written in one transaction.  A failure at any point (wrong MAC, wrong order, bad
signature, installer error ...) drops the loader and the session, so nothing is left behind,
and reports ``errorResult`` {bppCommandId, errorReason} (RSPDefinitions ``ErrorReason``).
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.crypto.bsp import BspError, BspKeys, BspSession
from euicc.crypto.certificates import CertificateRejected, verify_signature
from euicc.crypto.ecka import EckaError, public_key_tlv
from euicc.nvm import Store
from euicc.profiles.manager import ProfileManager, fsid_of
from euicc.profiles.model import CLASS_OPERATIONAL, ProfileError, ProfileErrorCode, ProfileRecord
from euicc.rsp import der, enterprise, es10b, euicc_info, metadata, notifications, rat, rsp_session
from euicc.profiles.installer import InstallError, install_profile
from euicc.rsp import keys as rsp_keys

if TYPE_CHECKING:
    from euicc.context import Context

# BppCommandId
INITIALISE_SECURE_CHANNEL, CONFIGURE_ISDP, STORE_METADATA, REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = 0, 1, 2, 4, 5
# ErrorReason
INCORRECT_INPUT_VALUES, INVALID_SIGNATURE, INVALID_TRANSACTION_ID = 1, 2, 3
UNSUPPORTED_REMOTE_OPERATION_TYPE, SCP03T_STRUCTURE_ERROR = 5, 7
ICCID_ALREADY_EXISTS, INSUFFICIENT_MEMORY, ICCID_MISMATCH, PPR_NOT_ALLOWED = 9, 10, 13, 15
UNKNOWN_ERROR = 127
INSTALL_BPP = 1                                  # RemoteOpId installBoundProfilePackage
_CONTAINERS = {0xA0: CONFIGURE_ISDP, 0xA1: STORE_METADATA, 0xA2: REPLACE_SESSION_KEYS,
               0xA3: LOAD_PROFILE_ELEMENTS}
_NEXT_CONTAINERS = {0: (0xA0,), 0xA0: (0xA1,), 0xA1: (0xA2, 0xA3), 0xA2: (0xA3,), 0xA3: ()}
_BLOCK_TAGS = {0x86, 0x87, 0x88}


class BppFailure(Exception):
    """Installation fails at ``command`` (BppCommandId) for ``reason`` (ErrorReason)."""

    def __init__(self, command: int, reason: int, detail: str = "") -> None:
        super().__init__(detail)
        self.command = command
        self.reason = reason


class BppLoader:
    """Volatile state of one BPP being loaded (after a successful InitialiseSecureChannel)."""

    def __init__(self, bsp: BspSession, v3: bool = False) -> None:
        self.bsp = bsp
        self.v3 = v3                   # the RSP session is held in SGP.22 v3 (euicc.rsp.es10b)
        self.container = 0             # tag of the sequence being received (A0..A3), 0 = none yet
        self.pending = b""             # plaintext of the current A0/A1/A2 sequence
        self.configure: dict | None = None
        self.dp_proprietary = b""
        self.metadata: dict | None = None
        self.metadata_raw = b""
        self.upp = bytearray()
        self.remaining86: int | None = None
        self.enterprise = enterprise.EnterpriseDownload()
        self.settings = euicc_info.DEFAULT_SETTINGS  # the card's optional v3.1 features (metadata)

    # -- sequences ---------------------------------------------------------------------------
    def open_container(self, tag: int, length: int, store: Store) -> None:
        """Start sequence ``tag`` (BoundProfilePackage order A0, A1, [A2], A3)."""
        if tag not in _NEXT_CONTAINERS[self.container]:
            raise BppFailure(_CONTAINERS[tag], SCP03T_STRUCTURE_ERROR, "sequence out of order")
        self.close_container(store)
        self.container = tag
        self.pending = b""
        if tag == 0xA3:
            self.remaining86 = length

    def close_container(self, store: Store) -> None:
        """The previous sequence is complete: act on its plaintext."""
        if self.container == 0xA0:
            self._configure_isdp(self.pending)
        elif self.container == 0xA1:
            self._store_metadata(self.pending, store)
        elif self.container == 0xA2:
            self._replace_session_keys(self.pending)

    def block(self, tag: int, block: bytes) -> bool:
        """One ``86``/``87``/``88`` TLV of the current sequence; True after the last ``86``."""
        command = _CONTAINERS.get(self.container, INITIALISE_SECURE_CHANNEL)
        expected = {0xA0: 0x87, 0xA1: 0x88, 0xA2: 0x87, 0xA3: 0x86}.get(self.container)
        if tag != expected:
            raise BppFailure(command, SCP03T_STRUCTURE_ERROR, f"{tag:02X} not allowed in {self.container:02X}")
        try:
            plain = self.bsp.unwrap(block)
        except BspError as exc:
            raise BppFailure(command, exc.reason, str(exc)) from None
        if tag != 0x86:
            self.pending += plain
            return False
        self.upp += plain
        self.remaining86 -= len(block)
        if self.remaining86 < 0:
            raise BppFailure(command, SCP03T_STRUCTURE_ERROR, "86 blocks exceed the A3 length")
        return self.remaining86 == 0

    # -- the protected commands ------------------------------------------------------------------
    def _configure_isdp(self, plain: bytes) -> None:
        """§5.5.1 ConfigureISDP (BF24, optional dpProprietaryData)."""
        try:
            self.configure = der.decode("ConfigureISDPRequest", plain)
            parts = der.children(plain)
        except SwError:
            raise BppFailure(CONFIGURE_ISDP, INCORRECT_INPUT_VALUES, "bad ConfigureISDP") from None
        self.dp_proprietary = parts[0] if parts else b""

    def _store_metadata(self, plain: bytes, store: Store) -> None:
        """§5.5.3 StoreMetadata (BF25): ICCID not yet on the eUICC, PPRs allowed by the RAT; in a
        v3 session first the v3.1 refusals of :mod:`euicc.rsp.metadata`."""
        try:
            meta = metadata.check_v3(plain, self.settings) if self.v3 else der.decode("StoreMetadataRequest", plain)
        except metadata.MetadataRefused as exc:
            raise BppFailure(STORE_METADATA, exc.reason, str(exc)) from None
        except SwError:
            raise BppFailure(STORE_METADATA, INCORRECT_INPUT_VALUES, "bad StoreMetadata") from None
        if any(r.iccid == meta["iccid"] for r in ProfileManager(store).records()):
            raise BppFailure(STORE_METADATA, ICCID_ALREADY_EXISTS, "ICCID already installed")
        try:
            self.enterprise.check(store, meta)
        except enterprise.EnterpriseRefused as exc:
            raise BppFailure(STORE_METADATA, exc.reason, str(exc)) from None
        ppr = der.bits_to_int(meta["profilePolicyRules"]) if "profilePolicyRules" in meta else 0
        if ppr and (meta.get("profileClass", CLASS_OPERATIONAL) != CLASS_OPERATIONAL
                    or not rat.pprs_allowed(store, ppr, meta.get("profileOwner"))):
            raise BppFailure(STORE_METADATA, PPR_NOT_ALLOWED, "PPRs not allowed by the RAT")
        self.metadata, self.metadata_raw = meta, plain

    def _replace_session_keys(self, plain: bytes) -> None:
        """§5.5.4 ReplaceSessionKeys (BF26): PPK-ENC / PPK-MAC for the ``86`` blocks."""
        try:
            self.bsp.replace_session_keys(BspKeys.from_replace_session_keys(plain))
        except BspError as exc:
            raise BppFailure(REPLACE_SESSION_KEYS, exc.reason, str(exc)) from None


# -- InitialiseSecureChannel --------------------------------------------------------------------
def _initialise_secure_channel(ctx: Context, session: rsp_session.RspSession, bf23: bytes) -> BppLoader:
    """§5.5.2 / §3.1.3.3: remoteOpId, transactionId, smdpSign with PK.DPpb, ECKA + X9.63 KDF."""
    try:
        request = der.decode("InitialiseSecureChannelRequest", bf23)
        raw = der.children(bf23)
    except SwError:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, INCORRECT_INPUT_VALUES, "bad BF23") from None
    if request["remoteOpId"] != INSTALL_BPP:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, UNSUPPORTED_REMOTE_OPERATION_TYPE)
    if request["transactionId"] != session.transaction_id:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, INVALID_TRANSACTION_ID)
    signed = b"".join(raw[:4]) + public_key_tlv(session.otk.public_point)
    try:
        verify_signature(session.dp_pb.public_key, signed, request["smdpSign"])
    except CertificateRejected:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, INVALID_SIGNATURE) from None
    crt = request["controlRefTemplate"]
    try:
        secret = session.otk.shared_secret(request["smdpOtpk"])
        keys = BspKeys.derive(secret, crt["keyType"][0], crt["keyLen"][0], crt["hostId"], ctx.services.eid)
    except EckaError:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, INCORRECT_INPUT_VALUES, "bad smdpOtpk") from None
    except BspError as exc:
        raise BppFailure(INITIALISE_SECURE_CHANNEL, exc.reason, str(exc)) from None
    loader = BppLoader(BspSession(keys), session.v3)
    loader.enterprise = enterprise.EnterpriseDownload(
        euicc_info.settings(ctx.config).enterprise_profiles, enterprise.device_is_enterprise_capable(session.device_info))
    loader.settings = euicc_info.settings(ctx.config)
    return loader


# -- the ES10b function ---------------------------------------------------------------------------
def _header(data: bytes, i: int) -> tuple[int, int, int]:
    try:
        tag, j = tlv.read_tag(data, i)
        length, j = tlv.read_length(data, j)
    except tlv.TlvError:
        raise BppFailure(LOAD_PROFILE_ELEMENTS, SCP03T_STRUCTURE_ERROR, "bad TLV") from None
    return tag, length, j


def load_bound_profile_package(ctx: Context, data: bytes) -> bytes:
    """One LoadBoundProfilePackage segment (see module docstring): b'' or BF37."""
    session = rsp_session.current(ctx)
    if data[:2] != b"\xbf\x36" and (session is None or session.bpp is None):
        raise SwError(SW.CONDITIONS_NOT_SATISFIED)
    try:
        if not _segments(ctx, session, data):
            return b""
        return _install(ctx, session)
    except BppFailure as failure:
        return _fail(ctx, session, failure)


def _current_command(session: rsp_session.RspSession | None) -> int:
    loader = session.bpp if session is not None else None
    return INITIALISE_SECURE_CHANNEL if loader is None else _CONTAINERS.get(loader.container, 0)


def _segments(ctx: Context, session: rsp_session.RspSession | None, data: bytes) -> bool:
    """Walk the TLVs of one segment; True when the last ``86`` has been processed."""
    i, done = 0, False
    while i < len(data):
        command = _current_command(session)
        if done:
            raise BppFailure(command, SCP03T_STRUCTURE_ERROR, "data after the last 86")
        tag, length, j = _header(data, i)
        if tag == 0xBF36 and i == 0:
            if session is None or session.otk is None or session.dp_pb is None:
                raise BppFailure(command, INVALID_TRANSACTION_ID, "no download session")
            session.bpp, i = None, j
            continue
        loader = session.bpp if session is not None else None
        if tag in _CONTAINERS and loader is not None:
            loader.open_container(tag, length, ctx.store)
            i = j
            continue
        end = j + length
        if end > len(data):
            raise BppFailure(command, SCP03T_STRUCTURE_ERROR, "truncated TLV")
        if tag == 0xBF23 and loader is None and session is not None:
            session.bpp = _initialise_secure_channel(ctx, session, data[i:end])
        elif tag in _BLOCK_TAGS and loader is not None:
            done = loader.block(tag, data[i:end])
        else:
            raise BppFailure(command, SCP03T_STRUCTURE_ERROR, f"unexpected {tag:X}")
        i = end
    return done


def _install(ctx: Context, session: rsp_session.RspSession) -> bytes:
    """The last ``86`` arrived: create the ISD-P, install, record, notify -- one transaction."""
    loader: BppLoader = session.bpp
    meta = loader.metadata
    if loader.configure is None or meta is None:
        raise BppFailure(LOAD_PROFILE_ELEMENTS, SCP03T_STRUCTURE_ERROR, "ConfigureISDP/StoreMetadata missing")
    store = ctx.store
    profiles = ProfileManager(store)
    try:
        aid = profiles.create_isdp()
        installed = install_profile(store, fsid_of(aid), bytes(loader.upp))
        if installed.iccid != meta["iccid"]:
            raise BppFailure(LOAD_PROFILE_ELEMENTS, ICCID_MISMATCH, "metadata ICCID differs from the profile")
        profiles.add_profile(_record(aid, meta, loader.metadata_raw, session.smdp_oid))
    except InstallError as exc:
        store.rollback()
        raise BppFailure(LOAD_PROFILE_ELEMENTS, exc.reason, str(exc)) from None
    except ProfileError as exc:
        store.rollback()
        reason = INSUFFICIENT_MEMORY if exc.code == ProfileErrorCode.NOT_ENOUGH_MEMORY else ICCID_ALREADY_EXISTS
        raise BppFailure(LOAD_PROFILE_ELEMENTS, reason, str(exc)) from None
    except BppFailure:
        store.rollback()
        raise
    if loader.dp_proprietary:
        store.put(rsp_keys.dp_proprietary(aid), loader.dp_proprietary)
    es10b.forget_one_time_key(ctx)
    result = ("successResult", {"aid": aid, "simaResponse": installed.sima_response})
    return _result(ctx, session, result, meta["iccid"])


def _record(aid: bytes, meta: dict, raw: bytes, smdp_oid: str) -> ProfileRecord:
    config = tuple((der.bits_to_int(c["profileManagementOperation"]), c["notificationAddress"])
                   for c in meta.get("notificationConfigurationInfo", ()))
    record = ProfileRecord(isdp_aid=aid, iccid=meta["iccid"], fsid=fsid_of(aid),
                           name=meta["profileName"], provider=meta["serviceProviderName"],
                           profile_class=meta.get("profileClass", CLASS_OPERATIONAL),
                           icon_type=meta.get("iconType"), icon=meta.get("icon", b""),
                           notifications=config, smdp_oid=smdp_oid, metadata=raw)
    if "profilePolicyRules" in meta:
        record = replace(record, ppr=der.bits_to_int(meta["profilePolicyRules"]))
    return record


def _fail(ctx: Context, session: rsp_session.RspSession | None, failure: BppFailure) -> bytes:
    loader = session.bpp if session is not None else None
    iccid = loader.metadata["iccid"] if loader is not None and loader.metadata else None
    error = {"bppCommandId": failure.command, "errorReason": failure.reason}
    return _result(ctx, session, ("errorResult", error), iccid)


def _result(ctx: Context, session: rsp_session.RspSession | None, final: tuple, iccid: bytes | None) -> bytes:
    """Sign ProfileInstallationResultData (§5.7.6), keep it as a notification, end the session."""
    ident = es10b.card_identity(ctx)
    credential = ident.credential(session.ci_pkid) if session and session.ci_pkid else ident.credentials[0]
    seq = notifications.next_seq(ctx.store)
    address = session.server_address if session is not None else ""
    # without a session there is no transactionId to echo: one zero byte stands in for it
    data = {"transactionId": (session.transaction_id if session and session.transaction_id else b"\x00"),
            "notificationMetadata": notifications.metadata(seq, notifications.INSTALL, address, iccid),
            "finalResult": final}
    oid = session.dp_pb.rsp_oid if session is not None and session.dp_pb is not None else None
    if oid is not None:
        data["smdpOid"] = oid.dotted_string
    signature = credential.sign(der.encode("ProfileInstallationResultData", data))
    pir = der.encode("ProfileInstallationResult", {"profileInstallationResultData": data,
                                                   "euiccSignPIR": signature})
    notifications.add(ctx.store, seq, pir)
    rsp_session.end(ctx)
    return pir


FUNCTIONS = {tag: load_bound_profile_package for tag in (0xBF36, 0xA0, 0xA1, 0xA2, 0xA3, 0x86, 0x88)}
