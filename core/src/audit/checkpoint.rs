//! Checkpoints: the authority signs `{head, iss, seq}` so that a rewritten chain is caught, and
//! the newest checkpoint is kept in the store so that a cut-off tail is caught. Between
//! checkpoints the store keeps the log's running anchor ([`crate::store::AuditAnchor`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::token::jws::{parse_link_typed, sign_raw};

use super::event::CheckpointBody;

/// The `typ` of a checkpoint signature.
pub const CHECKPOINT_TYP: &str = "rid-audit-checkpoint+jws";
/// Default number of events between checkpoints.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;
/// Default longest time (seconds) events this process wrote stay without a checkpoint.
pub const DEFAULT_CHECKPOINT_SECONDS: u64 = 60;

#[derive(Serialize, Deserialize)]
struct Payload {
    head: String,
    iss: String,
    seq: u64,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// Signs a checkpoint at `seq` over the head hash `head`.
pub(crate) fn sign(key: &PrivateKey, issuer: &str, seq: u64, head: &str) -> Result<CheckpointBody> {
    let internal = |e: serde_json::Error| Error::new(ErrorCode::InternalError, e.to_string());
    let header = serde_json::to_vec(&Header { alg: key.alg().as_str(), kid: key.kid(), typ: CHECKPOINT_TYP })
        .map_err(internal)?;
    // Field order is the canonical order: head, iss, seq.
    let payload =
        serde_json::to_vec(&Payload { head: head.to_owned(), iss: issuer.to_owned(), seq }).map_err(internal)?;
    Ok(CheckpointBody { seq, head: head.to_owned(), kid: key.kid().to_owned(), sig: sign_raw(&header, &payload, key) })
}

/// Checks a checkpoint found at `seq` after `prev`: signed by `key_of(kid)`, for `issuer`,
/// committing to exactly this `seq` and `prev`. The error says what is wrong.
pub(crate) fn verify(
    body: &CheckpointBody,
    issuer: &str,
    seq: u64,
    prev: &str,
    key_of: &dyn Fn(&str) -> Option<PublicKey>,
) -> std::result::Result<(), String> {
    let raw = parse_link_typed(&body.sig, 0, CHECKPOINT_TYP).map_err(|e| format!("signature: {}", e.message()))?;
    let kid = raw.header.kid.as_deref().unwrap_or_default();
    if kid != body.kid {
        return Err(format!("signed by `{kid}` but names `{}`", body.kid));
    }
    let key = key_of(kid).ok_or_else(|| format!("signed by `{kid}`, which is not a key of this authority"))?;
    key.verify(raw.alg, raw.signing_input.as_bytes(), &raw.signature)
        .map_err(|_| "the signature does not verify".to_owned())?;
    let p: Payload = serde_json::from_slice(&raw.payload).map_err(|e| format!("signed payload: {e}"))?;
    if p.iss != issuer {
        return Err(format!("signed for issuer `{}`", p.iss));
    }
    if p.seq != seq || body.seq != seq {
        return Err(format!("signed for seq {} but found at seq {seq}", p.seq));
    }
    if p.head != prev || body.head != prev {
        return Err("signed over another head hash".to_owned());
    }
    Ok(())
}
