//! TEMPORARY scaffold: replaced by the Cedar engine before this lands.
#![allow(missing_docs, dead_code)]
use crate::error::Result;
#[derive(Debug, Clone)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
}
#[derive(Debug, Clone, Default)]
pub struct SchemaHints;
#[derive(Debug, Default)]
pub struct PolicyEngine;
pub struct AgentEntity<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    pub org: Option<&'a str>,
    pub status: &'a str,
    pub attributes: &'a serde_json::Map<String, serde_json::Value>,
}
pub struct ResourceEntity<'a> {
    pub id: &'a str,
    pub data_class: Option<&'a str>,
    pub attributes: &'a serde_json::Map<String, serde_json::Value>,
}
pub struct DelegationContext<'a> {
    pub depth: i64,
    pub on_behalf_of: &'a str,
    pub purpose: Option<&'a str>,
    pub grant_id: &'a str,
}
pub struct PolicyRequest<'a> {
    pub principal: AgentEntity<'a>,
    pub action: &'a str,
    pub resource: ResourceEntity<'a>,
    pub args: &'a serde_json::Map<String, serde_json::Value>,
    pub delegation: DelegationContext<'a>,
    pub env: Option<&'a serde_json::Value>,
    pub risk: Option<&'a serde_json::Value>,
    pub now: i64,
}
#[derive(Debug, Default)]
pub struct PolicyOutcome {
    pub forbids: Vec<String>,
    pub permits: Vec<String>,
    pub approvals: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
}
impl PolicyEngine {
    pub fn empty() -> Self {
        Self
    }
    pub fn load(_s: &[PolicySource], _h: &SchemaHints, _r: bool) -> Result<Self> {
        Ok(Self)
    }
    pub fn policy_count(&self) -> usize {
        0
    }
    pub fn evaluate(&self, _r: &PolicyRequest<'_>) -> Result<PolicyOutcome> {
        Ok(PolicyOutcome::default())
    }
    pub fn require_permit(&self) -> bool {
        false
    }
}
impl SchemaHints {
    pub fn from_records<'a>(
        _agents: impl Iterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
        _resources: impl Iterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
    ) -> Self {
        Self
    }
}
