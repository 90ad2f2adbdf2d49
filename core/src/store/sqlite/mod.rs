//! The embedded default store: one folder with `store.db` (SQLite, WAL) and `keys/`.
//!
//! Several processes may open the same folder: every change runs in an `IMMEDIATE`
//! transaction, and readers notice other processes' commits through `PRAGMA data_version`,
//! asked when the change signal `store.rev` says so (see [`signal`]).

mod rows;
mod setup;
mod signal;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};

use self::rows::{
    corrupt, db_err, decode, encode, insert_authority_key, read_agent, read_approval, read_authority_keys,
    write_approval,
};
use self::setup::{check_db_files, check_header, create_private_file, init_schema, mkdir, set_wal};
use self::signal::{ChangeSignal, Seen};
pub use self::signal::{RECHECK_EVERY, SIGNAL_FILE};
use super::memory::record_of;
use super::{
    keyfile, ApprovalUse, AuditAnchor, AuthorityKeyRecord, GrantRecord, ResourceRecord, StateSnapshot, Store,
    StoredCheckpoint,
};
use crate::agent::{AgentFilter, AgentRecord, AgentStatus};
use crate::approval::{self, ApprovalRecord, ApprovalStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::limits::{plan_counters, ConsumeRefusal, CounterOp};
use crate::principal::PrincipalId;

/// The database file in the runtime folder.
pub const DB_FILE: &str = "store.db";
/// The key folder in the runtime folder.
pub const KEYS_DIR: &str = "keys";

/// The folder store.
pub struct SqliteStore {
    dir: PathBuf,
    keys: PathBuf,
    conn: Mutex<Connection>,
    /// What the last database check found; checked again when another connection commits,
    /// this one changed state, or the signal says so.
    seen: Mutex<Seen>,
    state_dirty: AtomicBool,
    signal: ChangeSignal,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("dir", &self.dir).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the runtime folder `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        mkdir(&dir)?;
        let keys = dir.join(KEYS_DIR);
        mkdir(&keys)?;
        let db = dir.join(DB_FILE);
        check_db_files(&db)?;
        check_header(&db)?;
        create_private_file(&db)?;
        check_db_files(&db)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn = Connection::open_with_flags(&db, flags).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(15)).map_err(db_err)?;
        set_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        init_schema(&mut conn)?;
        // The WAL files SQLite just opened or made.
        check_db_files(&db)?;
        let signal = ChangeSignal::open(&dir)?;
        Ok(Self {
            dir,
            keys,
            conn: Mutex::new(conn),
            seen: Mutex::new(Seen::never()),
            state_dirty: AtomicBool::new(true),
            signal,
        })
    }

    /// The runtime folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| Error::new(ErrorCode::InternalError, "store lock is poisoned"))
    }

    /// Runs `f` in an `IMMEDIATE` transaction that changes state every check must see
    /// (agents, revocations, resources, keys): it bumps the generation.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.transact(true, f)
    }

    fn transact<T>(&self, state: bool, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
        let out = f(&tx)?;
        let generation = if state {
            tx.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'", [])
                .map_err(db_err)?;
            Some(read_generation(&tx)?)
        } else {
            None
        };
        tx.commit().map_err(db_err)?;
        if let Some(generation) = generation {
            self.state_dirty.store(true, Ordering::SeqCst);
            self.signal.announce(generation);
        }
        Ok(out)
    }

    fn agent_key_path(&self, kid: &str) -> Result<PathBuf> {
        keyfile::path(&self.keys, "agent", kid)
    }

    fn authority_key_path(&self, kid: &str) -> Result<PathBuf> {
        keyfile::path(&self.keys, "authority", kid)
    }
}

impl Store for SqliteStore {
    fn init_issuer(&self, issuer: &str) -> Result<String> {
        self.write(|tx| {
            tx.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('issuer', ?1)", [issuer]).map_err(db_err)?;
            tx.query_row("SELECT value FROM meta WHERE key = 'issuer'", [], |r| r.get(0)).map_err(db_err)
        })
    }

    fn issuer(&self) -> Result<Option<String>> {
        let conn = self.conn()?;
        conn.query_row("SELECT value FROM meta WHERE key = 'issuer'", [], |r| r.get(0)).optional().map_err(db_err)
    }

    fn authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        read_authority_keys(&*self.conn()?, false)
    }

    fn authority_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        Ok(keyfile::read(&self.authority_key_path(kid)?)?.map(Arc::new))
    }

    fn ensure_authority_key(&self, make: &mut dyn FnMut() -> Result<PrivateKey>, now: i64) -> Result<()> {
        self.write(|tx| {
            let active: i64 = tx
                .query_row("SELECT count(*) FROM authority_keys WHERE retired_at IS NULL", [], |r| r.get(0))
                .map_err(db_err)?;
            if active > 0 {
                return Ok(());
            }
            let key = make()?;
            keyfile::write(&self.authority_key_path(key.kid())?, &key)?;
            insert_authority_key(tx, &record_of(&key, now))
        })
    }

    fn rotate_authority_key(&self, key: PrivateKey, now: i64) -> Result<()> {
        self.write(|tx| {
            keyfile::write(&self.authority_key_path(key.kid())?, &key)?;
            tx.execute("UPDATE authority_keys SET retired_at = ?1 WHERE retired_at IS NULL", [now]).map_err(db_err)?;
            insert_authority_key(tx, &record_of(&key, now))
        })
    }

    fn remove_authority_key(&self, kid: &str) -> Result<bool> {
        let path = self.authority_key_path(kid)?;
        let removed = self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO removed_authority_keys SELECT kid, alg, jwk, created_at, retired_at \
                 FROM authority_keys WHERE kid = ?1",
                [kid],
            )
            .map_err(db_err)?;
            let n = tx.execute("DELETE FROM authority_keys WHERE kid = ?1", [kid]).map_err(db_err)?;
            Ok(n > 0)
        })?;
        if removed {
            keyfile::remove(&path)?;
        }
        Ok(removed)
    }

    fn insert_agent(&self, record: &AgentRecord, private: Option<PrivateKey>) -> Result<()> {
        let key_path = private.as_ref().map(|k| self.agent_key_path(k.kid())).transpose()?;
        if let (Some(path), Some(key)) = (&key_path, &private) {
            keyfile::write(path, key)?;
        }
        let result = self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row("SELECT 1 FROM agents WHERE id = ?1", [record.id.as_str()], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            if exists.is_some() {
                return Err(Error::new(ErrorCode::AgentExists, format!("agent `{}` is already registered", record.id)));
            }
            tx.execute(
                "INSERT INTO agents(id, owner, status, record) VALUES (?1, ?2, ?3, ?4)",
                params![record.id.as_str(), record.owner.as_str(), record.status.as_str(), encode(record)?],
            )
            .map_err(db_err)?;
            Ok(())
        });
        if result.is_err() {
            if let Some(path) = &key_path {
                keyfile::remove(path)?;
            }
        }
        result
    }

    fn get_agent(&self, id: &PrincipalId) -> Result<Option<AgentRecord>> {
        read_agent(&*self.conn()?, id.as_str())
    }

    fn list_agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT record FROM agents WHERE (?1 IS NULL OR owner = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(
                params![filter.owner.as_ref().map(PrincipalId::as_str), filter.status.map(AgentStatus::as_str)],
                |r| r.get::<_, String>(0),
            )
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err).and_then(|t| decode::<AgentRecord>("agent record", &t))).collect()
    }

    fn update_agent(
        &self,
        id: &PrincipalId,
        change: &mut dyn FnMut(&mut AgentRecord) -> Result<()>,
        new_private: Option<PrivateKey>,
    ) -> Result<AgentRecord> {
        let new_path = new_private.as_ref().map(|k| self.agent_key_path(k.kid())).transpose()?;
        if let (Some(path), Some(key)) = (&new_path, &new_private) {
            keyfile::write(path, key)?;
        }
        let result = self.write(|tx| {
            let mut record = read_agent(tx, id.as_str())?
                .ok_or_else(|| Error::new(ErrorCode::AgentUnknown, format!("agent `{id}` is not registered")))?;
            change(&mut record)?;
            tx.execute(
                "UPDATE agents SET owner = ?2, status = ?3, record = ?4 WHERE id = ?1",
                params![id.as_str(), record.owner.as_str(), record.status.as_str(), encode(&record)?],
            )
            .map_err(db_err)?;
            Ok(record)
        });
        match &result {
            Ok(record) => {
                // The change is committed; a key file that cannot be removed now is unusable
                // (its key is retired) and must not turn the change into a reported failure.
                for k in record.keys.iter().filter(|k| k.retired_at.is_some() && k.private_in_store) {
                    if let Ok(path) = self.agent_key_path(&k.kid) {
                        let _ = keyfile::remove(&path);
                    }
                }
            }
            Err(_) => {
                if let Some(path) = &new_path {
                    keyfile::remove(path)?;
                }
            }
        }
        result
    }

    fn agent_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        Ok(keyfile::read(&self.agent_key_path(kid)?)?.map(Arc::new))
    }

    fn record_grant(&self, grant: &GrantRecord) -> Result<()> {
        self.transact(false, |tx| {
            tx.execute(
                "INSERT INTO grants(grant_id, parent_id, record) VALUES (?1, ?2, ?3)",
                params![grant.grant_id, grant.parent_id, encode(grant)?],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<Vec<String>> {
        self.write(|tx| {
            let mut stmt = tx
                .prepare(
                    "WITH RECURSIVE d(id) AS (SELECT ?1 UNION SELECT g.grant_id FROM grants g JOIN d ON g.parent_id = d.id)
                     SELECT id FROM d WHERE id NOT IN (SELECT grant_id FROM revocations)",
                )
                .map_err(db_err)?;
            let ids = stmt
                .query_map([grant_id], |r| r.get::<_, String>(0))
                .map_err(db_err)?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(db_err)?;
            for id in &ids {
                tx.execute("INSERT OR IGNORE INTO revocations(grant_id, revoked_at) VALUES (?1, ?2)", params![id, now])
                    .map_err(db_err)?;
            }
            Ok(ids)
        })
    }

    fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>> {
        let conn = self.conn()?;
        let text: Option<String> = conn
            .query_row("SELECT record FROM grants WHERE grant_id = ?1", [grant_id], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        text.map(|t| decode("grant record", &t)).transpose()
    }

    fn grants_to(&self, actor: &PrincipalId) -> Result<Vec<GrantRecord>> {
        // Rare (a key rotated as compromised): a scan of the grant records is enough.
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT record FROM grants").map_err(db_err)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
        let mut out = Vec::new();
        for text in rows {
            let grant: GrantRecord = decode("grant record", &text.map_err(db_err)?)?;
            if grant.actor == *actor {
                out.push(grant);
            }
        }
        Ok(out)
    }

    fn snapshot(&self) -> Result<StateSnapshot> {
        super::snapshot_collecting(self)
    }

    fn snapshot_each_agent(&self, each_agent: &mut dyn FnMut(AgentRecord) -> Result<()>) -> Result<StateSnapshot> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(db_err)?;
        let revoked = {
            let mut stmt = tx.prepare_cached("SELECT grant_id FROM revocations").map_err(db_err)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.collect::<std::result::Result<_, _>>().map_err(db_err)?
        };
        {
            let mut stmt = tx.prepare_cached("SELECT id, record FROM agents").map_err(db_err)?;
            let mut rows = stmt.query([]).map_err(db_err)?;
            while let Some(row) = rows.next().map_err(db_err)? {
                let text = |i: usize| row.get_ref(i).map_err(db_err)?.as_str().map_err(|e| db_err(e.into()));
                let record = decode::<AgentRecord>("agent record", text(1)?)?;
                let id = text(0)?;
                if record.id.as_str() != id {
                    return Err(Error::new(
                        ErrorCode::StoreCorrupt,
                        format!(
                            "the agent record stored as `{}` is for `{}`",
                            crate::principal::preview(id),
                            record.id
                        ),
                    ));
                }
                each_agent(record)?;
            }
        }
        let resources = {
            let mut stmt = tx.prepare_cached("SELECT id, record FROM resources").map_err(db_err)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(db_err)?;
            let mut out = std::collections::HashMap::new();
            for row in rows {
                let (id, record) = row.map_err(db_err)?;
                out.insert(id, decode::<ResourceRecord>("resource record", &record)?);
            }
            out
        };
        let authority_keys = read_authority_keys(&tx, false)?;
        tx.commit().map_err(db_err)?;
        Ok(StateSnapshot { revoked, agents: std::collections::HashMap::new(), resources, authority_keys })
    }

    fn removed_authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        read_authority_keys(&*self.conn()?, true)
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn()?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [format!("app.{key}")], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.transact(false, |tx| {
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", params![format!("app.{key}"), value])
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let conn = self.conn()?;
        conn.query_row("SELECT seq, hash FROM audit_checkpoint WHERE id = 1", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()
        .map_err(db_err)?
        .map(|(seq, hash)| {
            let seq = u64::try_from(seq).map_err(|_| corrupt(format!("`{DB_FILE}` holds checkpoint seq {seq}")))?;
            Ok(StoredCheckpoint { seq, hash })
        })
        .transpose()
    }

    fn save_audit_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let seq =
            i64::try_from(cp.seq).map_err(|_| Error::new(ErrorCode::InvalidArgument, "checkpoint seq too large"))?;
        self.transact(false, |tx| {
            tx.execute(
                "INSERT INTO audit_checkpoint(id, seq, hash) VALUES (1, ?1, ?2) \
                 ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > seq",
                params![seq, cp.hash],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        let conn = self.conn()?;
        let text: Option<String> = conn
            .prepare_cached("SELECT value FROM meta WHERE key = 'audit_anchor'")
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(db_err)?;
        text.map(|t| decode("audit anchor", &t)).transpose()
    }

    fn save_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        // In `meta` (no schema change); an IMMEDIATE transaction, durable (synchronous=FULL).
        let text = encode(anchor)?;
        self.transact(false, |tx| {
            tx.prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_anchor', ?1)")
                .and_then(|mut s| s.execute([&text]))
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn revision(&self) -> Result<u64> {
        // The signal first: a change announced after this read is seen by the next call.
        let signal = self.signal.read();
        let poisoned = || Error::new(ErrorCode::InternalError, "store lock is poisoned");
        if !self.state_dirty.load(Ordering::SeqCst) {
            let seen = self.seen.lock().map_err(|_| poisoned())?;
            if seen.still_current(signal, Instant::now()) {
                return Ok(seen.generation);
            }
        }
        let conn = self.conn()?;
        // Follow a signal file that was replaced, and read it again before the database.
        self.signal.reopen();
        let signal = self.signal.read();
        let data_version: i64 = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(db_err)?;
        let mut seen = self.seen.lock().map_err(|_| poisoned())?;
        let dirty = self.state_dirty.swap(false, Ordering::SeqCst);
        if dirty || seen.data_version != data_version {
            seen.generation = read_generation(&conn)?;
            seen.data_version = data_version;
        }
        seen.signal = signal;
        seen.checked = Some(Instant::now());
        Ok(seen.generation)
    }

    fn upsert_resource(&self, resource: &ResourceRecord) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO resources(id, record) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET record = excluded.record",
                params![resource.id, encode(resource)?],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn consume(
        &self,
        ops: &[CounterOp],
        approval: Option<ApprovalUse<'_>>,
        now: i64,
        commit: bool,
    ) -> Result<std::result::Result<(), ConsumeRefusal>> {
        let run = |tx: &rusqlite::Transaction<'_>| -> Result<std::result::Result<(), ConsumeRefusal>> {
            if let Some(a) = &approval {
                let rec = read_approval(tx, a.id)?;
                if let Err(why) = approval::usable(rec.as_ref(), a.action_hash, now) {
                    return Ok(Err(ConsumeRefusal::Approval(why)));
                }
            }
            let mut read = |key: &str| -> Result<(f64, i64)> {
                let row: Option<(f64, i64)> = tx
                    .prepare_cached("SELECT value, window FROM counters WHERE key = ?1")
                    .and_then(|mut s| s.query_row([key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                    .map_err(db_err)?;
                Ok(row.unwrap_or((0.0, 0)))
            };
            let updates = match plan_counters(ops, &mut read)? {
                Ok(u) => u,
                Err(i) => return Ok(Err(ConsumeRefusal::Limit(i))),
            };
            if commit {
                for (key, value, window) in updates {
                    tx.prepare_cached(
                        "INSERT INTO counters(key, value, window) VALUES (?1, ?2, ?3)
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value, window = excluded.window",
                    )
                    .and_then(|mut s| s.execute(params![key, value, window]))
                    .map_err(db_err)?;
                }
                if let Some(a) = &approval {
                    if let Some(mut rec) = read_approval(tx, a.id)? {
                        rec.status = ApprovalStatus::Consumed;
                        write_approval(tx, &rec)?;
                    }
                }
            }
            Ok(Ok(()))
        };
        if commit {
            self.transact(false, run)
        } else {
            let mut conn = self.conn()?;
            let tx = conn.transaction().map_err(db_err)?;
            let out = run(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        }
    }

    fn open_approval(&self, request: &ApprovalRecord, now: i64, max_pending: usize) -> Result<Option<ApprovalRecord>> {
        self.transact(false, |tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT record FROM approvals WHERE action_hash = ?1 AND status = 'pending' AND expires_at >= ?2 LIMIT 1",
                    params![request.action_hash, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(text) = existing {
                return decode("approval", &text).map(Some);
            }
            // Pending requests are few (each waits for a person); the grant is read from the
            // record rather than a column of its own.
            let pending: i64 = tx
                .query_row(
                    "SELECT count(*) FROM approvals WHERE status = 'pending' AND expires_at >= ?1
                     AND json_extract(record, '$.grant_id') = ?2",
                    params![now, request.grant_id],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if usize::try_from(pending).unwrap_or(usize::MAX) >= max_pending {
                return Ok(None);
            }
            write_approval(tx, request)?;
            Ok(Some(request.clone()))
        })
    }

    fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>> {
        read_approval(&*self.conn()?, id)
    }

    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        approver: &str,
        now: i64,
        receipt_expires_at: i64,
    ) -> Result<ApprovalRecord> {
        self.transact(false, |tx| {
            let mut rec = read_approval(tx, id)?
                .ok_or_else(|| Error::new(ErrorCode::ApprovalInvalid, format!("no approval request `{id}`")))?;
            approval::decide(&mut rec, status, approver, now, receipt_expires_at)?;
            write_approval(tx, &rec)?;
            Ok(rec)
        })
    }

    fn use_proof(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool> {
        self.transact(false, |tx| {
            tx.execute("DELETE FROM proofs WHERE expires_at < ?1", [now]).map_err(db_err)?;
            let n = tx
                .execute("INSERT OR IGNORE INTO proofs(jti, expires_at) VALUES (?1, ?2)", params![jti, expires_at])
                .map_err(db_err)?;
            Ok(n == 1)
        })
    }
}

/// The generation of the state, as committed (or as changed by the open transaction).
fn read_generation(conn: &Connection) -> Result<u64> {
    let generation: String = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_err)?;
    generation.parse::<u64>().map_err(|_| corrupt(format!("`{DB_FILE}` holds generation `{generation}`")))
}
