//! The six steps of a check (DESIGN §1), each failing closed: credential, actors, scope,
//! policy, limits, approval. A deny is a value; any internal failure is a deny with
//! `internal_error`.

use std::sync::Arc;

use serde::Deserialize as _;

use crate::approval::{action_hash, BoundCall};
use crate::audit::{lifecycle, record_decision};
use crate::check::request::{
    valid_action, valid_resource, valid_txn, Bounds, CallContext, MAX_ARGS_BYTES, MAX_CONTEXT_BYTES, MAX_TXN_BYTES,
};
use crate::check::{CheckRequest, Decision, Effect, Reason, ReasonCode};
use crate::error::{Error, ErrorCode, Result};
use crate::limits::ConsumeRefusal;
use crate::policy::{AgentEntity, DelegationContext, PolicyRequest, ResourceEntity};
use crate::scope::{permits_any, DenialKind, ScopeRequest};
use crate::token::{Credential, VerifiedChain};

use super::approvals::MAX_PENDING_APPROVALS_PER_GRANT;
use super::state::Loaded;
use super::Runtime;

/// What was presented: a token as received, or an already verified credential.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// A token string.
    Token(&'a str),
    /// A credential verified earlier.
    Credential(&'a Credential),
}

impl<'a> From<&'a str> for Presented<'a> {
    fn from(t: &'a str) -> Self {
        Presented::Token(t)
    }
}

impl<'a> From<&'a Credential> for Presented<'a> {
    fn from(c: &'a Credential) -> Self {
        Presented::Credential(c)
    }
}

fn credential_reason(e: &Error) -> ReasonCode {
    match e.code() {
        ErrorCode::TokenExpired | ErrorCode::TokenNotYetValid => ReasonCode::CredentialExpired,
        ErrorCode::GrantRevoked => ReasonCode::GrantRevoked,
        ErrorCode::AgentSuspended => ReasonCode::AgentSuspended,
        ErrorCode::AgentRevoked => ReasonCode::AgentRevoked,
        ErrorCode::AgentUnknown => ReasonCode::AgentUnknown,
        ErrorCode::StoreCorrupt | ErrorCode::StoreInsecure | ErrorCode::StoreUnavailable | ErrorCode::InternalError => {
            ReasonCode::InternalError
        }
        _ => ReasonCode::CredentialInvalid,
    }
}

fn denial_reason(kind: &DenialKind) -> ReasonCode {
    match kind {
        DenialKind::ActionNotGranted => ReasonCode::ActionNotGranted,
        DenialKind::ResourceNotGranted => ReasonCode::ResourceNotGranted,
        DenialKind::DataClassNotGranted => ReasonCode::DataClassNotGranted,
        DenialKind::ArgumentMissing { .. } => ReasonCode::ArgumentMissing,
        DenialKind::ConstraintViolated { .. } => ReasonCode::ConstraintViolated,
    }
}

/// The end of the steps: an effect with its reason, or a deny with its code and message.
type Step = std::result::Result<(Effect, Reason), (ReasonCode, String)>;

/// A decision under construction, with what its audit event needs.
struct Draft {
    decision: Decision,
    chain: Option<Arc<VerifiedChain>>,
    txn: Option<String>,
}

impl Draft {
    fn new(req: &CheckRequest<'_>, decision_id: String, now_ms: i64) -> Self {
        Self {
            decision: Decision {
                effect: Effect::Deny,
                allowed: false,
                reasons: Vec::new(),
                decision_id,
                actor: None,
                chain: Vec::new(),
                on_behalf_of: None,
                grant_id: None,
                policies: Vec::new(),
                approval_request: None,
                approval_used: None,
                proof: false,
                // An invalid name may be anything (a token passed by mistake): only its digest
                // is recorded.
                action: if valid_action(req.action) { req.action.to_owned() } else { redacted(req.action) },
                resource: match req.resource.unwrap_or("*") {
                    r if valid_resource(r) => r.to_owned(),
                    r => redacted(r),
                },
                decided_at_ms: now_ms,
            },
            chain: None,
            txn: None,
        }
    }

    fn chain(&mut self, chain: &Arc<VerifiedChain>) {
        self.chain = Some(Arc::clone(chain));
        let d = &mut self.decision;
        d.actor = chain.actor().map(|a| a.as_str().to_owned());
        d.chain = chain.agents().map(|a| a.as_str().to_owned()).collect();
        d.on_behalf_of = Some(chain.on_behalf_of.as_str().to_owned());
        d.grant_id = chain.grant_id().map(str::to_owned);
    }

