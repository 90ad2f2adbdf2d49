//! The six steps of a check (docs/ARCHITECTURE.md § One check, step by step), each failing closed, in the README's order:
//! credential and actors ([`Runtime::credential`]), then the call itself ([`Call::read`] in
//! `call.rs`: action, resource, arguments and context, bounded before anything reads them),
//! scope ([`Call::scope`]), policy ([`Runtime::policy`]), the proof of possession
//! ([`Runtime::proof`]), limits and approval ([`Runtime::limits_and_approval`]). Each step
//! returns `Result<_, Refusal>`; the first refusal is the deny, and any internal failure is a
//! deny with `internal_error` (see [`Refusal`]). A deny is a value.

use std::sync::Arc;

use crate::approval::{action_hash, BoundCall};
use crate::audit::{lifecycle, record_decision};
use crate::check::request::{valid_action, valid_resource, Bounds, MAX_ARGS_BYTES};
use crate::check::{CheckRequest, Decision, Effect, Reason, ReasonCode};
use crate::error::{Error, ErrorCode, Result};
use crate::limits::CounterOp;
use crate::policy::{AgentEntity, DelegationContext, PolicyOutcome, PolicyRequest, ResourceEntity};
use crate::store::ApprovalUse;
use crate::token::{Credential, VerifiedChain, VerifiedLink};

use super::approvals::MAX_PENDING_APPROVALS_PER_GRANT;
use super::call::{json_len, Call};
use super::refusal::Refusal;
use super::state::{AgentView, Loaded};
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

