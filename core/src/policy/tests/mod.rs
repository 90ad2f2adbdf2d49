//! Tests of the policy module: loading and validation (`load`), evaluation (`evaluate`),
//! slicing by action (`slicing`), value conversion (`values`) and the outcome memo (`memo`).

mod evaluate;
mod load;
mod memo;
mod slicing;
mod values;

use serde_json::{json, Map, Value};

use super::*;
use crate::error::{ErrorCode, Result};

/// The 20 scenario rules, adapted to our conventions (shared with the bench).
pub(super) const SCENARIO: &str = include_str!("scenario.cedar");

pub(super) fn text(t: &str) -> Vec<PolicySource> {
    vec![PolicySource::new("<text>", t)]
}

pub(super) fn engine(t: &str) -> PolicyEngine {
    PolicyEngine::load(&text(t), &SchemaHints::default(), false).unwrap()
}

pub(super) fn engine_with(t: &str, hints: &SchemaHints) -> PolicyEngine {
    PolicyEngine::load(&text(t), hints, false).unwrap()
}

/// The message of a load that must fail with the policy-invalid code.
pub(super) fn load_error(sources: &[PolicySource], hints: &SchemaHints) -> String {
    let err = PolicyEngine::load(sources, hints, false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PolicyInvalid, "{}", err.message());
    err.message().to_owned()
}

pub(super) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// An owned call; [`Call::r1`] is the scenario's request R1.
#[derive(Clone)]
pub(super) struct Call {
    pub agent: String,
    pub org: Option<String>,
    pub agent_attrs: Map<String, Value>,
    pub action: String,
    pub resource: String,
    pub data_class: Option<String>,
    pub resource_attrs: Map<String, Value>,
    pub args: Map<String, Value>,
    pub on_behalf_of: String,
    pub env: Option<Value>,
    pub risk: Option<Value>,
    pub now: i64,
    /// The entities version vouched for (`None`: attributes are not vouched for, no memo).
    pub version: Option<u64>,
}

impl Call {
    /// `agent:acme/support-bot` (PCI-cleared) refunds 50 USD on `customer/42` (PCI data).
    pub(super) fn r1() -> Self {
        Self {
            agent: "agent:acme/support-bot".into(),
            org: Some("acme".into()),
            agent_attrs: obj(json!({"pci_cleared": true, "team": "support"})),
            action: "payments.refund".into(),
            resource: "customer/42".into(),
            data_class: Some("pci".into()),
            resource_attrs: Map::new(),
            args: obj(json!({"amount": 50, "currency": "USD"})),
            on_behalf_of: "user:alice".into(),
            env: None,
            risk: None,
            now: 1_767_225_600,
            version: None,
        }
    }

    pub(super) fn action(mut self, a: &str) -> Self {
        self.action = a.into();
        self
    }

    pub(super) fn args(mut self, v: Value) -> Self {
        self.args = obj(v);
        self
    }

    pub(super) fn agent_attrs(mut self, v: Value) -> Self {
        self.agent_attrs = obj(v);
        self
    }

    pub(super) fn resource_attrs(mut self, v: Value) -> Self {
        self.resource_attrs = obj(v);
        self
    }

    pub(super) fn data_class(mut self, dc: Option<&str>) -> Self {
        self.data_class = dc.map(Into::into);
        self
    }

    pub(super) fn eval(&self, e: &PolicyEngine) -> Result<PolicyOutcome> {
        e.evaluate(&PolicyRequest {
            principal: AgentEntity {
                id: &self.agent,
                owner: "user:alice",
                org: self.org.as_deref(),
                status: "active",
                attributes: &self.agent_attrs,
            },
            action: &self.action,
            resource: ResourceEntity {
                id: &self.resource,
                data_class: self.data_class.as_deref(),
                attributes: &self.resource_attrs,
            },
            args: &self.args,
            delegation: DelegationContext {
                depth: 1,
                on_behalf_of: &self.on_behalf_of,
                purpose: Some("support"),
                grant_id: "g-1",
            },
            env: self.env.as_ref(),
            risk: self.risk.as_ref(),
            now: self.now,
            entities_version: self.version,
        })
    }
}

pub(super) fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
