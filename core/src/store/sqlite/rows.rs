//! Reading and writing rows, and turning SQLite errors into store errors.

use rusqlite::{params, Connection, OptionalExtension as _};

use super::DB_FILE;
use crate::agent::AgentRecord;
use crate::approval::ApprovalRecord;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Algorithm, Jwk};
use crate::store::AuthorityKeyRecord;

pub(super) fn db_err(e: rusqlite::Error) -> Error {
    let corrupt = matches!(
        &e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    );
    if corrupt {
        Error::new(ErrorCode::StoreCorrupt, format!("`{DB_FILE}` is corrupt or not a database: {e}")).with_source(e)
    } else {
        Error::new(ErrorCode::StoreUnavailable, format!("store database: {e}")).with_source(e)
    }
}

pub(super) fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::StoreCorrupt, msg)
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("`{DB_FILE}` holds an unreadable {what}: {e}")))
}

pub(super) fn encode<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::new(ErrorCode::InternalError, e.to_string()))
}

pub(super) fn read_agent(tx: &Connection, id: &str) -> Result<Option<AgentRecord>> {
    let text: Option<String> =
        tx.query_row("SELECT record FROM agents WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(db_err)?;
    text.map(|t| decode::<AgentRecord>("agent record", &t)).transpose()
}

pub(super) fn read_approval(conn: &Connection, id: &str) -> Result<Option<ApprovalRecord>> {
    let text: Option<String> =
        conn.query_row("SELECT record FROM approvals WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(db_err)?;
    text.map(|t| decode("approval", &t)).transpose()
}

pub(super) fn write_approval(conn: &Connection, rec: &ApprovalRecord) -> Result<()> {
    let status = serde_json::to_value(rec.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    conn.execute(
        "INSERT INTO approvals(id, action_hash, status, expires_at, record) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, record = excluded.record",
        params![rec.id, rec.action_hash, status, rec.expires_at, encode(rec)?],
    )
    .map_err(db_err)?;
    Ok(())
}

/// The authority keys in service (`removed == false`) or removed from service.
pub(super) fn read_authority_keys(conn: &Connection, removed: bool) -> Result<Vec<AuthorityKeyRecord>> {
    let sql = if removed {
        "SELECT kid, alg, jwk, created_at, retired_at FROM removed_authority_keys ORDER BY created_at, rowid"
    } else {
        "SELECT kid, alg, jwk, created_at, retired_at FROM authority_keys ORDER BY created_at, rowid"
    };
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (kid, alg, jwk, created_at, retired_at) = row.map_err(db_err)?;
        let alg = Algorithm::parse(&alg)
            .map_err(|_| corrupt(format!("`{DB_FILE}` holds an authority key with algorithm `{alg}`")))?;
        let jwk: Jwk = decode("authority key", &jwk)?;
        out.push(AuthorityKeyRecord { kid, alg, jwk, created_at, retired_at });
    }
    Ok(out)
}

pub(super) fn insert_authority_key(tx: &Connection, rec: &AuthorityKeyRecord) -> Result<()> {
    tx.execute(
        "INSERT INTO authority_keys(kid, alg, jwk, created_at, retired_at) VALUES (?1, ?2, ?3, ?4, NULL)",
        params![rec.kid, rec.alg.as_str(), encode(&rec.jwk)?, rec.created_at],
    )
    .map_err(db_err)?;
    Ok(())
}