/// The end of the steps: an effect with its reason, or the refusal that denies.
type Verdict = std::result::Result<(Effect, Reason), Refusal>;

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
        match self.decide(credential.into(), req, &mut draft) {
            Ok((effect, reason)) => draft.finish(effect, reason),
            Err(Refusal { code, message }) => draft.deny(code, message),
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

    /// The steps of a check, in order; the first refusal ends it.
    fn decide(&self, presented: Presented<'_>, req: &CheckRequest<'_>, draft: &mut Draft) -> Verdict {
        let now = self.now();
        let loaded = self.loaded()?;
        // 1–2. Credential and actors.
        let chain = self.credential(&loaded, presented, draft)?;
        let under = Under::of(&chain)?;
        // The call itself: action, resource, arguments and context, bounded.
        let call = Call::read(req, &loaded, self.options.allow_resource_override, now, &mut draft.txn)?;
        // 3. Scope.
        let scope_index = call.scope(under.leaf)?;
        // 4. Policy, then the proof of possession it or the runtime may require.
        let (outcome, agent) = self.policy(&loaded, &under, &call, draft)?;
        let hash = self.proof(&under, &call, agent, &outcome, draft)?;
        // 5–6. Limits and approval.
        self.limits_and_approval(&under, &call, scope_index, &outcome, &hash, draft)
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

    /// Steps 1–2: the credential verifies (or revalidates) and every agent of its chain is
    /// registered, active and bound to one of its keys.
    fn credential(
        &self,
        loaded: &Loaded,
        presented: Presented<'_>,
        draft: &mut Draft,
    ) -> std::result::Result<Arc<VerifiedChain>, Refusal> {
        let chain = self
            .chain_of(loaded, presented)
            .map_err(|e| Refusal::new(credential_reason(&e), format!("{} ({})", e.message(), e.code())))?;
        draft.chain(&chain);
        Ok(chain)
    }

    /// Step 4: the organisation's Cedar policies. A `forbid`, a restricting policy that
    /// failed to evaluate, or a missing `permit` under `require_permit` denies. Returns the
    /// outcome (its approvals and proofs are the later steps') and the calling agent.
    fn policy<'l>(
        &self,
        loaded: &'l Loaded,
        under: &Under<'_>,
        call: &Call<'_>,
        draft: &mut Draft,
    ) -> std::result::Result<(PolicyOutcome, &'l AgentView), Refusal> {
        let leaf = under.leaf;
        let Some(agent) = loaded.agents.get(leaf.actor.as_str()) else {
            return Err(Refusal::new(ReasonCode::AgentUnknown, format!("agent `{}` is not registered", leaf.actor)));
        };
        let attributes = call.resource_attributes();
        let engine = self.policy_engine()?;
        let outcome = engine.evaluate(&PolicyRequest {
            principal: AgentEntity {
                id: agent.id.as_str(),
                owner: agent.owner.as_str(),
                org: agent.org.as_deref(),
                status: agent.status.as_str(),
                attributes: &agent.attributes,
            },
            action: call.action,
            resource: ResourceEntity { id: call.resource, data_class: call.data_class(), attributes: &attributes },
            args: call.args(),
            delegation: DelegationContext {
                depth: i64::from(leaf.depth),
                on_behalf_of: under.chain.on_behalf_of.as_str(),
                purpose: leaf.purpose.as_deref(),
                grant_id: &leaf.grant_id,
            },
            env: call.ctx.env.as_ref(),
            risk: call.ctx.risk.as_ref(),
            now: call.now,
            // Registered attributes change only with a new view of the store; attributes
            // passed with the call are never cached.
            entities_version: call.passed().is_none().then_some(loaded.view),
        });
        let outcome = outcome.map_err(|e| match e.code() {
            // An argument, attribute or context value Cedar cannot take (a number beyond its
            // range or precision, a value of the wrong declared type, one nested too deep): the
            // caller's input.
            ErrorCode::InvalidArgument | ErrorCode::InputTooLarge => {
                Refusal::new(ReasonCode::RequestInvalid, format!("the call cannot be evaluated: {}", e.message()))
            }
            _ => Refusal::new(ReasonCode::InternalError, format!("policy evaluation failed: {}", e.message())),
        })?;
        if !outcome.forbids.is_empty() {
            draft.decision.policies = outcome.forbids.clone();
            let message = format!("forbidden by policy {}", outcome.forbids.join(", "));
            return Err(Refusal::new(ReasonCode::PolicyForbid, message));
        }
        // A forbid or @approval/@proof policy that failed to evaluate may have applied.
        if let Some((id, msg)) = outcome.errors.first() {
            draft.decision.policies = vec![id.clone()];
            let message = format!("policy `{id}` could not be evaluated: {msg}");
            return Err(Refusal::new(ReasonCode::InternalError, message));
        }
        if self.options.require_permit && outcome.permits.is_empty() {
            let message = "no policy permits this call and `require_permit` is on";
            return Err(Refusal::new(ReasonCode::NoPermit, message));
        }
        draft.decision.policies = outcome.permits.clone();
        Ok((outcome, agent))
    }

    /// The proof of possession, when the call carries one or a policy or the runtime requires
    /// it. Returns the call's `action_hash` (empty when nothing needs it).
    fn proof(
        &self,
        under: &Under<'_>,
        call: &Call<'_>,
        agent: &AgentView,
        outcome: &PolicyOutcome,
        draft: &mut Draft,
    ) -> std::result::Result<String, Refusal> {
        let leaf = under.leaf;
        // The hash binds approvals and proofs to the exact call; computed only when needed.
        let proof_required = self.options.require_proof || !outcome.proofs.is_empty();
        let needs_hash = call.proof.is_some() || proof_required || !outcome.approvals.is_empty();
        let hash = if needs_hash { action_hash(&under.bound(call)) } else { String::new() };
        let Some(proof) = call.proof else {
            if !proof_required {
                return Ok(hash);
            }
            let why = match outcome.proofs.first() {
                Some((id, reason)) => format!("a proof of possession is required by policy `{id}`: {reason}"),
                None => "a proof of possession is required for every call".to_owned(),
            };
            draft.decision.policies.extend(outcome.proofs.iter().map(|(id, _)| id.clone()));
            return Err(Refusal::new(ReasonCode::ProofRequired, why));
        };
        // A retired key proves nothing, whenever the proof says it was made.
        if let Some(retired) = agent.key_retired_at(&leaf.key_kid) {
            let why = format!(
                "the credential binds agent `{}` to key `{}`, retired at {}: a proof needs a current key",
                leaf.actor,
                leaf.key_kid,
                crate::clock::rfc3339(retired)
            );
            return Err(Refusal::new(ReasonCode::ProofInvalid, why));
        }
        self.check_proof(proof, &leaf.key, &hash, call.now)?;
        draft.decision.proof = true;
        Ok(hash)
    }

    /// Steps 5–6: the limits of every grant in the chain (counted only if the call is
    /// allowed), and the approval an `@approval` policy asks for.
    fn limits_and_approval(
        &self,
        under: &Under<'_>,
        call: &Call<'_>,
        scope_index: usize,
        outcome: &PolicyOutcome,
        hash: &str,
        draft: &mut Draft,
    ) -> Verdict {
        let ops = crate::limits::counter_ops(under.chain, &call.scope_request(), call.now)?;
        if !outcome.approvals.is_empty() {
            draft.decision.policies.extend(outcome.approvals.iter().map(|(id, _)| id.clone()));
            return match call.approval {
                None => self.ask_approval(under, call, &ops, outcome, hash, draft),
                Some(receipt) => self.use_approval(call, &ops, receipt, hash, draft),
            };
        }
        if !ops.is_empty() {
            self.consume(&ops, None, call.now, true)?;
        }
        let leaf = under.leaf;
        let message = format!(
            "scope {scope_index} of grant `{}` permits `{}` on `{}`",
            leaf.grant_id, call.action, call.resource
        );
        Ok((Effect::Allow, Reason::new(ReasonCode::Granted, message)))
    }

    /// No receipt yet: if the limits would let the call through, a pending approval request
    /// bound to the exact call.
    fn ask_approval(
        &self,
        under: &Under<'_>,
        call: &Call<'_>,
        ops: &[CounterOp],
        outcome: &PolicyOutcome,
        hash: &str,
        draft: &mut Draft,
    ) -> Verdict {
        self.consume(ops, None, call.now, false)?;
        let reason = outcome.approvals.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ");
        let opened =
            self.open_approval_request(&under.bound(call), hash, &reason, &draft.decision.decision_id, call.now)?;
        let Some(request) = opened else {
            let message = format!(
                "grant `{}` already has {MAX_PENDING_APPROVALS_PER_GRANT} pending approval requests; \
                 decide some or let them expire",
                under.leaf.grant_id
            );
            return Err(Refusal::new(ReasonCode::LimitPendingApprovals, message));
        };
        let message = format!("approval needed: {}", request.reason);
        draft.decision.approval_request = Some(request);
        Ok((Effect::RequireApproval, Reason::new(ReasonCode::ApprovalRequired, message)))
    }

    /// A receipt: valid for this exact call, consumed with the limits in one step.
    fn use_approval(
        &self,
        call: &Call<'_>,
        ops: &[CounterOp],
        receipt: &str,
        hash: &str,
        draft: &mut Draft,
    ) -> Verdict {
        let id = self.read_receipt(receipt, hash, call.now)?;
        self.consume(ops, Some(ApprovalUse { id: &id, action_hash: hash }), call.now, true)?;
        self.emit(lifecycle::approval_consumed(&id, &draft.decision.decision_id, self.now_ms()))?;
        draft.decision.approval_used = Some(id.clone());
        Ok((Effect::Allow, Reason::new(ReasonCode::Approved, format!("approved call, receipt `{id}` consumed"))))
    }

    /// Moves the counters (and consumes the approval), or says which refused.
    fn consume(
        &self,
        ops: &[CounterOp],
        approval: Option<ApprovalUse<'_>>,
        now: i64,
        commit: bool,
    ) -> std::result::Result<(), Refusal> {
        self.store.consume(ops, approval, now, commit)?.map_err(|r| crate::limits::refusal_reason(ops, &r).into())
    }
}

