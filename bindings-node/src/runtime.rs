//! `Runtime` and `Audit`: argument conversion around the core's `Runtime`.

use std::sync::Arc;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use runtime_identity::audit::{AuditOptions, Durability, EventFilter, Outcome};
use runtime_identity::CheckRequest as CoreCheckRequest;
use runtime_identity::{
    AgentFilter, AgentSpec, Algorithm, Approver, AttenuateRequest, DelegateRequest, Effect, FixedClock, Jwk,
    PrincipalId, PrivateKey, Runtime as CoreRuntime,
};
use runtime_identity::{RuntimeOptions as CoreOptions, DEFAULT_MAX_TTL_SECONDS, DEFAULT_TTL_SECONDS};
use serde_json::Value;

use crate::convert::{invalid, json, json_camel, object, seconds, IntoJs, Result};
use crate::credential::{scopes_of, Credential, Receipt};
use crate::decision::Decision;

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

fn core_options(o: RuntimeOptions) -> Result<(CoreOptions, Option<FixedClock>)> {
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

pub(crate) fn attenuate(rt: &Arc<CoreRuntime>, parent: &str, o: AttenuateOptions) -> Result<Credential> {
    let req = AttenuateRequest {
        to: o.to,
        scopes: scopes_of(o.scopes)?,
        ttl: seconds(o.ttl)?,
        purpose: o.purpose,
        max_depth: o.max_depth,
    };
    let cred = match o.key {
        Some(k) => rt.attenuate_with_key(parent, &req, &PrivateKey::from_secret_json(&k).js()?),
        None => rt.attenuate(parent, &req),
    }
    .js()?;
    Ok(Credential { inner: cred, runtime: Arc::clone(rt) })
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

fn filter(q: Option<EventQuery>) -> Result<EventFilter> {
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

fn jwk(v: Option<Value>) -> Result<Option<Jwk>> {
    v.map(|k| serde_json::from_value(k).map_err(|e| invalid(format!("publicKey is not a JWK: {e}")))).transpose()
}

/// One trust domain: the authority, the registry, delegation, the check and the audit log.
#[napi]
#[derive(Debug)]
pub struct Runtime {
    inner: Arc<CoreRuntime>,
    clock: Option<FixedClock>,
}

#[napi]
impl Runtime {
    /// Opens the runtime folder (`path`, else `$RUNTIME_IDENTITY_HOME`, else
    /// `./.runtime-identity`), creating it on first use.
    #[napi(factory)]
    pub fn open(path: Option<String>, options: Option<RuntimeOptions>) -> Result<Runtime> {
        let (o, clock) = core_options(options.unwrap_or_default())?;
        let rt = CoreRuntime::open(path.as_deref().map(std::path::Path::new), o).js()?;
        Ok(Runtime { inner: Arc::new(rt), clock })
    }

    /// A runtime whose state and audit log live in memory only.
    #[napi(factory)]
    pub fn in_memory(options: Option<RuntimeOptions>) -> Result<Runtime> {
        let (o, clock) = core_options(options.unwrap_or_default())?;
        Ok(Runtime { inner: Arc::new(CoreRuntime::in_memory(o).js()?), clock })
    }

    /// Sets the time of a runtime opened with `fixedTime` (Unix seconds).
    #[napi]
    pub fn set_time(&self, unix_seconds: i64) -> Result<()> {
        match &self.clock {
            Some(c) => {
                c.set(unix_seconds);
                Ok(())
            }
            None => Err(invalid("setTime needs a runtime opened with fixedTime")),
        }
    }

    /// The trust domain's issuer.
    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.issuer().to_owned()
    }

    /// Registers an agent; returns its record.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn register_agent(&self, id: String, o: AgentOptions) -> Result<Value> {
        let spec = AgentSpec {
            owner: Some(o.owner),
            org: o.org,
            name: o.name,
            description: o.description,
            attributes: o.attributes,
            max_delegation_depth: o.max_delegation_depth,
            public_key: jwk(o.public_key)?,
            alg: o.alg.as_deref().map(Algorithm::parse).transpose().js()?,
        };
        json(&self.inner.register_agent(&id, spec).js()?)
    }

    /// One agent's record.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn get_agent(&self, id: String) -> Result<Value> {
        json(&self.inner.get_agent(&id).js()?)
    }

    /// Agents, optionally of one owner and/or status.
    #[napi(
        ts_args_type = "filter?: { owner?: string; status?: 'active' | 'suspended' | 'revoked' }",
        ts_return_type = "Array<Record<string, any>>"
    )]
    pub fn list_agents(&self, filter: Option<Value>) -> Result<Value> {
        let f = filter.unwrap_or(Value::Null);
        let owner = f.get("owner").and_then(Value::as_str).map(PrincipalId::parse).transpose().js()?;
        let status = f
            .get("status")
            .filter(|s| !s.is_null())
            .map(|s| serde_json::from_value(s.clone()))
            .transpose()
            .map_err(|_| invalid("status is `active`, `suspended` or `revoked`"))?;
        json(&self.inner.list_agents(&AgentFilter { owner, status }).js()?)
    }

    /// Suspends an agent: its chains are refused from the next check on.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn suspend_agent(&self, id: String) -> Result<Value> {
        json(&self.inner.suspend_agent(&id).js()?)
    }

    /// Resumes a suspended agent.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn resume_agent(&self, id: String) -> Result<Value> {
        json(&self.inner.resume_agent(&id).js()?)
    }

    /// Revokes an agent for good.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn revoke_agent(&self, id: String) -> Result<Value> {
        json(&self.inner.revoke_agent(&id).js()?)
    }

    /// Replaces an agent's key (with `options.publicKey`, or a generated one); with
    /// `options.compromised`, also revokes every grant bound to the old key.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn rotate_agent_key(&self, id: String, options: Option<RotateKeyOptions>) -> Result<Value> {
        let options = options.unwrap_or_default();
        let opts = runtime_identity::RotateKey {
            public_key: jwk(options.public_key)?,
            compromised: options.compromised.unwrap_or(false),
        };
        json(&self.inner.rotate_agent_key_with(&id, &opts).js()?)
    }

    /// The authority grants scopes to an agent on behalf of a principal.
    #[napi]
    pub fn delegate(&self, o: DelegateOptions) -> Result<Credential> {
        let req = DelegateRequest {
            to: o.to,
            on_behalf_of: o.on_behalf_of,
            scopes: scopes_of(o.scopes)?,
            ttl: seconds(o.ttl)?,
            purpose: o.purpose,
            max_depth: o.max_depth,
        };
        Ok(Credential { inner: self.inner.delegate(&req).js()?, runtime: Arc::clone(&self.inner) })
    }

    /// A narrower credential from `parent` (a Credential or token) for a sub-agent.
    #[napi]
    pub fn attenuate(&self, parent: Either<&Credential, String>, options: AttenuateOptions) -> Result<Credential> {
        let token = match parent {
            Either::A(c) => c.inner.token().to_owned(),
            Either::B(t) => t,
        };
        attenuate(&self.inner, &token, options)
    }

    /// Verifies a token completely and returns the credential.
    #[napi]
    pub fn verify(&self, token: String) -> Result<Credential> {
        Ok(Credential { inner: self.inner.verify(&token).js()?, runtime: Arc::clone(&self.inner) })
    }

    /// Revokes a grant (a Credential's leaf grant, or a grant id) and all attenuated from it.
    #[napi]
    pub fn revoke(&self, cred_or_grant_id: Either<&Credential, String>) -> Result<Vec<String>> {
        let id = match cred_or_grant_id {
            Either::A(c) => c.inner.grant_id().to_owned(),
            Either::B(id) => id,
        };
        self.inner.revoke(&id).js()
    }

    /// Replaces the policies in force with Cedar text, or the `.cedar` files of a path.
    #[napi]
    pub fn load_policies(&self, text_or_path: String) -> Result<u32> {
        let n = self.inner.load_policy_source(&text_or_path).js()?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Registers (or replaces) a resource's data class and attributes.
    #[napi(
        ts_args_type = "id: string, options?: { dataClass?: string; attributes?: Record<string, unknown> }",
        ts_return_type = "Record<string, unknown>"
    )]
    pub fn upsert_resource(&self, id: String, options: Option<Value>) -> Result<Value> {
        let o = options.unwrap_or(Value::Null);
        let data_class = o.get("dataClass").and_then(Value::as_str);
        let attributes = o.get("attributes").filter(|a| !a.is_null()).cloned();
        json(&self.inner.upsert_resource(&id, data_class, attributes).js()?)
    }

    /// Checks one call before it runs and records the decision. Synchronous: microseconds.
    #[napi]
    pub fn check(&self, cred: Either<&Credential, String>, req: CheckRequest) -> Result<Decision> {
        let args = object(req.args, "args")?;
        let core = CoreCheckRequest {
            action: &req.action,
            resource: req.resource.as_deref(),
            args: args.as_ref(),
            context: req.context.as_ref(),
            approval: req.approval.as_deref(),
            proof: req.proof.as_deref(),
        };
        Ok(Decision { inner: self.decide(cred, &core) })
    }

    /// `check` with the arguments as JSON text (the package's `check` and `guard` send plain
    /// JSON-like arguments this way: one parse instead of a conversion per value). Internal.
    #[napi(js_name = "_checkJson")]
    #[allow(clippy::too_many_arguments, reason = "one positional argument per request field, no object to convert")]
    pub fn check_json(
        &self,
        cred: Either<&Credential, String>,
        action: String,
        resource: Option<String>,
        args_json: Option<String>,
        context: Option<Value>,
        approval: Option<String>,
        proof: Option<String>,
    ) -> Result<Decision> {
        let args = parse_args(args_json.as_deref())?;
        let core = CoreCheckRequest {
            action: &action,
            resource: resource.as_deref(),
            args: args.as_ref(),
            context: context.as_ref(),
            approval: approval.as_deref(),
            proof: proof.as_deref(),
        };
        Ok(Decision { inner: self.decide(cred, &core) })
    }

    /// The guard's check: the decision id when the call may run, else the decision. Internal.
    #[napi(js_name = "_guardCheck")]
    pub fn guard_check(
        &self,
        cred: Either<&Credential, String>,
        action: String,
        resource: Option<String>,
        args_json: Option<String>,
        context: Option<Value>,
    ) -> Result<Either<String, Decision>> {
        let Decision { inner } = self.check_json(cred, action, resource, args_json, context, None, None)?;
        Ok(if inner.allowed { Either::A(inner.decision_id) } else { Either::B(Decision { inner }) })
    }

    /// `recordOutcome` with positional fields (the guard's). Internal.
    #[napi(js_name = "_recordOutcome")]
    pub fn record_outcome_fields(
        &self,
        decision_id: String,
        ok: bool,
        error: Option<String>,
        duration_ms: f64,
    ) -> Result<()> {
        self.record_outcome(
            decision_id,
            OutcomeInput { ok, error, result_digest: None, duration_ms: Some(duration_ms) },
        )
    }

    /// The SHA-256 (base64url) an approval of this exact call is bound to: RFC 8785 JSON of
    /// `{action, resource, args, actor, on_behalf_of, grant_id}`. Only action, resource and
    /// args of `req` are read.
    #[napi]
    pub fn action_hash(&self, cred: Either<&Credential, String>, req: CheckRequest) -> Result<String> {
        let args = object(req.args, "args")?;
        let core = CoreCheckRequest {
            action: &req.action,
            resource: req.resource.as_deref(),
            args: args.as_ref(),
            ..Default::default()
        };
        match cred {
            Either::A(c) => self.inner.action_hash(&c.inner, &core),
            Either::B(t) => self.inner.action_hash(t.as_str(), &core),
        }
        .js()
    }

    /// Records what the action allowed by `decisionId` did.
    #[napi]
    pub fn record_outcome(&self, decision_id: String, outcome: OutcomeInput) -> Result<()> {
        let o = Outcome {
            ok: outcome.ok,
            error: outcome.error,
            result_digest: outcome.result_digest,
            duration: outcome
                .duration_ms
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| std::time::Duration::from_secs_f64(d / 1000.0)),
        };
        self.inner.record_outcome(&decision_id, &o).js()
    }

    /// A person approves a pending request; returns the single-use receipt. `attributes` are
    /// what the organisation's `rid.approve` rules read.
    #[napi]
    pub fn approve(
        &self,
        request_id: String,
        approver: String,
        #[napi(ts_arg_type = "Record<string, unknown>")] attributes: Option<Value>,
    ) -> Result<Receipt> {
        let attributes = object(attributes, "attributes")?;
        let person = Approver { id: &approver, attributes: attributes.as_ref() };
        Ok(Receipt { inner: self.inner.approve(&request_id, person).js()? })
    }

    /// A person denies a pending request.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn deny_approval(
        &self,
        request_id: String,
        approver: String,
        #[napi(ts_arg_type = "Record<string, unknown>")] attributes: Option<Value>,
    ) -> Result<Value> {
        let attributes = object(attributes, "attributes")?;
        let person = Approver { id: &approver, attributes: attributes.as_ref() };
        json(&self.inner.deny_approval(&request_id, person).js()?)
    }

    /// One approval request.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn get_approval(&self, request_id: String) -> Result<Value> {
        json(&self.inner.get_approval(&request_id).js()?)
    }

    /// The audit log.
    #[napi(getter)]
    pub fn audit(&self) -> Audit {
        Audit { inner: Arc::clone(&self.inner) }
    }

    /// The authority's public keys as a JWKS.
    #[napi(ts_return_type = "{ keys: Array<Record<string, string>> }")]
    pub fn jwks(&self) -> Result<Value> {
        json(&self.inner.jwks().js()?)
    }

    /// The authority's keys with their history.
    #[napi(ts_return_type = "Array<Record<string, unknown>>")]
    pub fn authority_keys(&self) -> Result<Value> {
        json(&self.inner.authority_keys().js()?)
    }

    /// Starts signing with a new authority key; the old one keeps verifying.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn rotate_authority_key(&self, alg: Option<String>) -> Result<Value> {
        let alg = alg.as_deref().map(Algorithm::parse).transpose().js()?;
        json(&self.inner.rotate_authority_key(alg).js()?)
    }

    /// Starts signing with an authority key held elsewhere: a key file's content
    /// (`{"alg", "kid", "d"}`) as a string or an object. The previous key is retired.
    #[napi(ts_args_type = "key: string | Record<string, unknown>", ts_return_type = "Record<string, unknown>")]
    pub fn import_authority_key(&self, key: Value) -> Result<Value> {
        let text = match key {
            Value::String(s) => s,
            other => other.to_string(),
        };
        json(&self.inner.import_authority_key(&text).js()?)
    }

    /// Flushes the audit log and writes its closing checkpoint.
    #[napi]
    pub fn close(&self) -> Result<()> {
        self.inner.audit().close().js()
    }
}

