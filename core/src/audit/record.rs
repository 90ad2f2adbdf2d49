//! Events built from the runtime's values: decisions, outcomes and lifecycle changes. Here,
//! and only here, is decided what of a call reaches the log.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::check::{Decision, Reason, ReasonCode};
use crate::error::Result;
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

/// Writes the `decision` event of a check through `append` and returns its result. Arguments
/// appear as `args_digest`, plus the values of the names in `record_args`. The event borrows
/// the decision's names and ids for the write (moved in and back, not copied): `d` is as it
/// was when this returns, whatever `append` answered.
pub(crate) fn record_decision(
    d: &mut Decision,
    chain: Option<&VerifiedChain>,
    args: Option<&Map<String, Value>>,
    txn: Option<&str>,
    record_args: &[String],
    append: impl FnOnce(&AuditEvent) -> Result<()>,
) -> Result<()> {
    let mut ev = AuditEvent::new(EventType::Decision, d.decided_at_ms);
    ev.effect = Some(d.effect);
    ev.proof = Some(d.proof);
    // The reasons are lent too when none has to be withheld.
    let withheld = d.reasons.iter().any(|r| may_quote_arguments(r.code));
    if withheld {
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
    }
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
    swap_lent(d, &mut ev, !withheld);
    let written = append(&ev);
    swap_lent(d, &mut ev, !withheld);
    written
}

/// Swaps the names and ids (and, if `reasons`, the reasons) a decision shares with its event:
/// once lends them to the event, twice gives them back.
fn swap_lent(d: &mut Decision, ev: &mut AuditEvent, reasons: bool) {
    if reasons {
        std::mem::swap(&mut d.reasons, &mut ev.reasons);
    }
    fn swap_in(s: &mut String, o: &mut Option<String>) {
        let theirs = o.take().unwrap_or_default();
        *o = Some(std::mem::replace(s, theirs));
    }
    swap_in(&mut d.decision_id, &mut ev.decision_id);
    swap_in(&mut d.action, &mut ev.action);
    swap_in(&mut d.resource, &mut ev.resource);
    std::mem::swap(&mut d.actor, &mut ev.actor);
    std::mem::swap(&mut d.chain, &mut ev.chain);
    std::mem::swap(&mut d.on_behalf_of, &mut ev.on_behalf_of);
    std::mem::swap(&mut d.grant_id, &mut ev.grant_id);
    std::mem::swap(&mut d.policies, &mut ev.policies);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::check::Effect;
    use crate::error::{Error, ErrorCode};

    fn decision() -> Decision {
        Decision {
            effect: Effect::Deny,
            allowed: false,
            reasons: vec![Reason::new(ReasonCode::ConstraintViolated, "amount 5000 is over 100")],
            decision_id: "0190e0a0-0000-7000-8000-000000000001".into(),
            actor: Some("agent:acme/bot".into()),
            chain: vec!["agent:acme/bot".into(), "agent:acme/sub".into()],
            on_behalf_of: Some("user:alice@acme".into()),
            grant_id: Some("g1".into()),
            policies: vec!["P1".into(), "P2".into()],
            approval_request: None,
            approval_used: Some("ap1".into()),
            proof: true,
            action: "payments.refund".into(),
            resource: "customer/42".into(),
            decided_at_ms: 1_796_000_000_123,
        }
    }

    /// The event gets every shared name without a copy, and the decision gets them back, also
    /// when the write fails.
    #[test]
    fn the_decision_lends_its_names_to_its_event_and_gets_them_back() {
        let mut allowed = decision();
        allowed.reasons = vec![Reason::new(ReasonCode::Granted, "granted by scope 0")];
        let (mut lent, mut seen) = (allowed.clone(), None);
        record_decision(&mut lent, None, None, None, &[], |ev| {
            seen = Some(ev.reasons.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!((seen.unwrap(), lent), (allowed.reasons.clone(), allowed));
        for fails in [false, true] {
            let mut d = decision();
            let mut args = Map::new();
            args.insert("amount".into(), serde_json::json!(5000));
            let mut seen = None;
            let res = record_decision(&mut d, None, Some(&args), Some("run-1"), &["amount".to_owned()], |ev| {
                seen = Some(ev.clone());
                if fails {
                    Err(Error::new(ErrorCode::AuditUnavailable, "disk full"))
                } else {
                    Ok(())
                }
            });
            assert_eq!(res.is_err(), fails);
            assert_eq!(d, decision());
            let ev = seen.unwrap();
            assert_eq!(ev.decision_id.as_deref(), Some(d.decision_id.as_str()));
            assert_eq!((ev.action.as_deref(), ev.resource.as_deref()), (Some("payments.refund"), Some("customer/42")));
            assert_eq!((&ev.actor, &ev.chain, &ev.on_behalf_of), (&d.actor, &d.chain, &d.on_behalf_of));
            assert_eq!((&ev.grant_id, &ev.policies), (&d.grant_id, &d.policies));
            assert_eq!((ev.approval_id.as_deref(), ev.txn.as_deref()), (Some("ap1"), Some("run-1")));
            assert_eq!(ev.proof, Some(true));
            assert_eq!(ev.args.unwrap()["amount"], 5000);
            assert_eq!(ev.args_digest.unwrap(), args_digest(&args));
            // The reason quotes an argument: the log keeps its code only.
            assert_eq!(ev.reasons[0].code, ReasonCode::ConstraintViolated);
            assert!(!ev.reasons[0].message.contains("5000"));
        }
    }
}