/// The verified credential a call is checked under: its chain, and the chain's leaf.
struct Under<'a> {
    chain: &'a VerifiedChain,
    leaf: &'a VerifiedLink,
}

impl<'a> Under<'a> {
    fn of(chain: &'a VerifiedChain) -> std::result::Result<Self, Refusal> {
        let leaf =
            chain.leaf().ok_or_else(|| Refusal::new(ReasonCode::CredentialInvalid, "the credential has no links"))?;
        Ok(Self { chain, leaf })
    }

    /// The exact call approvals and proofs are bound to.
    fn bound<'c>(&'c self, call: &'c Call<'_>) -> BoundCall<'c> {
        BoundCall {
            action: call.action,
            resource: call.resource,
            args: call.args(),
            actor: self.leaf.actor.as_str(),
            on_behalf_of: self.chain.on_behalf_of.as_str(),
            grant_id: &self.leaf.grant_id,
        }
    }
}

/// How an invalid action or resource is recorded: a digest, never the text (it may be a
/// token passed by mistake). Not a valid action or resource itself, so it is never mistaken
/// for one.
fn redacted(s: &str) -> String {
    let hex = crate::audit::sha256_hex(s.as_bytes());
    format!("<invalid sha256:{}>", hex.get(..16).unwrap_or(&hex))
}
