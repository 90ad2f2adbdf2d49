//! Events built from the runtime's values: decisions, outcomes and lifecycle changes. Here,
//! and only here, is decided what of a call reaches the log.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::check::{Decision, Reason, ReasonCode};
use crate::token::VerifiedChain;

use super::event::{AuditEvent, AuditLink, AuditOutcome, EventType};
use super::line::args_digest;

/// What a guarded action did, for [`crate::Runtime::record_outcome`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// It succeeded.
    pub ok: bool,
    /// The error type (an exception class name, an error code), when it failed.
    pub error: Option<String>,
    /// A digest of the result, if the application computes one.
    pub result_digest: Option<String>,
    /// How long it ran.
    pub duration: Option<Duration>,
}

impl Outcome {
    /// A success.
    pub fn ok() -> Self {
        Self { ok: true, ..Self::default() }
    }

    /// A failure of type `error`.
    pub fn error(error: impl Into<String>) -> Self {
        Self { ok: false, error: Some(error.into()), ..Self::default() }
    }

    /// With the time it took.
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }
}

/// Reason codes whose messages can quote argument values: the log keeps only the code.
fn may_quote_arguments(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::ConstraintViolated
            | ReasonCode::ArgumentMissing
            | ReasonCode::LimitBudget
            | ReasonCode::RequestInvalid
    )
}

/// The `decision` event of a check. Arguments appear as `args_digest`, plus the values of the
/// names in `record_args`.
pub(crate) fn decision_event(
    d: &Decision,
    chain: Option<&VerifiedChain>,
    args: Option<&Map<String, Value>>,
    txn: Option<&str>,
    record_args: &[String],
) -> AuditEvent {
    let mut ev = AuditEvent::new(EventType::Decision, d.decided_at_ms);
    ev.decision_id = Some(d.decision_id.clone());
    ev.effect = Some(d.effect);
    ev.reasons = d
        .reasons
        .iter()
        .map(|r| {
            if may_quote_arguments(r.code) {
                Reason::new(r.code, "(details withheld from the audit log: they may quote arguments)")
            } else {
                r.clone()
            }
        })
        .collect();
    ev.actor = d.actor.clone();
    ev.chain = d.chain.clone();
    ev.on_behalf_of = d.on_behalf_of.clone();
    ev.grant_id = d.grant_id.clone();
    ev.policies = d.policies.clone();
    ev.action = Some(d.action.clone());
    ev.resource = Some(d.resource.clone());
    ev.approval_id = d.approval_request.as_ref().map(|r| r.id.clone()).or_else(|| d.approval_used.clone());
    ev.txn = txn.map(str::to_owned);
    if let Some(chain) = chain {
        ev.links = chain
            .links
            .iter()
            .map(|l| AuditLink {
                issuer: Arc::clone(&l.issuer),
                actor: l.actor.shared_str(),
                grant_id: Arc::clone(&l.grant_id),
                issued_at: l.issued_at,
                expires_at: l.expires_at,
            })
            .collect();
    }
    let empty = Map::new();
    let args = args.unwrap_or(&empty);
    ev.args_digest = Some(args_digest(args));
    let kept: Map<String, Value> =
        record_args.iter().filter_map(|name| args.get(name).map(|v| (name.clone(), v.clone()))).collect();
    if !kept.is_empty() {
        ev.args = Some(kept);
    }
    ev
}

/// Lifecycle and outcome events.
pub(crate) mod lifecycle {
    use super::*;
    use crate::agent::AgentRecord;
    use crate::approval::ApprovalRecord;
    use crate::store::GrantRecord;

    /// `agent.*` about `agent`, naming key `kid` if given.
    pub(crate) fn agent(kind: EventType, agent: &AgentRecord, kid: Option<&str>, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(kind, now_ms);
        ev.agent = Some(agent.id.as_str().to_owned());
        ev.owner = Some(agent.owner.as_str().to_owned());
        ev.kid = kid.map(str::to_owned);
        ev
    }

    /// `grant.issued` / `grant.attenuated`.
    pub(crate) fn grant(
        kind: EventType,
        g: &GrantRecord,
        scopes: Value,
        purpose: Option<&str>,
        kid: &str,
        now_ms: i64,
    ) -> AuditEvent {
        let mut ev = AuditEvent::new(kind, now_ms);
        ev.grant_id = Some(g.grant_id.clone());
        ev.parent_grant = g.parent_id.clone();
        ev.issuer = Some(g.issuer.clone());
        ev.actor = Some(g.actor.as_str().to_owned());
        ev.on_behalf_of = Some(g.on_behalf_of.as_str().to_owned());
        ev.issued_at = Some(g.issued_at);
        ev.expires_at = Some(g.expires_at);
        ev.scopes = Some(scopes);
        ev.purpose = purpose.map(str::to_owned);
        ev.kid = Some(kid.to_owned());
        ev
    }

    /// `grant.revoked`.
    pub(crate) fn grant_revoked(grant_id: &str, revoked: &[String], now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventType::GrantRevoked, now_ms);
        ev.grant_id = Some(grant_id.to_owned());
        ev.revoked = revoked.to_vec();
        ev
    }

    /// `approval.*` about `rec` (never its arguments: they stay in the store).
    pub(crate) fn approval(kind: EventType, rec: &ApprovalRecord, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(kind, now_ms);
        ev.approval_id = Some(rec.id.clone());
        ev.decision_id = Some(rec.decision_id.clone());
        ev.action = Some(rec.action.clone());
        ev.resource = Some(rec.resource.clone());
        ev.actor = Some(rec.actor.clone());
        ev.on_behalf_of = Some(rec.on_behalf_of.clone());
        ev.grant_id = Some(rec.grant_id.clone());
        ev.action_hash = Some(rec.action_hash.clone());
        ev.approver = rec.decided_by.clone();
        ev.expires_at = Some(rec.expires_at);
        if kind == EventType::ApprovalRequested {
            ev.message = Some(rec.reason.clone());
        }
        ev
    }

    /// `approval.consumed` by the check `decision_id`.
    pub(crate) fn approval_consumed(approval_id: &str, decision_id: &str, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventType::ApprovalConsumed, now_ms);
        ev.approval_id = Some(approval_id.to_owned());
        ev.decision_id = Some(decision_id.to_owned());
        ev
    }

    /// `policy.loaded`: the source names (in `policies`), how many policies, and the digest
    /// of the sources.
    pub(crate) fn policy_loaded(sources: Vec<String>, count: usize, digest: String, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventType::PolicyLoaded, now_ms);
        ev.policies = sources;
        ev.digest = Some(digest);
        ev.message = Some(format!("{count} policies"));
        ev
    }

    /// `policy.rejected` with the error.
    pub(crate) fn policy_rejected(message: &str, digest: String, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventType::PolicyRejected, now_ms);
        ev.message = Some(message.to_owned());
        ev.digest = Some(digest);
        ev
    }

    /// `outcome` of decision `decision_id`.
    pub(crate) fn outcome(decision_id: &str, o: &Outcome, now_ms: i64) -> AuditEvent {
        let mut ev = AuditEvent::new(EventType::Outcome, now_ms);
        ev.decision_id = Some(decision_id.to_owned());
        ev.outcome = Some(AuditOutcome {
            status: if o.ok { "ok" } else { "error" }.to_owned(),
            error: o.error.clone(),
            duration_ms: o.duration.map(|d| d.as_secs_f64() * 1000.0),
            result_digest: o.result_digest.clone(),
        });
        ev
    }
}