    fn deny(&mut self, code: ReasonCode, message: impl Into<String>) {
        self.finish(Effect::Deny, Reason::new(code, message));
    }

    fn finish(&mut self, effect: Effect, reason: Reason) {
        self.decision.effect = effect;
        self.decision.allowed = effect == Effect::Allow;
        self.decision.reasons.insert(0, reason);
    }
}

impl Runtime {
    /// Checks one call before it runs and records the decision in the audit log (in `sync`
    /// mode it is on disk when this returns). Never fails: every problem, including a failure
    /// to record, is a deny with a reason.
    pub fn check<'a>(&self, credential: impl Into<Presented<'a>>, req: &CheckRequest<'_>) -> Decision {
        let now_ms = self.options.clock.now_ms();
        let mut draft = Draft::new(req, self.options.ids.next_id(now_ms), now_ms);
        match self.check_steps(credential.into(), req, &mut draft) {
            Ok(Ok((effect, reason))) => draft.finish(effect, reason),
            Ok(Err((code, message))) => draft.deny(code, message),
            Err(e) => draft.deny(ReasonCode::InternalError, format!("{} ({})", e.message(), e.code())),
        }
        let recorded = record_decision(
            &mut draft.decision,
            draft.chain.as_deref(),
            req.args,
            draft.txn.as_deref(),
            &self.options.audit.record_args,
            |event| self.audit.append(event),
        );
        match recorded {
            // Fail closed: an action whose decision is not on record does not run.
            Err(e) => {
                draft.decision.approval_request = None;
                draft.deny(ReasonCode::InternalError, format!("the decision could not be recorded: {}", e.message()));
            }
            Ok(()) if draft.decision.allowed => self.outcomes.allowed(&draft.decision.decision_id),
            Ok(()) => {}
        }
        draft.decision
    }

    /// The `action_hash` a check of `req` with `credential` binds approvals and proofs to.
    pub fn action_hash<'a>(&self, credential: impl Into<Presented<'a>>, req: &CheckRequest<'_>) -> Result<String> {
        let loaded = self.loaded()?;
        let chain = self.chain_of(&loaded, credential.into())?;
        let leaf = chain.leaf().ok_or_else(|| Error::new(ErrorCode::TokenMalformed, "token has no links"))?;
        let empty = serde_json::Map::new();
        let args = req.args.unwrap_or(&empty);
        // The same bounds as a check: beyond them a hash could stand for two calls.
        let resource = req.resource.unwrap_or("*");
        if !valid_action(req.action) || !valid_resource(resource) {
            return Err(Error::new(ErrorCode::InvalidArgument, "the action or resource is not valid"));
        }
        if json_len(args) > MAX_ARGS_BYTES {
            return Err(Error::new(ErrorCode::InputTooLarge, format!("arguments are over {MAX_ARGS_BYTES} bytes")));
        }
        Bounds::default()
            .object("argument", args.iter(), true)
            .map_err(|why| Error::new(ErrorCode::InvalidArgument, why))?;
        Ok(action_hash(&BoundCall {
            action: req.action,
            resource,
            args,
            actor: leaf.actor.as_str(),
            on_behalf_of: chain.on_behalf_of.as_str(),
            grant_id: &leaf.grant_id,
        }))
    }

    fn chain_of(&self, loaded: &Loaded, presented: Presented<'_>) -> Result<Arc<VerifiedChain>> {
        match presented {
            Presented::Token(token) => self.verify_with(loaded, token),
            Presented::Credential(cred) => {
                self.revalidate_with(loaded, cred)?;
                Ok(cred.chain_arc())
            }
        }
    }

    fn check_steps(&self, presented: Presented<'_>, req: &CheckRequest<'_>, draft: &mut Draft) -> Result<Step> {
        let now = self.now();
        let loaded = self.loaded()?;
        // 1–2. Credential and actors.
        let chain = match self.chain_of(&loaded, presented) {
            Ok(chain) => chain,
            Err(e) => return Ok(Err((credential_reason(&e), format!("{} ({})", e.message(), e.code())))),
        };
        draft.chain(&chain);
        let Some(leaf) = chain.leaf() else {
            return Ok(Err((ReasonCode::CredentialInvalid, "the credential has no links".to_owned())));
        };
        // The request itself.
        // The message names only the length of an invalid name (see `Draft::new`).
        if !valid_action(req.action) {
            return Ok(Err((
                ReasonCode::RequestInvalid,
                format!("action ({} bytes, recorded as its digest) is not a dotted name", req.action.len()),
            )));
        }
        let resource = req.resource.unwrap_or("*");
        if !valid_resource(resource) {
            return Ok(Err((
                ReasonCode::RequestInvalid,
                format!("resource ({} bytes, recorded as its digest) is not a valid resource id", resource.len()),
            )));
        }
        let empty = serde_json::Map::new();
        let args = req.args.unwrap_or(&empty);
        if json_len(args) > MAX_ARGS_BYTES {
            return Ok(Err((ReasonCode::RequestInvalid, format!("arguments are over {MAX_ARGS_BYTES} bytes"))));
        }
        // Bounded before anything else reads them (Cedar, the audit digest, the hash).
        let mut bounds = Bounds::default();
        if let Err(why) = bounds.object("argument", args.iter(), true) {
            return Ok(Err((ReasonCode::RequestInvalid, why)));
        }
        let ctx: CallContext = match req.context {
            None | Some(serde_json::Value::Null) => CallContext::default(),
            Some(v @ serde_json::Value::Object(m)) => {
                if json_len(m) > MAX_CONTEXT_BYTES {
                    return Ok(Err((ReasonCode::RequestInvalid, format!("context is over {MAX_CONTEXT_BYTES} bytes"))));
                }
                if let Err(why) = bounds.object("context member", m.iter(), false) {
                    return Ok(Err((ReasonCode::RequestInvalid, why)));
                }
                match CallContext::deserialize(v) {
                    Ok(c) => c,
                    Err(e) => return Ok(Err((ReasonCode::RequestInvalid, format!("context is not valid: {e}")))),
                }
            }
            Some(_) => return Ok(Err((ReasonCode::RequestInvalid, "context must be a JSON object".to_owned()))),
        };
        if let Some(txn) = ctx.txn.as_deref() {
            if !valid_txn(txn) {
                return Ok(Err((
                    ReasonCode::RequestInvalid,
                    format!("`txn` must be 1 to {MAX_TXN_BYTES} bytes of printable ascii"),
                )));
            }
        }
        draft.txn.clone_from(&ctx.txn);
        let registered = loaded.resources.get(resource);
        let passed = ctx.resource.as_ref();
        let overrides = self.options.allow_resource_override;
        if let (Some(reg), Some(pass), false) = (registered, passed, overrides) {
            if let Some(why) = overridden(resource, reg, pass) {
                return Ok(Err((ReasonCode::RequestInvalid, why)));
            }
        }
        let (registered_class, passed_class) =
            (registered.and_then(|r| r.data_class.as_deref()), passed.and_then(|r| r.data_class.as_deref()));
        // Registered attributes win unless overriding is on; a passed value fills only what is
        // unregistered (equal values were accepted above).
        let data_class = if overrides { passed_class.or(registered_class) } else { registered_class.or(passed_class) };
        // 3. Scope.
        let scope_req = ScopeRequest { action: req.action, resource, data_class, args };
        let scope_index = match permits_any(&leaf.scopes[..], &scope_req) {
            Ok(i) => i,
            Err(denial) => return Ok(Err((denial_reason(&denial.kind), denial.message))),
        };
        // 4. Policy.
        let Some(agent) = loaded.agents.get(leaf.actor.as_str()) else {
            return Ok(Err((ReasonCode::AgentUnknown, format!("agent `{}` is not registered", leaf.actor))));
        };
        let merged_attrs;
        let resource_attrs = match (registered.map(|r| &r.attributes), passed.and_then(|r| r.attributes.as_ref())) {
            (Some(base), Some(extra)) => {
                // Without overriding, every passed key is unregistered or equal (checked above).
                let mut m = base.clone();
                m.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                merged_attrs = m;
                &merged_attrs
            }
            (Some(base), None) => base,
            (None, Some(extra)) => extra,
            (None, None) => &empty,
        };
        let engine = self.policy_engine()?;
        let outcome = engine.evaluate(&PolicyRequest {
            principal: AgentEntity {
                id: agent.id.as_str(),
                owner: agent.owner.as_str(),
                org: agent.org.as_deref(),
                status: agent.status.as_str(),
                attributes: &agent.attributes,
            },
            action: req.action,
            resource: ResourceEntity { id: resource, data_class, attributes: resource_attrs },
            args,
            delegation: DelegationContext {
                depth: i64::from(leaf.depth),
                on_behalf_of: chain.on_behalf_of.as_str(),
                purpose: leaf.purpose.as_deref(),
                grant_id: &leaf.grant_id,
            },
            env: ctx.env.as_ref(),
            risk: ctx.risk.as_ref(),
            now,
            // Registered attributes change only with a new view of the store; attributes
            // passed with the call are never cached.
            entities_version: passed.is_none().then_some(loaded.view),
        });
        let outcome = match outcome {
            Ok(o) => o,
            // An argument, attribute or context value Cedar cannot take (a number beyond its
            // range or precision, a value of the wrong declared type, one nested too deep): the
            // caller's input.
            Err(e) if matches!(e.code(), ErrorCode::InvalidArgument | ErrorCode::InputTooLarge) => {
                return Ok(Err((ReasonCode::RequestInvalid, format!("the call cannot be evaluated: {}", e.message()))))
            }
            Err(e) => {
                return Ok(Err((ReasonCode::InternalError, format!("policy evaluation failed: {}", e.message()))))
            }
        };
        if !outcome.forbids.is_empty() {
            draft.decision.policies = outcome.forbids.clone();
            return Ok(Err((ReasonCode::PolicyForbid, format!("forbidden by policy {}", outcome.forbids.join(", ")))));
        }
        // A forbid or @approval/@proof policy that failed to evaluate may have applied.
        if let Some((id, msg)) = outcome.errors.first() {
            draft.decision.policies = vec![id.clone()];
            return Ok(Err((ReasonCode::InternalError, format!("policy `{id}` could not be evaluated: {msg}"))));
        }
        if self.options.require_permit && outcome.permits.is_empty() {
            return Ok(Err((
                ReasonCode::NoPermit,
                "no policy permits this call and `require_permit` is on".to_owned(),
            )));
        }
        draft.decision.policies = outcome.permits.clone();
        // Proof of possession.
        let bound = BoundCall {
            action: req.action,
            resource,
            args,
            actor: leaf.actor.as_str(),
            on_behalf_of: chain.on_behalf_of.as_str(),
            grant_id: &leaf.grant_id,
        };
        // The hash binds approvals and proofs to the exact call; computed only when needed.
        let proof_required = self.options.require_proof || !outcome.proofs.is_empty();
        let needs_hash = req.proof.is_some() || proof_required || !outcome.approvals.is_empty();
        let hash = if needs_hash { action_hash(&bound) } else { String::new() };
        match (req.proof, proof_required) {
            (None, true) => {
                let why = match outcome.proofs.first() {
                    Some((id, reason)) => format!("a proof of possession is required by policy `{id}`: {reason}"),
                    None => "a proof of possession is required for every call".to_owned(),
                };
                draft.decision.policies.extend(outcome.proofs.iter().map(|(id, _)| id.clone()));
                return Ok(Err((ReasonCode::ProofRequired, why)));
            }
            (None, false) => {}
            (Some(proof), _) => {
                // A retired key proves nothing, whenever the proof says it was made.
                if let Some(retired) = agent.key_retired_at(&leaf.key_kid) {
                    let why = format!(
                        "the credential binds agent `{}` to key `{}`, retired at {}: a proof needs a current key",
                        leaf.actor,
                        leaf.key_kid,
                        crate::clock::rfc3339(retired)
                    );
                    return Ok(Err((ReasonCode::ProofInvalid, why)));
                }
                if let Err(why) = self.check_proof(proof, &leaf.key, &hash, now)? {
                    return Ok(Err((ReasonCode::ProofInvalid, why)));
                }
                draft.decision.proof = true;
            }
        }
        // 5. Limits (counted below, only if the call is allowed).
        let ops = match super::limits::counter_ops(&chain, &scope_req, now) {
            Ok(ops) => ops,
            Err((code, msg)) => return Ok(Err((code, msg))),
        };
        // 6. Approval.
        let approval_reasons: Vec<String> = outcome.approvals.iter().map(|(_, r)| r.clone()).collect();
        if !outcome.approvals.is_empty() {
            draft.decision.policies.extend(outcome.approvals.iter().map(|(id, _)| id.clone()));
            match req.approval {
                None => {
                    if let Err(refusal) = self.store.consume(&ops, None, now, false)? {
                        return Ok(Err(super::limits::refusal_reason(&ops, &refusal)));
                    }
                    let Some(request) = self.open_approval_request(
                        &bound,
                        &hash,
                        &approval_reasons.join("; "),
                        &draft.decision.decision_id,
                        now,
                    )?
                    else {
                        return Ok(Err((
                            ReasonCode::LimitPendingApprovals,
                            format!(
                                "grant `{}` already has {MAX_PENDING_APPROVALS_PER_GRANT} pending approval requests; \
                                 decide some or let them expire",
                                leaf.grant_id
                            ),
                        )));
                    };
                    let message = format!("approval needed: {}", request.reason);
                    draft.decision.approval_request = Some(request);
                    return Ok(Ok((Effect::RequireApproval, Reason::new(ReasonCode::ApprovalRequired, message))));
                }
                Some(receipt) => {
                    let id = match self.read_receipt(receipt, &hash, now) {
                        Ok(id) => id,
                        Err(why) => return Ok(Err((ReasonCode::ApprovalInvalid, why))),
                    };
                    let use_ = crate::store::ApprovalUse { id: &id, action_hash: &hash };
                    return match self.store.consume(&ops, Some(use_), now, true)? {
                        Ok(()) => {
                            let decision_id = &draft.decision.decision_id;
                            self.emit(lifecycle::approval_consumed(&id, decision_id, self.now_ms()))?;
                            draft.decision.approval_used = Some(id.clone());
                            Ok(Ok((
                                Effect::Allow,
                                Reason::new(ReasonCode::Approved, format!("approved call, receipt `{id}` consumed")),
                            )))
                        }
                        Err(ConsumeRefusal::Approval(why)) => Ok(Err((ReasonCode::ApprovalInvalid, why))),
                        Err(refusal) => Ok(Err(super::limits::refusal_reason(&ops, &refusal))),
                    };
                }
            }
        }
        if !ops.is_empty() {
            if let Err(refusal) = self.store.consume(&ops, None, now, true)? {
                return Ok(Err(super::limits::refusal_reason(&ops, &refusal)));
            }
        }
        Ok(Ok((
            Effect::Allow,
            Reason::new(
                ReasonCode::Granted,
                format!("scope {scope_index} of grant `{}` permits `{}` on `{resource}`", leaf.grant_id, req.action),
            ),
        )))
    }
}

