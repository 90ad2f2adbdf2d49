//! Approvals: open a request bound to the exact call, let a person approve or deny it, and
//! issue a signed single-use receipt; plus proof-of-possession replay protection.

use crate::approval::{
    ApprovalRecord, ApprovalStatus, BoundCall, ReceiptClaims, RECEIPT_TTL_SECONDS, RECEIPT_TYP, REQUEST_TTL_SECONDS,
};
use crate::audit::{lifecycle, EventType};
use crate::check::{ApprovalRequest, ReasonCode};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::policy::{ApprovalResource, ApproverRequest};
use crate::principal::{PrincipalId, PrincipalKind};
use crate::token::jws::{parse_link_typed, sign_raw};

use super::refusal::Refusal;
use super::Runtime;

/// The most unexpired pending approval requests one grant may have: a call that needs one
/// more is denied with `limit_pending_approvals` until a person decides some or they expire
/// (an hour after they were opened), so an agent cannot flood its approvers or the store.
pub const MAX_PENDING_APPROVALS_PER_GRANT: usize = 100;

/// A person deciding an approval request: their `user:` id and the attributes the
/// organisation's `rid.approve` rules read (from its identity system). A `&str` is a person
/// with no attributes.
///
/// With no `rid.approve` rule loaded, only the person the agent acts for (`on_behalf_of`) or
/// the agent's owner may decide; never an agent, a service or an organisation. Who the person
/// is must be established by the caller (the authority service authenticates them).
#[derive(Debug, Clone, Copy)]
pub struct Approver<'a> {
    /// The person's principal id (`user:…`).
    pub id: &'a str,
    /// Their attributes, if any.
    pub attributes: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl<'a> From<&'a str> for Approver<'a> {
    fn from(id: &'a str) -> Self {
        Self { id, attributes: None }
    }
}

impl<'a> From<&'a String> for Approver<'a> {
    fn from(id: &'a String) -> Self {
        Self { id, attributes: None }
    }
}

/// A signed approval receipt: pass `token` as the `approval` of the check it approves.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The receipt JWS.
    pub token: String,
    /// The approval as stored.
    pub approval: ApprovalRecord,
}

impl Runtime {
    pub(super) fn open_approval_request(
        &self,
        call: &BoundCall<'_>,
        hash: &str,
        reason: &str,
        decision_id: &str,
        now: i64,
    ) -> Result<Option<ApprovalRequest>> {
        let record = ApprovalRecord {
            id: self.options.ids.next_id(now.saturating_mul(1000)),
            action_hash: hash.to_owned(),
            action: call.action.to_owned(),
            resource: call.resource.to_owned(),
            args: call.args.clone(),
            actor: call.actor.to_owned(),
            on_behalf_of: call.on_behalf_of.to_owned(),
            grant_id: call.grant_id.to_owned(),
            reason: reason.to_owned(),
            decision_id: decision_id.to_owned(),
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at: now.saturating_add(REQUEST_TTL_SECONDS),
            decided_by: None,
            decided_at: None,
        };
        let Some(stored) = self.store.open_approval(&record, now, MAX_PENDING_APPROVALS_PER_GRANT)? else {
            return Ok(None);
        };
        if stored.id == record.id {
            self.emit(lifecycle::approval(EventType::ApprovalRequested, &stored, self.now_ms()))?;
        }
        Ok(Some(ApprovalRequest {
            id: stored.id,
            action_hash: stored.action_hash,
            expires_at: stored.expires_at,
            reason: stored.reason,
        }))
    }

    fn approver(approver: &str) -> Result<PrincipalId> {
        PrincipalId::parse(approver)
    }

