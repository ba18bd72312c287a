"""The SM-DP's persistent store (one SQLite file, separate from the SM-SR's): the profiles it
downloaded (EID, ICCID, owner MNO, ISD-P AID) and each ISD-P's keys - the SCP03 key set from
ES8.EstablishISDPKeySet (SGP.02 v4.2 §4.1.3.1) and the delete-token key (§4.1.1.6).  These keys
exist here only: the SM-SR relays the SM-DP's scripts without them.  One transaction per change.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.m2m_services.service_db import ServiceDb
from tools.scp.scp03_host import HostKeySet

SCHEMA = """
CREATE TABLE IF NOT EXISTS profile (eid TEXT NOT NULL, iccid TEXT NOT NULL, mno TEXT NOT NULL, isdp_aid TEXT,
    state TEXT NOT NULL, PRIMARY KEY (eid, iccid));
CREATE TABLE IF NOT EXISTS isdp_keys (eid TEXT NOT NULL, isdp_aid TEXT NOT NULL, kvn INTEGER NOT NULL,
    enc TEXT NOT NULL, mac TEXT NOT NULL, dek TEXT NOT NULL, token_key TEXT, PRIMARY KEY (eid, isdp_aid));
"""


@dataclass
class DownloadRecord:
    eid: str
    iccid: str
    mno: str
    isdp_aid: str | None
    state: str


class SmdpStore(ServiceDb):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def _write(self, sql: str, params: tuple) -> None:
        with self.transaction() as db:
            db.execute(sql, params)

    def put_download(self, r: DownloadRecord) -> None:
        self._write("INSERT INTO profile (eid, iccid, mno, isdp_aid, state) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                    "(eid, iccid) DO UPDATE SET mno = excluded.mno, isdp_aid = excluded.isdp_aid, "
                    "state = excluded.state", (r.eid, r.iccid, r.mno, r.isdp_aid, r.state))

    def mark_deleted(self, eid: str, iccid: str) -> None:
        """The profile's ISD-P is gone from the eUICC (SGP.02 v4.2 §3.x profile deletion, §5.3 ES2
        DeleteProfile / HandleProfileDeletedNotification): the record says DELETED and the ISD-P's
        keys, which open nothing any more, are dropped; both in one transaction."""
        with self.transaction() as db:
            row = db.execute("SELECT isdp_aid FROM profile WHERE eid = ? AND iccid = ?", (eid, iccid)).fetchone()
            if row is None:
                return
            db.execute("UPDATE profile SET state = 'DELETED' WHERE eid = ? AND iccid = ?", (eid, iccid))
            db.execute("DELETE FROM isdp_keys WHERE eid = ? AND isdp_aid = ?", (eid, row[0]))

    def download(self, eid: str, iccid: str) -> DownloadRecord | None:
        with self._lock:
            row = self._db.execute("SELECT eid, iccid, mno, isdp_aid, state FROM profile WHERE eid = ? AND iccid = ?",
                                   (eid, iccid)).fetchone()
        return DownloadRecord(*row) if row else None

    def put_keys(self, eid: str, isdp_aid: str, keys: HostKeySet, token_key: bytes | None = None) -> None:
        self._write("INSERT INTO isdp_keys (eid, isdp_aid, kvn, enc, mac, dek, token_key) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (eid, isdp_aid) DO UPDATE SET kvn = excluded.kvn, enc = excluded.enc, "
                    "mac = excluded.mac, dek = excluded.dek, token_key = excluded.token_key",
                    (eid, isdp_aid, keys.kvn, keys.enc.hex(), keys.mac.hex(), keys.dek.hex(),
                     token_key.hex() if token_key else None))

    def keys(self, eid: str, isdp_aid: str) -> tuple[HostKeySet, bytes | None] | None:
        with self._lock:
            row = self._db.execute("SELECT kvn, enc, mac, dek, token_key FROM isdp_keys WHERE eid = ? AND isdp_aid = ?",
                                   (eid, isdp_aid)).fetchone()
        if row is None:
            return None
        return HostKeySet(row[0], *(bytes.fromhex(v) for v in row[1:4])), bytes.fromhex(row[4]) if row[4] else None
