//! Approvals: open a request bound to the exact call, let a person approve or deny it, and
//! issue a signed single-use receipt; plus proof-of-possession replay protection.

use crate::approval::{
    ApprovalRecord, ApprovalStatus, BoundCall, ReceiptClaims, RECEIPT_TTL_SECONDS, RECEIPT_TYP, REQUEST_TTL_SECONDS,
};
use crate::audit::{lifecycle, EventType};
use crate::check::ApprovalRequest;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PublicKey;
use crate::principal::{PrincipalId, PrincipalKind};
use crate::token::jws::{parse_link_typed, sign_raw};

use super::Runtime;

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
    ) -> Result<ApprovalRequest> {
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
        let stored = self.store.open_approval(&record, now)?;
        if stored.id == record.id {
            self.emit(lifecycle::approval(EventType::ApprovalRequested, &stored, self.now_ms()))?;
        }
        Ok(ApprovalRequest {
            id: stored.id,
            action_hash: stored.action_hash,
            expires_at: stored.expires_at,
            reason: stored.reason,
        })
    }

    fn approver(approver: &str) -> Result<PrincipalId> {
        let p = PrincipalId::parse(approver)?;
        if p.kind() != PrincipalKind::User {
            return Err(Error::new(ErrorCode::ApprovalInvalid, format!("approver `{p}` is not a user (`user:…`)")));
        }
        Ok(p)
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
    pub fn approve(&self, request_id: &str, approver: &str) -> Result<Receipt> {
        let approver = Self::approver(approver)?;
        let now = self.now();
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
    pub fn deny_approval(&self, request_id: &str, approver: &str) -> Result<ApprovalRecord> {
        let approver = Self::approver(approver)?;
        let now = self.now();
        let approval = self.store.decide_approval(request_id, ApprovalStatus::Denied, approver.as_str(), now, now)?;
        self.emit(lifecycle::approval(EventType::ApprovalDenied, &approval, self.now_ms()))?;
        Ok(approval)
    }

    /// Checks a receipt's signature, issuer, expiry and binding; returns the request id.
    pub(super) fn read_receipt(
        &self,
        receipt: &str,
        action_hash: &str,
        now: i64,
    ) -> std::result::Result<String, String> {
        if receipt.len() > 4096 {
            return Err("approval receipt is over 4096 bytes".to_owned());
        }
        let raw = parse_link_typed(receipt.trim(), 0, RECEIPT_TYP)
            .map_err(|e| format!("approval receipt: {}", e.message()))?;
        let loaded = self.loaded().map_err(|e| e.message().to_owned())?;
        let key: &PublicKey = raw
            .header
            .kid
            .as_deref()
            .and_then(|kid| loaded.keys.get(kid))
            .ok_or_else(|| "approval receipt is not signed by a key of this authority".to_owned())?;
        key.verify(raw.alg, raw.signing_input.as_bytes(), &raw.signature)
            .map_err(|_| "approval receipt signature is invalid".to_owned())?;
        let claims: ReceiptClaims =
            serde_json::from_slice(&raw.payload).map_err(|e| format!("approval receipt claims are not valid: {e}"))?;
        if claims.iss != self.issuer {
            return Err("approval receipt is from another issuer".to_owned());
        }
        if claims.exp < now {
            return Err(format!("approval receipt `{}` expired", claims.jti));
        }
        if claims.action_hash != action_hash {
            return Err(format!("approval receipt `{}` is for another call (action hash differs)", claims.jti));
        }
        Ok(claims.jti)
    }

    /// Verifies a proof and records its `jti`; `Ok(Err(why))` when it is invalid or replayed.
    pub(super) fn check_proof(
        &self,
        proof: &str,
        key: &PublicKey,
        action_hash: &str,
        now: i64,
    ) -> Result<std::result::Result<(), String>> {
        let (jti, keep_until) = match crate::proof::verify_proof(proof, key, action_hash, now) {
            Ok(v) => v,
            Err(why) => return Ok(Err(why)),
        };
        if self.store.use_proof(&jti, keep_until, now)? {
            Ok(Ok(()))
        } else {
            Ok(Err(format!("proof `{jti}` was already used")))
        }
    }
}
