//! Reading the log back: events by filter, and the provenance of one decision.

use std::collections::HashMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::{Effect, Reason};
use crate::error::{Error, ErrorCode, Result};

use super::event::{AuditEvent, AuditOutcome, EventType, MAX_LINE_BYTES};

/// Which events to return. Every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// At or after (Unix milliseconds).
    pub since_ms: Option<i64>,
    /// Before (Unix milliseconds).
    pub until_ms: Option<i64>,
    /// The acting agent, or the agent a lifecycle event is about.
    pub actor: Option<String>,
    /// On whose behalf.
    pub on_behalf_of: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// The decision's effect.
    pub effect: Option<Effect>,
    /// The decision id (its decision, approval and outcome events).
    pub decision_id: Option<String>,
    /// The event type (`decision`, `grant.issued`, …).
    pub kind: Option<String>,
    /// At most this many, the newest kept.
    pub limit: Option<usize>,
}

impl EventFilter {
    /// Whether `ev` passes.
    pub fn matches(&self, ev: &AuditEvent) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
        let ts = || ev.ts_ms().unwrap_or(i64::MIN);
        self.since_ms.is_none_or(|s| ts() >= s)
            && self.until_ms.is_none_or(|u| ts() < u)
            && (self.actor.is_none() || self.actor == ev.actor || self.actor == ev.agent)
            && eq(&self.on_behalf_of, &ev.on_behalf_of)
            && eq(&self.action, &ev.action)
            && self.effect.is_none_or(|e| ev.effect == Some(e))
            && eq(&self.decision_id, &ev.decision_id)
            && self.kind.as_ref().is_none_or(|k| k == &ev.kind)
    }
}

/// Every event from `reader`, in order. A line that is not an event is an `audit_corrupt`
/// error naming its line number.
pub(crate) fn read_events(reader: impl BufRead, mut each: impl FnMut(AuditEvent) -> bool) -> Result<()> {
    for (n, line) in reader.split(b'\n').enumerate() {
        let line =
            line.map_err(|e| Error::new(ErrorCode::AuditUnavailable, format!("cannot read the audit log: {e}")))?;
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(crate::err!(AuditCorrupt, "line {} of the audit log is over {MAX_LINE_BYTES} bytes", n + 1));
        }
        let ev: AuditEvent = serde_json::from_slice(&line)
            .map_err(|e| crate::err!(AuditCorrupt, "line {} of the audit log is not an event: {e}", n + 1))?;
        if !each(ev) {
            break;
        }
    }
    Ok(())
}

/// One link of a decision's delegation chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceLink {
    /// Who signed it: the issuer, or the delegating agent.
    pub issuer: String,
    /// The agent it grants to.
    pub actor: String,
    /// The grant id.
    pub grant_id: String,
    /// Issued at (Unix seconds).
    pub issued_at: i64,
    /// Expires at (Unix seconds).
    pub expires_at: i64,
    /// The scopes granted, from the log's `grant.*` event (absent if that grant was minted
    /// elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Value>,
    /// The purpose given when it was delegated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// The approval behind (or asked for by) a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceApproval {
    /// The approval request id.
    pub id: String,
    /// `pending`, `approved`, `denied` or `consumed`.
    pub status: String,
    /// When it was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// The decision that asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by_decision: Option<String>,
    /// Who approved or denied it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// The `@approval` reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What happened after the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceOutcome {
    /// When it was recorded.
    pub ts: String,
    /// ok / error, the error type, duration and result digest.
    #[serde(flatten)]
    pub outcome: AuditOutcome,
}

/// The provenance of one action: who delegated, what allowed it, what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The decision id.
    pub decision_id: String,
    /// The decision event's `seq`.
    pub seq: u64,
    /// When it was decided.
    pub ts: String,
    /// The action.
    pub action: Option<String>,
    /// The resource.
    pub resource: Option<String>,
    /// The effect.
    pub effect: Option<Effect>,
    /// Why.
    pub reasons: Vec<Reason>,
    /// The policies that decided.
    pub policies: Vec<String>,
    /// The acting agent.
    pub actor: Option<String>,
    /// On whose behalf.
    pub on_behalf_of: Option<String>,
    /// The workflow or run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
    /// The arguments' digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_digest: Option<String>,
    /// The delegation chain, the authority's grant first.
    pub chain: Vec<ProvenanceLink>,
    /// The approval, if one was asked for or used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ProvenanceApproval>,
    /// The outcome, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ProvenanceOutcome>,
}

