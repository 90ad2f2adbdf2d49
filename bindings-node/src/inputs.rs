//! What JavaScript passes to a `Runtime`: the option objects of its methods (napi objects)
//! and their conversion to the core's types.

use std::sync::Arc;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use runtime_identity::audit::{AuditOptions, Durability, EventFilter};
use runtime_identity::{Algorithm, Effect, FixedClock, Jwk};
use runtime_identity::{RuntimeOptions as CoreOptions, DEFAULT_MAX_TTL_SECONDS, DEFAULT_TTL_SECONDS};
use serde_json::Value;

use crate::convert::{invalid, seconds, IntoJs, Result};

/// How a runtime is opened.
#[napi(object)]
#[derive(Debug, Default)]
pub struct RuntimeOptions {
    /// The trust domain's issuer (`org:acme` or an https URL).
    pub issuer: Option<String>,
    /// `"sync"` (default: each decision on disk before `check` returns) or `"buffered"`.
    pub durability: Option<String>,
    /// `"ES256"` (default) or `"EdDSA"` for new keys.
    pub alg: Option<String>,
    /// Lifetime of grants that name none (seconds or `"15m"`).
    pub default_ttl: Option<Either<f64, String>>,
    /// The longest lifetime a grant may have.
    pub max_ttl: Option<Either<f64, String>>,
    /// Require an explicit Cedar `permit` for every call.
    pub require_permit: Option<bool>,
    /// Require a proof of possession with every check.
    pub require_proof: Option<bool>,
    /// A signed audit checkpoint every this many events.
    pub checkpoint_every: Option<u32>,
    /// Argument names whose values are written to the audit log.
    pub record_args: Option<Vec<String>>,
    /// Fix the clock at this Unix time (tests, vectors, benchmarks); see `setTime`.
    pub fixed_time: Option<i64>,
}

pub(crate) fn core_options(o: RuntimeOptions) -> Result<(CoreOptions, Option<FixedClock>)> {
    let durability = Durability::parse(o.durability.as_deref().unwrap_or("sync")).js()?;
    let mut audit =
        AuditOptions { durability, record_args: o.record_args.unwrap_or_default(), ..AuditOptions::default() };
    if let Some(n) = o.checkpoint_every {
        audit.checkpoint_every = u64::from(n);
    }
    let clock = o.fixed_time.map(FixedClock::at);
    let mut core = CoreOptions {
        issuer: o.issuer,
        default_ttl: seconds(o.default_ttl)?.unwrap_or(DEFAULT_TTL_SECONDS),
        max_ttl: seconds(o.max_ttl)?.unwrap_or(DEFAULT_MAX_TTL_SECONDS),
        require_permit: o.require_permit.unwrap_or(false),
        require_proof: o.require_proof.unwrap_or(false),
        audit,
        ..CoreOptions::default()
    };
    if let Some(a) = o.alg.as_deref() {
        core.alg = Algorithm::parse(a).js()?;
    }
    if let Some(c) = &clock {
        core.clock = Arc::new(c.clone());
    }
    Ok((core, clock))
}

/// An agent to register.
#[napi(object)]
#[derive(Debug)]
pub struct AgentOptions {
    /// The accountable owner (a user, org or service).
    pub owner: String,
    /// Attributes (a JSON object; Cedar sees them).
    pub attributes: Option<Value>,
    /// How deep its chains may grow (default 2).
    pub max_delegation_depth: Option<u32>,
    /// Organisation.
    pub org: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Register only this public JWK (the agent keeps its private key).
    pub public_key: Option<Value>,
    /// Algorithm of a generated key.
    pub alg: Option<String>,
}

/// A grant from the authority.
#[napi(object)]
#[derive(Debug)]
pub struct DelegateOptions {
    /// The agent receiving the grant.
    pub to: String,
    /// On whose behalf it acts.
    pub on_behalf_of: String,
    /// What it may do: scope objects.
    #[napi(ts_type = "Record<string, unknown> | Array<Record<string, unknown>>")]
    pub scopes: Value,
    /// Lifetime (seconds or `"15m"`).
    pub ttl: Option<Either<f64, String>>,
    /// Why.
    pub purpose: Option<String>,
    /// How deep the chain may grow.
    pub max_depth: Option<u32>,
}