/// The audit log of a runtime.
#[napi]
#[derive(Debug)]
pub struct Audit {
    inner: Arc<CoreRuntime>,
}

#[napi]
impl Audit {
    /// Recomputes the chain, checks every checkpoint signature and the store's checkpoint.
    #[napi(
        ts_return_type = "{ ok: boolean; events: number; checkpoints: number; lastSeq: number; head: string; storedCheckpoint?: number; firstBadSeq?: number; kind?: string; message?: string }"
    )]
    pub fn verify(&self) -> Result<Value> {
        json_camel(&self.inner.audit().verify().js()?)
    }

    /// The provenance of one decision (with `text`, a readable trail).
    #[napi(ts_return_type = "Record<string, any> & { text: string }")]
    pub fn explain(&self, decision_id: String) -> Result<Value> {
        let p = self.inner.audit().explain(&decision_id).js()?;
        let mut v = json(&p)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("text".into(), Value::String(p.to_string()));
        }
        Ok(v)
    }

    /// Events passing every filter given.
    #[napi(ts_return_type = "Array<Record<string, any>>")]
    pub fn events(&self, query: Option<EventQuery>) -> Result<Value> {
        json(&self.inner.audit().events(&filter(query)?).js()?)
    }

    /// The calls passing the filters as a W3C PROV-JSON document.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn export_prov(&self, query: Option<EventQuery>) -> Result<Value> {
        self.inner.audit().export_prov(&filter(query)?).js()
    }

    /// Writes everything queued now.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.inner.audit().flush().js()
    }
}

impl Runtime {
    fn decide(&self, cred: Either<&Credential, String>, req: &CoreCheckRequest<'_>) -> runtime_identity::Decision {
        match cred {
            Either::A(c) => self.inner.check(&c.inner, req),
            Either::B(t) => self.inner.check(t.as_str(), req),
        }
    }
}

/// Arguments sent as JSON text: an object, or absent.
fn parse_args(text: Option<&str>) -> Result<Option<serde_json::Map<String, Value>>> {
    match text {
        None => Ok(None),
        // The check bounds the arguments' nesting itself (a `request_invalid` decision).
        Some(t) => match runtime_identity::internal::json::parse_within(t, 128) {
            Ok(v) => object(Some(v), "args"),
            Err(e) => Err(invalid(format!("args are not JSON: {e}"))),
        },
    }
}
