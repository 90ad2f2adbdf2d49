//! `Decision`: the result of a check; fields become JavaScript values only when read.

use napi_derive::napi;

use crate::convert::{json, json_camel, Result};

/// The decision of one check. A deny is a value: read `allowed`.
#[napi]
#[derive(Debug)]
pub struct Decision {
    pub(crate) inner: runtime_identity::Decision,
}

#[napi]
impl Decision {
    /// `"allow"`, `"deny"` or `"require_approval"`.
    #[napi(getter)]
    pub fn effect(&self) -> String {
        self.inner.effect.as_str().to_owned()
    }

    /// The call may run.
    #[napi(getter)]
    pub fn allowed(&self) -> bool {
        self.inner.allowed
    }

    /// The first reason's code.
    #[napi(getter)]
    pub fn code(&self) -> Option<String> {
        self.inner.code().map(|c| c.as_str().to_owned())
    }

    /// The first reason's message.
    #[napi(getter)]
    pub fn message(&self) -> Option<String> {
        self.inner.reasons.first().map(|r| r.message.clone())
    }

    /// Every reason, most important first.
    #[napi(getter, ts_return_type = "Array<{ code: string; message: string }>")]
    pub fn reasons(&self) -> Result<serde_json::Value> {
        json(&self.inner.reasons)
    }

    /// The decision id (UUIDv7), the key of its audit events.
    #[napi(getter)]
    pub fn decision_id(&self) -> String {
        self.inner.decision_id.clone()
    }

    /// The acting agent.
    #[napi(getter)]
    pub fn actor(&self) -> Option<String> {
        self.inner.actor.clone()
    }

    /// The chain's agents, the authority's grantee first.
    #[napi(getter)]
    pub fn chain(&self) -> Vec<String> {
        self.inner.chain.clone()
    }

    /// On whose behalf.
    #[napi(getter)]
    pub fn on_behalf_of(&self) -> Option<String> {
        self.inner.on_behalf_of.clone()
    }

    /// The leaf grant id.
    #[napi(getter)]
    pub fn grant_id(&self) -> Option<String> {
        self.inner.grant_id.clone()
    }

    /// Ids of the Cedar policies that decided.
    #[napi(getter)]
    pub fn policies(&self) -> Vec<String> {
        self.inner.policies.clone()
    }

    /// The approval to ask for, when the effect is `require_approval`.
    #[napi(getter, ts_return_type = "{ id: string; actionHash: string; expiresAt: number; reason: string } | null")]
    pub fn approval_request(&self) -> Result<serde_json::Value> {
        json_camel(&self.inner.approval_request)
    }

    /// Whether the call came with a proof of possession that verified.
    #[napi(getter)]
    pub fn proof(&self) -> bool {
        self.inner.proof
    }

    /// The action checked.
    #[napi(getter)]
    pub fn action(&self) -> String {
        self.inner.action.clone()
    }

    /// The resource checked.
    #[napi(getter)]
    pub fn resource(&self) -> String {
        self.inner.resource.clone()
    }

    /// When it was decided (Unix milliseconds).
    #[napi(getter)]
    pub fn decided_at_ms(&self) -> i64 {
        self.inner.decided_at_ms
    }

    /// The decision as a plain object (the core's JSON form).
    #[napi(js_name = "toJSON", ts_return_type = "Record<string, unknown>")]
    pub fn to_json(&self) -> Result<serde_json::Value> {
        json(&self.inner)
    }

    /// `Decision(deny payments.refund on customer/77 by agent:…: policy_forbid — …)`.
    #[napi(js_name = "toString")]
    pub fn to_string_js(&self) -> String {
        let d = &self.inner;
        format!(
            "Decision({} {} on {} by {}: {})",
            d.effect.as_str(),
            d.action,
            d.resource,
            d.actor.as_deref().unwrap_or("-"),
            d.reasons.first().map(|r| format!("{} — {}", r.code, r.message)).unwrap_or_default()
        )
    }
}
