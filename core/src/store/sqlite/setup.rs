//! Opening the folder: private permissions, refusing foreign files and files others could
//! change (see [`crate::store::folder`]), WAL mode, the schema.

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::rows::{corrupt, db_err};
use super::DB_FILE;
use crate::error::{Error, ErrorCode, Result};
use crate::store::folder::{self, Kind, OpenError};

/// `PRAGMA application_id` of our databases ("RIDS").
const APPLICATION_ID: i32 = 0x5249_4453;
/// The schema version this code writes and reads.
const SCHEMA_VERSION: i32 = 2;

const SCHEMA: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE authority_keys(kid TEXT PRIMARY KEY, alg TEXT NOT NULL, jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL, retired_at INTEGER);
CREATE TABLE agents(id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX agents_owner ON agents(owner);
CREATE TABLE grants(grant_id TEXT PRIMARY KEY, parent_id TEXT, record TEXT NOT NULL);
CREATE INDEX grants_parent ON grants(parent_id);
CREATE TABLE revocations(grant_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL);
CREATE TABLE resources(id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE counters(key TEXT PRIMARY KEY, value REAL NOT NULL, window INTEGER NOT NULL);
CREATE TABLE approvals(id TEXT PRIMARY KEY, action_hash TEXT NOT NULL, status TEXT NOT NULL,
    expires_at INTEGER NOT NULL, record TEXT NOT NULL);
CREATE INDEX approvals_hash ON approvals(action_hash);
CREATE TABLE proofs(jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
INSERT INTO meta(key, value) VALUES ('generation', '0');
";

/// Version 2: the audit log's newest checkpoint, and removed authority keys (public halves
/// only) so that checkpoints they signed still verify.
const SCHEMA_2: &str = "
CREATE TABLE audit_checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE removed_authority_keys(kid TEXT PRIMARY KEY, alg TEXT NOT NULL, jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL, retired_at INTEGER);
";

/// Creates a private folder (0700), or checks that an existing one is a real folder of this
/// user that nobody else can write: whoever can write it could plant an authority key.
pub(super) fn mkdir(path: &Path) -> Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(|e| {
        Error::new(ErrorCode::StoreUnavailable, format!("cannot create folder `{}`: {e}", path.display()))
            .with_source(e)
    })?;
    folder::check_dir(path)
}

/// Creates the database file with mode 0600 before SQLite opens it (SQLite gives its WAL and
/// shared-memory files the same mode). `create_new` never follows a link.
pub(super) fn create_private_file(path: &Path) -> Result<()> {
    match fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::new(ErrorCode::StoreUnavailable, format!("cannot create `{}`: {e}", path.display()))),
    }
}

/// Checks the database and its WAL and shared-memory files where they exist (regular files
/// of this user, one name each, not writable by others), by path, without following a link.
pub(super) fn check_db_files(db: &Path) -> Result<()> {
    folder::check_path(db, Kind::Shared)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        folder::check_path(Path::new(&name), Kind::Shared)?;
    }
    Ok(())
}

/// Refuses a `store.db` that exists but does not start like an SQLite database.
pub(super) fn check_header(path: &Path) -> Result<()> {
    let mut f = match folder::open(path, fs::OpenOptions::new().read(true), Kind::Shared, ErrorCode::StoreUnavailable) {
        Ok(f) => f,
        Err(OpenError::NotFound) => return Ok(()),
        Err(OpenError::Failed(e)) => return Err(e),
    };
    let mut head = [0u8; 16];
    let n = f.read(&mut head).unwrap_or(0);
    if n == 0 {
        return Ok(());
    }
    if n < 16 || &head != b"SQLite format 3\0" {
        return Err(corrupt(format!("`{}` is not a runtime-identity database", path.display())));
    }
    Ok(())
}

pub(super) fn set_wal(conn: &Connection) -> Result<()> {
    let mut last = None;
    for attempt in 0..50u64 {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => return Err(corrupt(format!("`{DB_FILE}` cannot use WAL (journal mode `{mode}`)"))),
            Err(e) => {
                let busy =
                    matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy);
                if !busy {
                    return Err(db_err(e));
                }
                last = Some(e);
                std::thread::sleep(Duration::from_millis(10 + attempt * 5));
            }
        }
    }
    Err(last.map(db_err).unwrap_or_else(|| Error::new(ErrorCode::StoreUnavailable, "store is busy")))
}

pub(super) fn init_schema(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    let app: i32 = tx.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(db_err)?;
    let version: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_err)?;
    if app == 0 {
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(db_err)?;
        if tables != 0 {
            return Err(corrupt(format!("`{DB_FILE}` is an sqlite database of another application")));
        }
        tx.execute_batch(SCHEMA).map_err(db_err)?;
        tx.execute_batch(SCHEMA_2).map_err(db_err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(db_err)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db_err)?;
    } else if app != APPLICATION_ID {
        return Err(corrupt(format!("`{DB_FILE}` belongs to another application (id {app:#x})")));
    } else if version > SCHEMA_VERSION {
        return Err(corrupt(format!(
            "`{DB_FILE}` has schema version {version}, newer than this version of runtime-identity ({SCHEMA_VERSION})"
        )));
    } else if version < 1 {
        return Err(corrupt(format!("`{DB_FILE}` has no schema version")));
    } else if version == 1 {
        tx.execute_batch(SCHEMA_2).map_err(db_err)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}
