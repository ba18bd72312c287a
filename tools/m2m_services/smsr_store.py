"""The SM-SR's persistent store (one SQLite file): the EIS of each eUICC it manages (SGP.02 v4.2
§5.1.1.2), what the EIS says of each profile beyond the card's view (ICCID, owner MNO, SM-DP,
POL2), the SCP80 counters, and the journal of function calls.

- Every change is one SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): a process killed in
  the middle leaves the last committed state.
- The SCP80 counter is written ahead: :meth:`SmsrStore.reserve_counter` commits the counter of a
  packet before the packet leaves, so after a crash the store's counter is never below what the
  card has seen (TS 102 225 §5.1.1: the next packet must carry a higher counter).
- The store holds the ISD-R key sets (the SM-SR's own) and never an ISD-P key: the EIS JSON is
  written with an empty SM-DP section and a document carrying ISD-P keys is refused.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.service_db import ServiceDb
from tools.smsr.eis_file import EisDocument, from_json, to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS euicc (eid TEXT PRIMARY KEY, eis TEXT NOT NULL, eum TEXT, registered TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profile (eid TEXT NOT NULL REFERENCES euicc(eid), isdp_aid TEXT NOT NULL,
    iccid TEXT, mno TEXT, smdp TEXT, pol2 TEXT NOT NULL DEFAULT '[]', msisdn TEXT, imsi TEXT,
    PRIMARY KEY (eid, isdp_aid));
CREATE UNIQUE INDEX IF NOT EXISTS profile_iccid ON profile (eid, iccid);
CREATE TABLE IF NOT EXISTS deleted_profile (eid TEXT NOT NULL, iccid TEXT NOT NULL, mno TEXT, smdp TEXT,
    deleted TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')), PRIMARY KEY (eid, iccid));
CREATE TABLE IF NOT EXISTS counter (eid TEXT NOT NULL, kvn INTEGER NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (eid, kvn));
CREATE TABLE IF NOT EXISTS plma (mno TEXT NOT NULL, m2msp TEXT NOT NULL, operations TEXT NOT NULL,
    PRIMARY KEY (mno, m2msp));
CREATE TABLE IF NOT EXISTS onc (owner TEXT PRIMARY KEY, excluded TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS call (message_id TEXT PRIMARY KEY, interface TEXT NOT NULL, function TEXT NOT NULL,
    eid TEXT, state TEXT NOT NULL, status TEXT, started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')),
    ended TEXT);
CREATE TABLE IF NOT EXISTS handover (eid TEXT PRIMARY KEY, role TEXT NOT NULL, peer TEXT NOT NULL,
    requester TEXT, relayed_kvns TEXT NOT NULL DEFAULT '[]', old_kvns TEXT NOT NULL DEFAULT '[]',
    started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')));
CREATE TABLE IF NOT EXISTS retired (eid TEXT NOT NULL, eis TEXT NOT NULL, successor TEXT NOT NULL,
    retired TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')));
"""
EXPECTED, OUTGOING, INCOMING = "expected", "outgoing", "incoming"
"""Roles of a :class:`Handover` row (SGP.02 §3.8 SM-SR change): the new SM-SR told by ES4.PrepareSMSRChange,
the old SM-SR during ES4.SMSRChange, the new SM-SR holding the EIS with its new key set until the old
SM-SR's key sets are deleted on the card."""


class StoreError(ValueError):
    """A request the store refuses (e.g. an EIS carrying ISD-P keys)."""


@dataclass
class ProfileRecord:
    """The SM-SR's own data on one profile (the card's view is in the EIS)."""

    eid: str
    isdp_aid: str
    iccid: str | None
    mno: str | None
    smdp: str | None
    pol2: Pol2
    msisdn: str | None = None
    imsi: str | None = None


@dataclass(frozen=True)
class Handover:
    """An SM-SR change under way for ``eid`` (see ``EXPECTED``, ``OUTGOING``, ``INCOMING``)."""

    eid: str
    role: str
    peer: str
    requester: str | None
    relayed_kvns: tuple[int, ...]
    old_kvns: tuple[int, ...]


