//! The tamper-evident audit log (docs/ARCHITECTURE.md § Audit log): every decision, outcome and lifecycle
//! event as one hash-chained JSON line of `audit.jsonl`, with signed checkpoints, group-commit
//! durability, crash recovery, verification, provenance queries and PROV-JSON export.
//!
//! Arguments appear only as `args_digest` unless allow-listed in [`AuditOptions::record_args`];
//! tokens and keys never appear, only grant ids and key ids.

mod checkpoint;
mod event;
mod line;
mod log;
mod prov;
mod query;
mod record;
mod sink;
mod tail;
mod verify;

use std::io::BufRead;

pub use checkpoint::{CHECKPOINT_TYP, DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_SECONDS};
pub use event::{
    parse_timestamp, timestamp, AuditEvent, AuditLink, AuditOutcome, CheckpointBody, EventType, FORMAT_VERSION,
    GENESIS, MAX_LINE_BYTES,
};
pub use line::{args_digest, line_hash, sha256_hex};
pub use log::{AuditLog, AuditOptions, Durability};
pub use prov::ProvBuilder;
pub use query::{printable, EventFilter, Provenance, ProvenanceApproval, ProvenanceLink, ProvenanceOutcome};
pub use record::Outcome;
pub(crate) use record::{lifecycle, record_decision};
pub(crate) use sink::Sink;
pub use sink::LOG_FILE;
pub use verify::{TamperKind, VerifyReport};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Jwks, PublicKey};
use crate::store::{AuditAnchor, Store, StoredCheckpoint};

/// [`verify_log`] over a log file, with the JWKS and the anchor (`{"seq", "hash"}`) as JSON —
/// the form an auditor receives them in. Error `invalid_argument` for a malformed JWKS or
/// anchor, `audit_unavailable` if the file cannot be read.
pub fn verify_log_file(
    path: &std::path::Path,
    issuer: &str,
    jwks: &serde_json::Value,
    anchor: Option<&serde_json::Value>,
) -> Result<VerifyReport> {
    let bad =
        |what: &str, e: serde_json::Error| Error::new(ErrorCode::InvalidArgument, format!("{what} is not valid: {e}"));
    let jwks: Jwks = serde_json::from_value(jwks.clone()).map_err(|e| bad("the JWKS", e))?;
    let anchor = match anchor.filter(|a| !a.is_null()) {
        Some(a) => Some(serde_json::from_value::<StoredCheckpoint>(a.clone()).map_err(|e| bad("the anchor", e))?),
        None => None,
    };
    let file = std::fs::File::open(path).map_err(|e| {
        Error::new(ErrorCode::AuditUnavailable, format!("cannot read the log `{}`: {e}", path.display())).with_source(e)
    })?;
    verify_log(std::io::BufReader::new(file), issuer, &jwks, anchor)
}

/// Verifies a log without a runtime — what a third party (an auditor) runs, given the log,
/// the authority's issuer and public keys (a JWKS that includes retired and removed keys) and,
/// to detect a cut-off tail, the newest checkpoint the operator's store reports (`anchor`).
/// Without an anchor, events after the last checkpoint in the log can be dropped unnoticed.
pub fn verify_log(
    reader: impl BufRead,
    issuer: &str,
    jwks: &Jwks,
    anchor: Option<StoredCheckpoint>,
) -> Result<VerifyReport> {
    crate::principal::validate_issuer(issuer)?;
    // A key the auditor was given but cannot read is a bad input, not a bad checkpoint.
    let keys = jwks
        .keys
        .iter()
        .map(|k| {
            PublicKey::from_jwk(k).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("a key of the JWKS is not valid: {}", e.message()))
            })
        })
        .collect::<Result<Vec<PublicKey>>>()?;
    let key_of = |kid: &str| keys.iter().find(|k| k.kid() == kid).cloned();
    verify::verify(reader, &verify::Trust { issuer, key_of: &key_of, stored: anchor, anchor: None })
}

/// Verifies the log file of a runtime folder against its store — the authority's keys, the
/// newest checkpoint and the running anchor — without opening a runtime (which refuses a log
/// that does not end where the anchor says): what `rid audit verify` falls back to.
pub fn verify_folder_log(store: &dyn Store, path: &std::path::Path) -> Result<VerifyReport> {
    let issuer = store.issuer()?.ok_or_else(|| Error::new(ErrorCode::StoreCorrupt, "the store has no issuer"))?;
    let file = std::fs::File::open(path).map_err(|e| {
        Error::new(ErrorCode::AuditUnavailable, format!("cannot read the log `{}`: {e}", path.display())).with_source(e)
    })?;
    let reader = std::io::BufReader::new(file);
    verify_with_store(store, &issuer, reader, store.audit_anchor()?)
}

fn verify_with_store(
    store: &dyn Store,
    issuer: &str,
    reader: impl BufRead,
    anchor: Option<AuditAnchor>,
) -> Result<VerifyReport> {
    let mut keys = store.authority_keys()?;
    keys.extend(store.removed_authority_keys()?);
    let key_of = |kid: &str| keys.iter().find(|k| k.kid == kid).and_then(|k| PublicKey::from_jwk(&k.jwk).ok());
    let trust = verify::Trust { issuer, key_of: &key_of, stored: store.audit_checkpoint()?, anchor };
    verify::verify(reader, &trust)
}

impl AuditLog {
    fn open_reader(&self) -> Result<Box<dyn BufRead + Send>> {
        let len = self.shared.sink.settled_len()?;
        self.shared.sink.reader(len)
    }

    /// Recomputes the chain, checks every checkpoint signature (keys in service, retired or
    /// removed) and compares the end of the log with the store's checkpoint and running
    /// anchor. Events still queued are flushed first; a log refused as corrupt is still
    /// verified, so that the report says what is wrong.
    pub fn verify(&self) -> Result<VerifyReport> {
        match self.flush() {
            Err(e) if e.code() != ErrorCode::AuditCorrupt => return Err(e),
            _ => {}
        }
        let (len, anchor) = self.shared.settled_with_anchor()?;
        verify_with_store(self.shared.store.as_ref(), &self.shared.issuer, self.shared.sink.reader(len)?, anchor)
    }

    /// The events passing `filter`, oldest first (the newest `limit` if it is set).
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<AuditEvent>> {
        self.flush()?;
        let mut out = std::collections::VecDeque::new();
        query::read_events(self.open_reader()?, |ev| {
            if filter.matches(&ev) {
                out.push_back(ev);
                if filter.limit.is_some_and(|l| out.len() > l) {
                    out.pop_front();
                }
            }
            true
        })?;
        Ok(out.into())
    }

    /// The provenance of one decision: the delegation chain (issuer, actor, grant id, times,
    /// scopes), the reasons and policies, the approval (who, when) and the outcome.
    pub fn explain(&self, decision_id: &str) -> Result<Provenance> {
        self.flush()?;
        query::explain(&|| self.open_reader(), decision_id)
    }

    /// The calls passing `filter` as a W3C PROV-JSON document.
    pub fn export_prov(&self, filter: &EventFilter) -> Result<serde_json::Value> {
        self.flush()?;
        let mut b = ProvBuilder::default();
        let mut f = filter.clone();
        f.kind = None;
        query::read_events(self.open_reader()?, |ev| {
            if f.matches(&ev) || (ev.kind == EventType::Outcome.as_str()) {
                b.add(&ev);
            }
            true
        })?;
        Ok(b.finish())
    }

    /// The raw lines (JSON Lines), for export and `tail`.
    pub fn read_raw(&self) -> Result<Box<dyn BufRead + Send>> {
        self.flush()?;
        self.open_reader()
    }
}
