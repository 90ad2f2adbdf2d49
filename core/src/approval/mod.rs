//! Approvals bound to the exact call: the action hash, pending requests, and signed,
//! expiring, single-use receipts; and the two rules of an approval's life that every store
//! applies inside its atomic updates (`decide` a pending request, check a receipt is
//! `usable` before it is consumed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::jcs;

/// How long a pending approval request stays open (seconds).
pub const REQUEST_TTL_SECONDS: i64 = 3600;
/// How long a receipt is valid after approval (seconds).
pub const RECEIPT_TTL_SECONDS: i64 = 600;
/// The JWS `typ` of approval receipts.
pub const RECEIPT_TYP: &str = "rid-approval+jwt";

/// The call an approval is bound to.
#[derive(Debug, Clone, Serialize)]
pub struct BoundCall<'a> {
    /// The action.
    pub action: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// The arguments, exactly as checked.
    pub args: &'a serde_json::Map<String, serde_json::Value>,
    /// The acting agent.
    pub actor: &'a str,
    /// On whose behalf.
    pub on_behalf_of: &'a str,
    /// The leaf grant.
    pub grant_id: &'a str,
}

/// `action_hash`: base64url SHA-256 of the RFC 8785 canonical JSON of the bound call.
pub fn action_hash(call: &BoundCall<'_>) -> String {
    let value = serde_json::json!({
        "action": call.action,
        "resource": call.resource,
        "args": call.args,
        "actor": call.actor,
        "on_behalf_of": call.on_behalf_of,
        "grant_id": call.grant_id,
    });
    B64.encode(Sha256::digest(jcs::canonicalize(&value).as_bytes()))
}

/// The state of an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a person.
    Pending,
    /// Approved; the receipt may be used once.
    Approved,
    /// Denied.
    Denied,
    /// Approved and used by a check.
    Consumed,
}

/// A stored approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// Request id (UUIDv7).
    pub id: String,
    /// The bound call's hash.
    pub action_hash: String,
    /// The action, for the approver to read.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// The arguments (shown to the approver).
    pub args: serde_json::Map<String, serde_json::Value>,
    /// The acting agent.
    pub actor: String,
    /// On whose behalf.
    pub on_behalf_of: String,
    /// The leaf grant.
    pub grant_id: String,
    /// Why approval is needed (from the `@approval` policies).
    pub reason: String,
    /// The decision that asked for it.
    pub decision_id: String,
    /// Status.
    pub status: ApprovalStatus,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// The request (pending) or receipt (approved) lapses at (Unix seconds).
    pub expires_at: i64,
    /// Who approved or denied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
}

/// The claims of a signed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptClaims {
    /// The authority's issuer.
    pub iss: String,
    /// The approver (a user).
    pub sub: String,
    /// The approval request id.
    pub jti: String,
    /// The bound call's hash.
    pub action_hash: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

/// Whether `record` may be consumed by a call with `action_hash` at `now`: approved, unexpired
/// and bound to this call. Every store applies it inside the same atomic update as the counters
/// ([`crate::store::Store::consume`]).
pub(crate) fn usable(record: Option<&ApprovalRecord>, action_hash: &str, now: i64) -> std::result::Result<(), String> {
    let Some(rec) = record else { return Err("no such approval".to_owned()) };
    match rec.status {
        ApprovalStatus::Approved if rec.expires_at < now => Err(format!("approval `{}` expired", rec.id)),
        ApprovalStatus::Approved if rec.action_hash != action_hash => {
            Err(format!("approval `{}` is for another call (action hash differs)", rec.id))
        }
        ApprovalStatus::Approved => Ok(()),
        ApprovalStatus::Consumed => Err(format!("approval `{}` was already used", rec.id)),
        ApprovalStatus::Denied => Err(format!("approval `{}` was denied", rec.id)),
        ApprovalStatus::Pending => Err(format!("approval `{}` is still pending", rec.id)),
    }
}

/// The lifecycle rule for deciding a request: only a pending, unexpired request is decided;
/// an approval gets the receipt's lifetime. Every store applies it inside its atomic update.
pub(crate) fn decide(
    rec: &mut ApprovalRecord,
    status: ApprovalStatus,
    approver: &str,
    now: i64,
    receipt_expires_at: i64,
) -> Result<()> {
    if rec.status != ApprovalStatus::Pending {
        return Err(crate::err!(
            ApprovalInvalid,
            "approval `{}` is already {}",
            rec.id,
            format!("{:?}", rec.status).to_lowercase()
        ));
    }
    if rec.expires_at < now {
        return Err(crate::err!(ApprovalInvalid, "approval `{}` expired before it was decided", rec.id));
    }
    rec.status = status;
    rec.decided_by = Some(approver.to_owned());
    rec.decided_at = Some(now);
    if status == ApprovalStatus::Approved {
        rec.expires_at = receipt_expires_at;
    }
    Ok(())
}