class SmsrStore(ServiceDb):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)
        self._upgrade()

    def _upgrade(self) -> None:
        """A store written before SCP81 key sets kept one relayed KVN (``relayed_kvn``): carry it over."""
        with self.transaction() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(handover)")}
            if "relayed_kvns" not in columns:
                db.execute("ALTER TABLE handover ADD COLUMN relayed_kvns TEXT NOT NULL DEFAULT '[]'")
                db.execute("UPDATE handover SET relayed_kvns = json_array(relayed_kvn) WHERE relayed_kvn IS NOT NULL")

    # -- EIS -----------------------------------------------------------------------------------
    def load(self, eid: str) -> EisDocument | None:
        """The EIS of ``eid`` with the counters raised to the written-ahead ones; None if unknown."""
        with self._lock:
            row = self._db.execute("SELECT eis FROM euicc WHERE eid = ?", (eid,)).fetchone()
            if row is None:
                return None
            doc = from_json(json.loads(row[0]))
            for kvn, value in self._db.execute("SELECT kvn, value FROM counter WHERE eid = ?", (eid,)):
                doc.eis.counters[kvn] = max(doc.eis.counters.get(kvn, 0), value)
        return doc

    def eids(self) -> list[str]:
        """The EIDs whose EIS this SM-SR holds."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT eid FROM euicc ORDER BY eid")]

    def eum(self, eid: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT eum FROM euicc WHERE eid = ?", (eid,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _eis_json(doc: EisDocument) -> str:
        if doc.isdp_keys:
            raise StoreError("the SM-SR never stores ISD-P keys (they are the SM-DP's)")
        return json.dumps(to_json(doc))

    def register(self, eid: str, doc: EisDocument, eum: str, profiles: list[ProfileRecord]) -> None:
        """ES1.RegisterEIS: a new EIS with its profiles (:class:`StoreError` if the EID is known)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM euicc WHERE eid = ?", (eid,)).fetchone():
                raise StoreError(f"EID {eid} already registered")
            db.execute("INSERT INTO euicc (eid, eis, eum, registered) VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ'))",
                       (eid, self._eis_json(doc), eum))
            for p in profiles:
                self._put_profile(db, p)

    def save(self, eid: str, doc: EisDocument) -> None:
        """Write the EIS back after a function (counters never go down)."""
        with self.transaction() as db:
            db.execute("UPDATE euicc SET eis = ? WHERE eid = ?", (self._eis_json(doc), eid))
            for kvn, value in doc.eis.counters.items():
                self._raise_counter(db, eid, kvn, value)
            for aid, iccid, mno, smdp in db.execute("SELECT isdp_aid, iccid, mno, smdp FROM profile WHERE eid = ?",
                                                    (eid,)).fetchall():
                if bytes.fromhex(aid) not in doc.eis.profiles:
                    db.execute("DELETE FROM profile WHERE eid = ? AND isdp_aid = ?", (eid, aid))
                    db.execute("INSERT OR REPLACE INTO deleted_profile (eid, iccid, mno, smdp) VALUES (?, ?, ?, ?)",
                               (eid, iccid, mno, smdp))

    @staticmethod
    def _raise_counter(db: sqlite3.Connection, eid: str, kvn: int, value: int) -> None:
        db.execute("INSERT INTO counter (eid, kvn, value) VALUES (?, ?, ?) ON CONFLICT (eid, kvn) "
                   "DO UPDATE SET value = max(value, excluded.value)", (eid, kvn, value))

    def reserve_counter(self, eid: str, kvn: int, value: int) -> None:
        """Commit ``value`` as used under ``kvn`` before the packet carrying it is sent."""
        with self.transaction() as db:
            self._raise_counter(db, eid, kvn, value)

    def counter(self, eid: str, kvn: int) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counter WHERE eid = ? AND kvn = ?", (eid, kvn)).fetchone()
        return row[0] if row else 0

    # -- profiles --------------------------------------------------------------------------------
    @staticmethod
    def _put_profile(db: sqlite3.Connection, p: ProfileRecord) -> None:
        db.execute("INSERT INTO profile (eid, isdp_aid, iccid, mno, smdp, pol2, msisdn, imsi) VALUES (?, ?, ?, ?, ?, ?, "
                   "?, ?) ON CONFLICT (eid, isdp_aid) DO UPDATE SET iccid = excluded.iccid, mno = excluded.mno, "
                   "smdp = excluded.smdp, pol2 = excluded.pol2, msisdn = excluded.msisdn, imsi = excluded.imsi",
                   (p.eid, p.isdp_aid.upper(), p.iccid, p.mno, p.smdp, json.dumps(p.pol2.to_json()), p.msisdn, p.imsi))

    def put_profile(self, p: ProfileRecord) -> None:
        with self.transaction() as db:
            self._put_profile(db, p)

    def profiles(self, eid: str) -> list[ProfileRecord]:
        with self._lock:
            rows = self._db.execute("SELECT eid, isdp_aid, iccid, mno, smdp, pol2, msisdn, imsi FROM profile "
                                    "WHERE eid = ? ORDER BY isdp_aid", (eid,)).fetchall()
        return [ProfileRecord(r[0], r[1], r[2], r[3], r[4], Pol2.from_json(json.loads(r[5])), r[6], r[7]) for r in rows]

    def profile_by_iccid(self, eid: str, iccid: str) -> ProfileRecord | None:
        return next((p for p in self.profiles(eid) if p.iccid == iccid), None)

    def deleted_owners(self, eid: str, iccid: str) -> tuple[str | None, str | None] | None:
        """(MNO, SM-DP) of the profile ``iccid`` this SM-SR deleted from ``eid``, or None (the
        deletion race of the seed "The Double-Lock Rulebook": a later deletion ends as success)."""
        with self._lock:
            row = self._db.execute("SELECT mno, smdp FROM deleted_profile WHERE eid = ? AND iccid = ?",
                                   (eid, iccid)).fetchone()
        return (row[0], row[1]) if row else None

    def profile_by_aid(self, eid: str, aid: str) -> ProfileRecord | None:
        return next((p for p in self.profiles(eid) if p.isdp_aid == aid.upper()), None)

    # -- ES4A: PLMA and ONC ----------------------------------------------------------------------
    def set_plma(self, mno: str, m2msp: str, operations: list[str]) -> None:
        """The operations M2M SP ``m2msp`` may run on ``mno``'s profiles (none: authorisation revoked)."""
        with self.transaction() as db:
            db.execute("DELETE FROM plma WHERE mno = ? AND m2msp = ?", (mno, m2msp))
            if operations:
                db.execute("INSERT INTO plma (mno, m2msp, operations) VALUES (?, ?, ?)",
                           (mno, m2msp, json.dumps(sorted(set(operations)))))

    def plmas(self, party: str) -> list[tuple[str, str, list[str]]]:
        """(MNO, M2M SP, operations) granted by or to ``party``."""
        with self._lock:
            rows = self._db.execute("SELECT mno, m2msp, operations FROM plma WHERE mno = ? OR m2msp = ? "
                                    "ORDER BY mno, m2msp", (party, party)).fetchall()
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def plma_allows(self, mno: str, m2msp: str, operation: str) -> bool:
        return any(m == mno and sp == m2msp and operation in ops for m, sp, ops in self.plmas(m2msp))

    def set_onc(self, owner: str, excluded: list[str]) -> None:
        """The notifications ``owner`` does not want (none: every notification)."""
        with self.transaction() as db:
            db.execute("INSERT INTO onc (owner, excluded) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET "
                       "excluded = excluded.excluded", (owner, json.dumps(sorted(set(excluded)))))

    def onc(self, owner: str) -> list[str]:
        with self._lock:
            row = self._db.execute("SELECT excluded FROM onc WHERE owner = ?", (owner,)).fetchone()
        return json.loads(row[0]) if row else []

    # -- journal of function calls ---------------------------------------------------------------
    def begin_call(self, message_id: str, interface: str, function: str, eid: str | None) -> bool:
        """Journal a call as started; False if this MessageID was seen before."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM call WHERE message_id = ?", (message_id,)).fetchone():
                return False
            db.execute("INSERT INTO call (message_id, interface, function, eid, state) VALUES (?, ?, ?, ?, 'started')",
                       (message_id, interface, function, eid))
        return True

    def end_call(self, message_id: str, status: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE call SET state = 'done', status = ?, ended = strftime('%Y-%m-%dT%H:%M:%fZ') "
                       "WHERE message_id = ?", (status, message_id))

    def interrupted_calls(self) -> list[tuple[str, str, str]]:
        """(MessageID, interface, function) of calls started and never ended (a crash)."""
        with self._lock:
            return self._db.execute("SELECT message_id, interface, function FROM call WHERE state = 'started' "
                                    "ORDER BY started").fetchall()

    def close_interrupted(self) -> int:
        """At start-up: mark the calls a crash interrupted as ended with status 'interrupted'."""
        with self.transaction() as db:
            return db.execute("UPDATE call SET state = 'done', status = 'interrupted', "
                              "ended = strftime('%Y-%m-%dT%H:%M:%fZ') WHERE state = 'started'").rowcount

    # -- SM-SR change (SGP.02 §3.8) -------------------------------------------------------------
    def handover(self, eid: str) -> Handover | None:
        with self._lock:
            row = self._db.execute("SELECT eid, role, peer, requester, relayed_kvns, old_kvns FROM handover "
                                   "WHERE eid = ?", (eid,)).fetchone()
        return Handover(*row[:4], tuple(json.loads(row[4])), tuple(json.loads(row[5]))) if row else None

    def handovers(self, role: str) -> list[Handover]:
        with self._lock:
            eids = [r[0] for r in self._db.execute("SELECT eid FROM handover WHERE role = ?", (role,))]
        return [h for h in map(self.handover, eids) if h is not None]

    def expect_handover(self, eid: str, current: str, requester: str) -> None:
        """ES4.PrepareSMSRChange on the new SM-SR (:class:`StoreError` if the EID is held or changing)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM euicc WHERE eid = ?", (eid,)).fetchone():
                raise StoreError(f"EID {eid} is already managed by this SM-SR")
            db.execute("INSERT INTO handover (eid, role, peer, requester) VALUES (?, ?, ?, ?) ON CONFLICT (eid) "
                       "DO UPDATE SET role = excluded.role, peer = excluded.peer, requester = excluded.requester "
                       "WHERE handover.role = 'expected'", (eid, EXPECTED, current, requester))

    def begin_outgoing(self, eid: str, target: str, requester: str) -> None:
        """ES4.SMSRChange on the old SM-SR: the EIS is locked for the change (:class:`StoreError` if
        another change is under way)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM handover WHERE eid = ?", (eid,)).fetchone():
                raise StoreError(f"an SM-SR change of {eid} is already under way")
            db.execute("INSERT INTO handover (eid, role, peer, requester) VALUES (?, ?, ?, ?)",
                       (eid, OUTGOING, target, requester))

    def record_relayed_kvn(self, eid: str, kvn: int) -> None:
        """Written ahead: a key set KVN the old SM-SR is about to relay (so a rollback can delete it);
        one per key set kind of the change."""
        with self.transaction() as db:
            row = db.execute("SELECT relayed_kvns FROM handover WHERE eid = ? AND role = ?", (eid, OUTGOING)).fetchone()
            if row is not None and kvn not in (kvns := json.loads(row[0])):
                db.execute("UPDATE handover SET relayed_kvns = ? WHERE eid = ?", (json.dumps(kvns + [kvn]), eid))

    def end_handover(self, eid: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM handover WHERE eid = ?", (eid,))

    def receive(self, eid: str, doc: EisDocument, eum: str, profiles: list[ProfileRecord], current: str,
                old_kvns: list[int]) -> None:
        """The new SM-SR takes the EIS with its own verified key set, in one transaction: from here it is
        in charge; ``old_kvns`` are still to be deleted on the card (ES5.FinaliseISDRhandover)."""
        with self.transaction() as db:
            db.execute("DELETE FROM handover WHERE eid = ?", (eid,))
            db.execute("INSERT INTO euicc (eid, eis, eum, registered) VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ'))",
                       (eid, self._eis_json(doc), eum))
            db.execute("DELETE FROM counter WHERE eid = ?", (eid,))
            for kvn, value in doc.eis.counters.items():
                self._raise_counter(db, eid, kvn, value)
            for p in profiles:
                self._put_profile(db, p)
            db.execute("INSERT INTO handover (eid, role, peer, old_kvns) VALUES (?, ?, ?, ?)",
                       (eid, INCOMING, current, json.dumps(old_kvns)))

    def retire(self, eid: str, successor: str) -> None:
        """The EIS leaves this SM-SR: its record (with the old keys and audit log, which stay here) moves
        to ``retired``; profiles and the change row go."""
        with self.transaction() as db:
            row = db.execute("SELECT eis FROM euicc WHERE eid = ?", (eid,)).fetchone()
            if row is not None:
                db.execute("INSERT INTO retired (eid, eis, successor) VALUES (?, ?, ?)", (eid, row[0], successor))
            db.execute("DELETE FROM profile WHERE eid = ?", (eid,))
            db.execute("DELETE FROM euicc WHERE eid = ?", (eid,))
            db.execute("DELETE FROM handover WHERE eid = ?", (eid,))