/// A narrower grant for a sub-agent.
#[napi(object)]
pub struct AttenuateOptions {
    /// The sub-agent.
    pub to: String,
    /// What it may do: each covered by one of the parent's scopes.
    #[napi(ts_type = "Record<string, unknown> | Array<Record<string, unknown>>")]
    pub scopes: Value,
    /// Lifetime (seconds or `"15m"`; at most the parent's).
    pub ttl: Option<Either<f64, String>>,
    /// Why.
    pub purpose: Option<String>,
    /// How deep the chain may grow from here.
    pub max_depth: Option<u32>,
    /// The parent agent's private JWK (JSON), when the store does not hold it.
    pub key: Option<String>,
}

impl std::fmt::Debug for AttenuateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttenuateOptions")
            .field("to", &self.to)
            .field("scopes", &self.scopes)
            .field("ttl", &self.ttl)
            .field("purpose", &self.purpose)
            .field("max_depth", &self.max_depth)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One call to check.
#[napi(object)]
pub struct CheckRequest {
    /// The action (`payments.refund`).
    pub action: String,
    /// The resource (`customer/42`).
    pub resource: Option<String>,
    /// The arguments (checked against constraints; policies see them).
    pub args: Option<Value>,
    /// The call context: `txn`, `env`, `risk`, `resource`.
    pub context: Option<Value>,
    /// An approval receipt's token.
    pub approval: Option<String>,
    /// A proof of possession.
    pub proof: Option<String>,
}

impl std::fmt::Debug for CheckRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckRequest")
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("args", &self.args)
            .field("context", &self.context)
            .field("approval", &self.approval.as_ref().map(|_| "<redacted>"))
            .field("proof", &self.proof.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a guarded action did.
#[napi(object)]
#[derive(Debug)]
pub struct OutcomeInput {
    /// It succeeded.
    pub ok: bool,
    /// The error type, when it failed.
    pub error: Option<String>,
    /// A digest of the result.
    pub result_digest: Option<String>,
    /// How long it ran (milliseconds).
    pub duration_ms: Option<f64>,
}

/// Which audit events to return.
#[napi(object)]
#[derive(Debug, Default)]
pub struct EventQuery {
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
    /// `allow`, `deny` or `require_approval`.
    pub effect: Option<String>,
    /// One decision's events.
    pub decision_id: Option<String>,
    /// The event type.
    #[napi(js_name = "type")]
    pub kind: Option<String>,
    /// The newest this many.
    pub limit: Option<u32>,
}

pub(crate) fn filter(q: Option<EventQuery>) -> Result<EventFilter> {
    let q = q.unwrap_or_default();
    let effect = match q.effect.as_deref() {
        None => None,
        Some("allow") => Some(Effect::Allow),
        Some("deny") => Some(Effect::Deny),
        Some("require_approval") => Some(Effect::RequireApproval),
        Some(other) => return Err(invalid(format!("effect `{other}` is not allow, deny or require_approval"))),
    };
    Ok(EventFilter {
        since_ms: q.since_ms,
        until_ms: q.until_ms,
        actor: q.actor,
        on_behalf_of: q.on_behalf_of,
        action: q.action,
        effect,
        decision_id: q.decision_id,
        kind: q.kind,
        limit: q.limit.map(|l| l as usize),
    })
}

/// Options of `rotateAgentKey`.
#[napi(object)]
#[derive(Debug, Default)]
pub struct RotateKeyOptions {
    /// The new public JWK (the agent keeps the private half); absent: generate one.
    #[napi(ts_type = "Record<string, unknown>")]
    pub public_key: Option<Value>,
    /// The old key is compromised: also revoke every grant bound to it.
    pub compromised: Option<bool>,
}

pub(crate) fn jwk(v: Option<Value>) -> Result<Option<Jwk>> {
    v.map(|k| serde_json::from_value(k).map_err(|e| invalid(format!("publicKey is not a JWK: {e}")))).transpose()
}