/// Builds the provenance of `decision_id` from two passes over the log (`open()` gives a
/// fresh reader each time).
pub(crate) fn explain(open: &dyn Fn() -> Result<Box<dyn BufRead + Send>>, decision_id: &str) -> Result<Provenance> {
    let mut decision: Option<AuditEvent> = None;
    read_events(open()?, |ev| {
        if ev.kind == EventType::Decision.as_str() && ev.decision_id.as_deref() == Some(decision_id) {
            decision = Some(ev);
            return false;
        }
        true
    })?;
    let d = decision.ok_or_else(|| crate::err!(InvalidArgument, "no decision `{decision_id}` in the audit log"))?;
    let mut grants: HashMap<String, AuditEvent> =
        d.links.iter().map(|l| (l.grant_id.to_string(), AuditEvent::default())).collect();
    let mut approval_events: Vec<AuditEvent> = Vec::new();
    let mut outcome: Option<ProvenanceOutcome> = None;
    read_events(open()?, |ev| {
        let is = |t: EventType| ev.kind == t.as_str();
        if is(EventType::GrantIssued) || is(EventType::GrantAttenuated) {
            if let Some(slot) = ev.grant_id.as_ref().and_then(|g| grants.get_mut(g)) {
                *slot = ev;
            }
        } else if is(EventType::Outcome) && ev.decision_id.as_deref() == Some(decision_id) {
            if let Some(o) = ev.outcome.clone() {
                outcome = Some(ProvenanceOutcome { ts: ev.ts.clone(), outcome: o });
            }
        } else if ev.kind.starts_with("approval.") && d.approval_id.is_some() && ev.approval_id == d.approval_id {
            approval_events.push(ev);
        }
        true
    })?;
    let chain = d
        .links
        .iter()
        .map(|l| {
            let g = grants.get(&*l.grant_id);
            ProvenanceLink {
                issuer: l.issuer.to_string(),
                actor: l.actor.to_string(),
                grant_id: l.grant_id.to_string(),
                issued_at: l.issued_at,
                expires_at: l.expires_at,
                scopes: g.and_then(|g| g.scopes.clone()),
                purpose: g.and_then(|g| g.purpose.clone()),
            }
        })
        .collect();
    let approval = d.approval_id.as_ref().map(|id| {
        let mut a = ProvenanceApproval {
            id: id.clone(),
            status: "pending".to_owned(),
            requested_at: None,
            requested_by_decision: None,
            approver: None,
            decided_at: None,
            reason: None,
        };
        for ev in &approval_events {
            match EventType::from_name(&ev.kind) {
                Some(EventType::ApprovalRequested) => {
                    a.requested_at = Some(ev.ts.clone());
                    a.requested_by_decision = ev.decision_id.clone();
                    a.reason = ev.message.clone();
                }
                Some(EventType::ApprovalGranted) => {
                    a.status = "approved".to_owned();
                    a.approver = ev.approver.clone();
                    a.decided_at = Some(ev.ts.clone());
                }
                Some(EventType::ApprovalDenied) => {
                    a.status = "denied".to_owned();
                    a.approver = ev.approver.clone();
                    a.decided_at = Some(ev.ts.clone());
                }
                Some(EventType::ApprovalConsumed) => a.status = "consumed".to_owned(),
                _ => {}
            }
        }
        a
    });
    Ok(Provenance {
        decision_id: decision_id.to_owned(),
        seq: d.seq,
        ts: d.ts,
        action: d.action,
        resource: d.resource,
        effect: d.effect,
        reasons: d.reasons,
        policies: d.policies,
        actor: d.actor,
        on_behalf_of: d.on_behalf_of,
        txn: d.txn,
        args_digest: d.args_digest,
        chain,
        approval,
        outcome,
    })
}

/// `s` safe to print to a terminal: control characters (C0 such as a line break or ESC, DEL,
/// C1), bidirectional overrides and line separators become visible escapes (`\n`, `\u{1b}`),
/// and `\` becomes `\\`, so that a stored string cannot start a line, move the cursor or
/// recolour what follows. Every human-readable rendering of stored strings goes through it
/// (this trail, and the `rid` command's text output); JSON output does not.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c == '\\'
            || c.is_control()
            || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

impl std::fmt::Display for Provenance {
    /// A readable provenance trail; every stored string is [`printable`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = |s: &str| printable(s).into_owned();
        let opt = |o: &Option<String>| o.as_deref().map(p).unwrap_or_else(|| "-".to_owned());
        let effect = self.effect.map(Effect::as_str).unwrap_or("-");
        writeln!(f, "decision {} (seq {}, {})", p(&self.decision_id), self.seq, p(&self.ts))?;
        writeln!(f, "  call      {} on {}", opt(&self.action), opt(&self.resource))?;
        writeln!(f, "  by        {} on behalf of {}", opt(&self.actor), opt(&self.on_behalf_of))?;
        if let Some(txn) = &self.txn {
            writeln!(f, "  txn       {}", p(txn))?;
        }
        writeln!(f, "  decided   {effect}")?;
        for r in &self.reasons {
            writeln!(f, "            {}: {}", r.code, p(&r.message))?;
        }
        if !self.policies.is_empty() {
            writeln!(f, "  policies  {}", p(&self.policies.join(", ")))?;
        }
        writeln!(f, "  delegation chain:")?;
        for (i, l) in self.chain.iter().enumerate() {
            writeln!(
                f,
                "    {i}. {} -> {}  grant {}  issued {}  expires {}",
                p(&l.issuer),
                p(&l.actor),
                p(&l.grant_id),
                crate::clock::rfc3339(l.issued_at),
                crate::clock::rfc3339(l.expires_at)
            )?;
            if let Some(s) = &l.scopes {
                writeln!(f, "       scopes {}", p(&s.to_string()))?;
            }
            if let Some(purpose) = &l.purpose {
                writeln!(f, "       purpose {}", p(purpose))?;
            }
        }
        if let Some(a) = &self.approval {
            write!(f, "  approval  {} {}", p(&a.id), p(&a.status))?;
            if let Some(who) = &a.approver {
                write!(f, " by {} at {}", p(who), opt(&a.decided_at))?;
            }
            writeln!(f)?;
        }
        match &self.outcome {
            Some(o) => {
                write!(f, "  outcome   {}", p(&o.outcome.status))?;
                if let Some(e) = &o.outcome.error {
                    write!(f, " ({})", p(e))?;
                }
                if let Some(d) = o.outcome.duration_ms {
                    write!(f, " in {d:.1} ms")?;
                }
                writeln!(f, " at {}", p(&o.ts))
            }
            None => writeln!(f, "  outcome   not recorded"),
        }
    }
}
