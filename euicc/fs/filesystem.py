"""The UICC file system of one profile, and file selection (ETSI TS 102 221 §8.4, §11.1.1).

:class:`FileSystem` reads and writes files in the persistent store; :class:`Cursor` is the volatile
selection state of one logical channel (current DF, current EF, current ADF, record pointer).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from euicc.apdu import SW, SwError
from euicc.fs import keys as fs_keys
from euicc.fs.model import (ADF, BERTLV, CURRENT_ADF_FID, EF, LCSI_ACTIVATED, MF, MF_FID,
                            FileDescriptor, adf_path, child_path, parent_path)
from euicc.nvm import Store

MF_PATH = f"{MF_FID:04X}"


@dataclass(slots=True)
class Cursor:
    """Selection state of a logical channel (TS 102 221 §8.4: current DF, EF, application)."""

    df: str = MF_PATH
    ef: str | None = None
    adf: str | None = None
    record: int = 0  # current record number of the current EF (0 = none)

    def select(self, path: str, desc: FileDescriptor) -> None:
        if desc.is_df:
            self.df, self.ef = path, None
            if desc.kind == ADF:
                self.adf = path
        else:
            self.df, self.ef = parent_path(path), path
        self.record = 0


class FileSystem:
    """Files of one profile, persisted under ``fs/<fsid>/`` (see euicc.fs.model)."""

    def __init__(self, store: Store, fsid: str) -> None:
        self.store = store
        self.fsid = fsid
        self._n = fs_keys.nodes(fsid)
        self._d = fs_keys.contents(fsid)

    # -- nodes and contents --------------------------------------------------------------------
    def node(self, path: str) -> FileDescriptor | None:
        return self.store.get(self._n + path)

    def data(self, path: str) -> bytes | tuple[bytes, ...]:
        return self.store.get(self._d + path, b"")

    def set_data(self, path: str, value: bytes | tuple[bytes, ...]) -> None:
        self.store.put(self._d + path, value)

    def set_node(self, path: str, desc: FileDescriptor) -> None:
        self.store.put(self._n + path, desc)

    def adfs(self) -> tuple[bytes, ...]:
        """AIDs of the ADFs of this file system, in creation order."""
        return self.store.get(fs_keys.adfs(self.fsid), ())

    def create(self, parent: str | None, desc: FileDescriptor,
               content: bytes | Iterable[bytes] | None = None) -> str:
        """Create a file under `parent` (None for the MF and ADFs); returns its path."""
        if desc.kind == MF:
            path = MF_PATH
        elif desc.kind == ADF:
            path = adf_path(desc.aid)
            self.store.put(fs_keys.adfs(self.fsid), self.adfs() + (desc.aid,))
        else:
            assert parent is not None
            pdesc = self.node(parent)
            if pdesc is None or not pdesc.is_df:
                raise SwError(SW.FILE_NOT_FOUND)
            if desc.fid in pdesc.children or desc.fid in (MF_FID, CURRENT_ADF_FID):
                raise SwError(SW.FILE_EXISTS)
            path = child_path(parent, desc.fid)
            self.set_node(parent, replace(pdesc, children=pdesc.children + (desc.fid,)))
        self.set_node(path, desc)
        if desc.kind == EF:
            if desc.is_record:
                recs = tuple(content) if content is not None else ()
                pad = b"\xff" * desc.record_length
                recs = tuple((r + pad)[:desc.record_length] for r in recs)
                self.set_data(path, recs + (pad,) * (desc.records - len(recs)))
            else:
                body = bytes(content) if content is not None else b""
                if desc.structure != BERTLV:   # a BER-TLV EF holds its data objects only
                    body = (body + b"\xff" * desc.size)[:desc.size]
                self.set_data(path, body)
        return path

    # -- selection (TS 102 221 §8.4.1, §11.1.1) -------------------------------------------------
    def select_fid(self, cur: Cursor, fid: int) -> str:
        """Path of the file `fid` as seen from the current DF, by the rules of §8.4.1."""
        if fid == MF_FID:
            return MF_PATH
        if fid == CURRENT_ADF_FID:
            if cur.adf is None:
                raise SwError(SW.FILE_NOT_FOUND)
            return cur.adf
        df = self.node(cur.df)
        if df is None:
            raise SwError(SW.FILE_NOT_FOUND)
        if fid in df.children:  # a child of the current DF
            return child_path(cur.df, fid)
        if df.fid == fid and df.kind != ADF:  # the current DF itself
            return cur.df
        parent = parent_path(cur.df)
        if parent:
            pdesc = self.node(parent)
            if pdesc is not None:
                if pdesc.fid == fid:  # the parent DF
                    return parent
                if fid in pdesc.children:  # a sibling DF (not an EF of the parent)
                    sib = child_path(parent, fid)
                    sdesc = self.node(sib)
                    if sdesc is not None and sdesc.is_df:
                        return sib
        raise SwError(SW.FILE_NOT_FOUND)

    def select_child_df(self, cur: Cursor, fid: int) -> str:
        df = self.node(cur.df)
        if df is not None and fid in df.children:
            path = child_path(cur.df, fid)
            desc = self.node(path)
            if desc is not None and desc.is_df:
                return path
        raise SwError(SW.FILE_NOT_FOUND)

    def select_parent(self, cur: Cursor) -> str:
        parent = parent_path(cur.df)
        if not parent:
            if cur.df == MF_PATH:
                raise SwError(SW.FILE_NOT_FOUND)
            return MF_PATH  # the parent of an ADF is the MF
        return parent

    def select_path(self, cur: Cursor, fids: list[int], from_mf: bool) -> str:
        """Select by path (P1 '08' from the MF without '3F00', P1 '09' from the current DF)."""
        if not fids:
            raise SwError(SW.INCORRECT_P1P2 if from_mf else SW.WRONG_LENGTH)
        if from_mf and fids[0] == MF_FID:
            fids = fids[1:]
            if not fids:
                return MF_PATH
        path = MF_PATH if from_mf else cur.df
        for i, fid in enumerate(fids):
            if fid == CURRENT_ADF_FID and i == 0:
                if cur.adf is None:
                    raise SwError(SW.FILE_NOT_FOUND)
                path = cur.adf
                continue
            desc = self.node(path)
            if desc is None or not desc.is_df or fid not in desc.children:
                raise SwError(SW.FILE_NOT_FOUND)
            path = child_path(path, fid)
        return path

    def current_ef(self, cur: Cursor, sfi: int | None) -> tuple[str, FileDescriptor]:
        """The target EF of a command: the one with `sfi` in the current DF (it becomes the current
        EF, TS 102 221 §8.4.1), else the current EF; '6986' without one, '6283' if not activated."""
        if sfi:
            path = self.find_ef(cur, sfi)
            if path != cur.ef:
                cur.ef, cur.record = path, 0
        elif cur.ef is None:
            raise SwError(SW.COMMAND_NOT_ALLOWED_NO_EF)
        desc = self.node(cur.ef) if cur.ef else None
        if desc is None:
            raise SwError(SW.COMMAND_NOT_ALLOWED_NO_EF)
        if desc.lcsi != LCSI_ACTIVATED:
            raise SwError(SW.SELECTED_FILE_INVALIDATED)
        return cur.ef, desc

    def find_ef(self, cur: Cursor, sfi: int) -> str:
        """The EF with short file identifier `sfi` in the current DF (TS 102 221 §8.3)."""
        df = self.node(cur.df)
        if df is not None:
            for fid in df.children:
                path = child_path(cur.df, fid)
                desc = self.node(path)
                if desc is not None and desc.kind == EF and desc.sfi == sfi:
                    return path
        raise SwError(SW.FILE_NOT_FOUND)

    def find_arr(self, path: str, arr_fid: int) -> str | None:
        """Locate EF.ARR `arr_fid` for the file at `path`: its DF, then the parents (§9.2.4)."""
        df = path if (d := self.node(path)) is not None and d.is_df else parent_path(path)
        while df:
            desc = self.node(df)
            if desc is not None and arr_fid in desc.children:
                return child_path(df, arr_fid)
            df = parent_path(df) or (MF_PATH if df.startswith("ADF:") else "")
        return None
