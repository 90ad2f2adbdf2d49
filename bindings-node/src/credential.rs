//! `Credential`, `Scope` helpers and `Receipt`.

use std::sync::Arc;

use napi_derive::napi;
use runtime_identity::scope::Scope;
use runtime_identity::Runtime;
use serde_json::{json, Value};

use crate::convert::{invalid, json, IntoJs, Result};
use crate::runtime::{attenuate, AttenuateOptions};

/// A verified delegation credential. `token` is a bearer secret: it is not part of
/// `toString()` or `toJSON()`.
#[napi]
#[derive(Debug)]
pub struct Credential {
    pub(crate) inner: runtime_identity::token::Credential,
    pub(crate) runtime: Arc<Runtime>,
}

#[napi]
impl Credential {
    /// The token to hand to a sub-agent or send over the wire (a secret).
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.inner.token().to_owned()
    }

    /// The leaf grant id.
    #[napi(getter)]
    pub fn grant_id(&self) -> String {
        self.inner.grant_id().to_owned()
    }

    /// When it expires (Unix seconds).
    #[napi(getter)]
    pub fn expires_at(&self) -> i64 {
        self.inner.expires_at()
    }

    /// The acting agent (the leaf's).
    #[napi(getter)]
    pub fn actor(&self) -> Option<String> {
        self.inner.chain().actor().map(|a| a.as_str().to_owned())
    }

    /// On whose behalf every link acts.
    #[napi(getter)]
    pub fn on_behalf_of(&self) -> String {
        self.inner.chain().on_behalf_of.as_str().to_owned()
    }

    /// The chain's agents, the authority's grantee first.
    #[napi(getter)]
    pub fn agents(&self) -> Vec<String> {
        self.inner.chain().agents().map(|a| a.as_str().to_owned()).collect()
    }

    /// The links: issuer, actor, grant id, times, depth, purpose, scopes.
    #[napi(
        getter,
        ts_return_type = "Array<{ issuer: string; actor: string; grantId: string; issuedAt: number; expiresAt: number; depth: number; maxDepth: number; purpose: string | null; scopes: Array<Record<string, unknown>> }>"
    )]
    pub fn chain(&self) -> Value {
        Value::Array(
            self.inner
                .chain()
                .links
                .iter()
                .map(|l| {
                    json!({
                        "issuer": l.issuer,
                        "actor": l.actor.as_str(),
                        "grantId": l.grant_id,
                        "issuedAt": l.issued_at,
                        "expiresAt": l.expires_at,
                        "depth": l.depth,
                        "maxDepth": l.max_depth,
                        "purpose": l.purpose,
                        "scopes": l.scopes.iter().map(Scope::to_api_value).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    /// A narrower credential for sub-agent `to`, signed by this credential's agent.
    #[napi]
    pub fn attenuate(&self, options: AttenuateOptions) -> Result<Credential> {
        attenuate(&self.runtime, self.inner.token(), options)
    }

    /// `Credential(grantId=…, actor=…, onBehalfOf=…, links=n)` — never the token.
    #[napi(js_name = "toString")]
    pub fn to_string_js(&self) -> String {
        format!(
            "Credential(grantId={}, actor={}, onBehalfOf={}, links={})",
            self.inner.grant_id(),
            self.actor().unwrap_or_default(),
            self.on_behalf_of(),
            self.inner.chain().links.len()
        )
    }

    /// The public facts (never the token).
    #[napi(js_name = "toJSON", ts_return_type = "Record<string, unknown>")]
    pub fn to_json(&self) -> Value {
        json!({
            "grantId": self.inner.grant_id(),
            "actor": self.actor(),
            "onBehalfOf": self.on_behalf_of(),
            "agents": self.agents(),
            "expiresAt": self.inner.expires_at(),
        })
    }
}

/// Scopes from objects (`{actions, resources, dataClasses | data_classes, constraints, limits}`).
pub fn scopes_of(v: Value) -> Result<Vec<Scope>> {
    let items = match v {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => return Err(invalid("scopes must be an object or an array of objects")),
    };
    items
        .into_iter()
        .map(|mut s| {
            if let Some(obj) = s.as_object_mut() {
                if let Some(dc) = obj.remove("dataClasses") {
                    obj.insert("data_classes".into(), dc);
                }
            }
            Scope::from_api_value(&s).js()
        })
        .collect()
}

/// A signed, single-use approval receipt: pass `token` as `approval` to the check it approves.
#[napi]
pub struct Receipt {
    pub(crate) inner: runtime_identity::Receipt,
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt").field("id", &self.inner.approval.id).finish_non_exhaustive()
    }
}

#[napi]
impl Receipt {
    /// The receipt JWS.
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.inner.token.clone()
    }

    /// The approval request id.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.approval.id.clone()
    }

    /// The approval as stored (status, approver, …).
    #[napi(getter, ts_return_type = "Record<string, unknown>")]
    pub fn approval(&self) -> Result<Value> {
        json(&self.inner.approval)
    }
}
