//! `Runtime`: argument conversion around the core's `Runtime` (its inputs are `inputs.rs`, its
//! audit view `audit.rs`).

use std::sync::Arc;

use napi::bindgen_prelude::Either;
use napi_derive::napi;
use runtime_identity::audit::Outcome;
use runtime_identity::CheckRequest as CoreCheckRequest;
use runtime_identity::{
    AgentFilter, AgentSpec, Algorithm, Approver, AttenuateRequest, DelegateRequest, FixedClock, PrincipalId,
    PrivateKey, Runtime as CoreRuntime,
};
use serde_json::Value;

use crate::audit::Audit;
use crate::convert::{invalid, json, object, seconds, IntoJs, Result};
use crate::credential::{scopes_of, Credential, Receipt};
use crate::decision::Decision;
pub(crate) use crate::inputs::AttenuateOptions;
use crate::inputs::{
    core_options, jwk, AgentOptions, CheckRequest, DelegateOptions, OutcomeInput, RotateKeyOptions, RuntimeOptions,
};

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