    /// Whether `approver` may decide `request` (docs/ARCHITECTURE.md § Approval): the organisation's `rid.approve`
    /// rules when any is loaded, else the person the agent acts for or the agent's owner. A
    /// refusal is an `approval.refused` event and an `approver_not_allowed` error.
    fn authorize_approver(&self, approver: &Approver<'_>, id: &PrincipalId, request_id: &str, now: i64) -> Result<()> {
        let record = self.get_approval(request_id)?;
        let loaded = self.loaded()?;
        let agent = loaded.agents.get(record.actor.as_str());
        let owner = agent.map(|a| a.owner.as_str());
        let empty = serde_json::Map::new();
        let engine = self.policy_engine()?;
        let outcome = engine.evaluate_approver(&ApproverRequest {
            approver: id.as_str(),
            attributes: approver.attributes.unwrap_or(&empty),
            request: ApprovalResource {
                id: &record.id,
                action: &record.action,
                resource: &record.resource,
                args: &record.args,
                actor: &record.actor,
                owner: owner.unwrap_or_default(),
                org: agent.and_then(|a| a.org.as_deref()),
                on_behalf_of: &record.on_behalf_of,
                reason: &record.reason,
                grant_id: &record.grant_id,
            },
            now,
        });
        let (refusal, rules) = match outcome {
            _ if id.kind() != PrincipalKind::User => (
                Some("approvers are people (`user:…`), never an agent, a service or an organisation".to_owned()),
                Vec::new(),
            ),
            Err(e) => (Some(format!("the approval rules could not be evaluated: {}", e.message())), Vec::new()),
            Ok(Some(o)) if o.allowed() => (None, o.permits),
            Ok(Some(o)) => {
                let why = match (o.forbids.first(), o.errors.first()) {
                    (Some(f), _) => format!("approval rule `{f}` forbids it"),
                    (None, Some((e, msg))) => format!("approval rule `{e}` could not be evaluated: {msg}"),
                    (None, None) => "no approval rule (`rid.approve`) permits it".to_owned(),
                };
                let mut rules = o.forbids;
                rules.extend(o.errors.into_iter().map(|(id, _)| id));
                (Some(why), rules)
            }
            Ok(None) if id.as_str() == record.on_behalf_of || Some(id.as_str()) == owner => (None, Vec::new()),
            Ok(None) => (
                Some(format!(
                    "only `{}` (on whose behalf the agent acts) or the agent's owner{} may decide it",
                    record.on_behalf_of,
                    owner.map(|o| format!(" `{o}`")).unwrap_or_default()
                )),
                Vec::new(),
            ),
        };
        let Some(why) = refusal else { return Ok(()) };
        let message = format!("`{id}` may not decide approval request `{}`: {why}", record.id);
        let mut ev = lifecycle::approval(EventType::ApprovalRefused, &record, self.now_ms());
        ev.approver = Some(id.as_str().to_owned());
        ev.policies = rules;
        ev.message = Some(message.clone());
        self.emit(ev)?;
        Err(Error::new(ErrorCode::ApproverNotAllowed, message))
    }

    /// A pending or decided approval request.
    pub fn get_approval(&self, request_id: &str) -> Result<ApprovalRecord> {
        self.store.get_approval(request_id)?.ok_or_else(|| {
            Error::new(
                ErrorCode::ApprovalInvalid,
                format!("no approval request `{}`", crate::principal::preview(request_id)),
            )
        })
    }