/// How an invalid action or resource is recorded: a digest, never the text (it may be a
/// token passed by mistake). Not a valid action or resource itself, so it is never mistaken
/// for one.
fn redacted(s: &str) -> String {
    let hex = crate::audit::sha256_hex(s.as_bytes());
    format!("<invalid sha256:{}>", hex.get(..16).unwrap_or(&hex))
}

/// Why the attributes passed with a call may not be used for a registered resource: a data
/// class or attribute that differs from the registered one. A per-call value may only fill
/// what is unregistered, so a caller cannot relabel a `pci` resource `public` to pass a
/// grant's `data_classes` or an organisation's `forbid`.
fn overridden(
    resource: &str,
    registered: &crate::store::ResourceRecord,
    passed: &crate::check::request::ResourceContext,
) -> Option<String> {
    let hint = "registered attributes cannot be overridden by a call (runtime option `allow_resource_override`)";
    if let (Some(reg), Some(pass)) = (registered.data_class.as_deref(), passed.data_class.as_deref()) {
        if reg != pass {
            return Some(format!(
                "the call passes data class `{}` for resource `{resource}`, registered as `{reg}`: {hint}",
                crate::principal::preview(pass)
            ));
        }
    }
    let extra = passed.attributes.as_ref()?;
    extra.iter().find(|(k, v)| registered.attributes.get(*k).is_some_and(|r| r != *v)).map(|(k, _)| {
        format!(
            "the call passes attribute `{}` of resource `{resource}` with another value than registered: {hint}",
            crate::principal::preview(k)
        )
    })
}

/// The length of `args` as compact JSON, counted without building the text.
fn json_len(args: &serde_json::Map<String, serde_json::Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    match serde_json::to_writer(&mut n, args) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}