    /// A person approves a pending request; returns the signed receipt, valid once, for
    /// [`RECEIPT_TTL_SECONDS`].
    ///
    /// `approver` is the person (a `user:` id, with the attributes approval rules read); who
    /// may approve is decided as docs/ARCHITECTURE.md § Approval says: see [`Approver`].
    pub fn approve<'a>(&self, request_id: &str, approver: impl Into<Approver<'a>>) -> Result<Receipt> {
        let person = approver.into();
        let approver = Self::approver(person.id)?;
        let now = self.now();
        self.authorize_approver(&person, &approver, request_id, now)?;
        let exp = now.saturating_add(RECEIPT_TTL_SECONDS);
        let approval = self.store.decide_approval(request_id, ApprovalStatus::Approved, approver.as_str(), now, exp)?;
        let claims = ReceiptClaims {
            iss: self.issuer.clone(),
            sub: approver.as_str().to_owned(),
            jti: approval.id.clone(),
            action_hash: approval.action_hash.clone(),
            iat: now,
            exp,
        };
        let key = self.signing_key()?;
        let header = serde_json::json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": RECEIPT_TYP});
        let token = sign_raw(
            &serde_json::to_vec(&header).map_err(|e| crate::err!(InternalError, "{e}"))?,
            &serde_json::to_vec(&claims).map_err(|e| crate::err!(InternalError, "{e}"))?,
            key.as_ref(),
        );
        self.emit(lifecycle::approval(EventType::ApprovalGranted, &approval, self.now_ms()))?;
        Ok(Receipt { token, approval })
    }

    /// A person denies a pending request.
    pub fn deny_approval<'a>(&self, request_id: &str, approver: impl Into<Approver<'a>>) -> Result<ApprovalRecord> {
        let person = approver.into();
        let approver = Self::approver(person.id)?;
        let now = self.now();
        self.authorize_approver(&person, &approver, request_id, now)?;
        let approval = self.store.decide_approval(request_id, ApprovalStatus::Denied, approver.as_str(), now, now)?;
        self.emit(lifecycle::approval(EventType::ApprovalDenied, &approval, self.now_ms()))?;
        Ok(approval)
    }

    /// Checks a receipt's signature, issuer, expiry and binding; returns the request id. Any
    /// problem is an `approval_invalid` refusal.
    pub(super) fn read_receipt(
        &self,
        receipt: &str,
        action_hash: &str,
        now: i64,
    ) -> std::result::Result<String, Refusal> {
        let invalid = |why: String| Refusal::new(ReasonCode::ApprovalInvalid, why);
        if receipt.len() > 4096 {
            return Err(invalid("approval receipt is over 4096 bytes".to_owned()));
        }
        let raw = parse_link_typed(receipt.trim(), 0, RECEIPT_TYP)
            .map_err(|e| invalid(format!("approval receipt: {}", e.message())))?;
        let loaded = self.loaded().map_err(|e| invalid(e.message().to_owned()))?;
        let key: &PublicKey = raw
            .header
            .kid
            .as_deref()
            .and_then(|kid| loaded.keys.get(kid))
            .ok_or_else(|| invalid("approval receipt is not signed by a key of this authority".to_owned()))?;
        key.verify(raw.alg, raw.signing_input.as_bytes(), &raw.signature)
            .map_err(|_| invalid("approval receipt signature is invalid".to_owned()))?;
        let claims: ReceiptClaims = serde_json::from_slice(&raw.payload)
            .map_err(|e| invalid(format!("approval receipt claims are not valid: {e}")))?;
        if claims.iss != self.issuer {
            return Err(invalid("approval receipt is from another issuer".to_owned()));
        }
        if claims.exp < now {
            return Err(invalid(format!("approval receipt `{}` expired", claims.jti)));
        }
        if claims.action_hash != action_hash {
            return Err(invalid(format!(
                "approval receipt `{}` is for another call (action hash differs)",
                claims.jti
            )));
        }
        Ok(claims.jti)
    }

    /// Verifies a proof and records its `jti`: a `proof_invalid` refusal when it is invalid
    /// or replayed (a store failure is `internal_error`).
    pub(super) fn check_proof(
        &self,
        proof: &str,
        key: &PublicKey,
        action_hash: &str,
        now: i64,
    ) -> std::result::Result<(), Refusal> {
        let (jti, keep_until) = crate::proof::verify_proof(proof, key, action_hash, now)
            .map_err(|why| Refusal::new(ReasonCode::ProofInvalid, why))?;
        if self.store.use_proof(&jti, keep_until, now)? {
            Ok(())
        } else {
            Err(Refusal::new(ReasonCode::ProofInvalid, format!("proof `{jti}` was already used")))
        }
    }
}
