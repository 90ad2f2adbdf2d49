//! Agent records and their lifecycle (`active` → `suspended` ⇄ `active` → `revoked`, final).

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Algorithm, Jwk};
use crate::principal::{PrincipalId, PrincipalKind};

/// The default `max_delegation_depth` of a new agent.
pub const DEFAULT_MAX_DELEGATION_DEPTH: u32 = 2;
/// The largest attributes object accepted, serialised, in bytes.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// The longest name, description or org accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;

/// An agent's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// May act.
    Active,
    /// Temporarily may not act; can be resumed.
    Suspended,
    /// May never act again.
    Revoked,
}

impl AgentStatus {
    /// `active`, `suspended` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Revoked => "revoked",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(AgentStatus::Active),
            "suspended" => Ok(AgentStatus::Suspended),
            "revoked" => Ok(AgentStatus::Revoked),
            _ => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("status `{}` is not one of active, suspended, revoked", crate::principal::preview(s)),
            )),
        }
    }
}

/// One of an agent's public keys, with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentKey {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Algorithm.
    pub alg: Algorithm,
    /// The public JWK.
    pub jwk: Jwk,
    /// When it was added (Unix seconds).
    pub created_at: i64,
    /// When it stopped being the agent's current key, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    /// Whether the runtime folder holds the private half.
    pub private_in_store: bool,
}

/// A registered agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// `agent:…`.
    pub id: PrincipalId,
    /// The accountable user or team.
    pub owner: PrincipalId,
    /// Organisation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Lifecycle status.
    pub status: AgentStatus,
    /// Attributes (become Cedar entity attributes).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// How many further delegations a grant to this agent may allow.
    pub max_delegation_depth: u32,
    /// Keys, current last.
    pub keys: Vec<AgentKey>,
    /// Registered at (Unix seconds).
    pub created_at: i64,
    /// Last changed at (Unix seconds).
    pub updated_at: i64,
}

impl AgentRecord {
    /// The current (newest, unretired) key.
    pub fn current_key(&self) -> Option<&AgentKey> {
        self.keys.iter().rev().find(|k| k.retired_at.is_none())
    }
}

/// What to register.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    /// The accountable owner (a user, org or service; not an agent).
    pub owner: Option<String>,
    /// Organisation.
    #[serde(default)]
    pub org: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Attributes: a JSON object.
    #[serde(default)]
    pub attributes: Option<serde_json::Value>,
    /// Default [`DEFAULT_MAX_DELEGATION_DEPTH`].
    #[serde(default)]
    pub max_delegation_depth: Option<u32>,
    /// Register only this public key (the agent keeps its private key); otherwise a key is
    /// generated and kept in the store.
    #[serde(default)]
    pub public_key: Option<Jwk>,
    /// Algorithm of a generated key (default: the runtime's).
    #[serde(default)]
    pub alg: Option<Algorithm>,
}

/// A filter for listing agents.
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    /// Only agents of this owner.
    pub owner: Option<PrincipalId>,
    /// Only agents in this status.
    pub status: Option<AgentStatus>,
}

impl AgentFilter {
    /// Whether `rec` passes.
    pub fn matches(&self, rec: &AgentRecord) -> bool {
        self.owner.as_ref().is_none_or(|o| &rec.owner == o) && self.status.is_none_or(|s| rec.status == s)
    }
}

fn check_text(field: &str, v: &Option<String>) -> Result<()> {
    match v {
        Some(s) if s.len() > MAX_TEXT_LEN => {
            Err(Error::new(ErrorCode::InputTooLarge, format!("`{field}` is over {MAX_TEXT_LEN} bytes")))
        }
        Some(s) if s.chars().any(char::is_control) => {
            Err(Error::new(ErrorCode::InvalidArgument, format!("`{field}` contains control characters")))
        }
        _ => Ok(()),
    }
}

/// Validates the owner: any principal but an agent.
pub(crate) fn validate_owner(owner: &str) -> Result<PrincipalId> {
    let owner = PrincipalId::parse(owner)?;
    if owner.kind() == PrincipalKind::Agent {
        return Err(Error::new(
            ErrorCode::PrincipalInvalid,
            format!("owner `{owner}` is an agent; an owner must be an accountable user, org or service"),
        ));
    }
    Ok(owner)
}

impl AgentSpec {
    /// Validates every field but the key; returns the owner and the attributes object.
    pub fn validate(&self) -> Result<(PrincipalId, serde_json::Map<String, serde_json::Value>)> {
        let owner =
            self.owner.as_deref().ok_or_else(|| Error::new(ErrorCode::InvalidArgument, "an agent needs an `owner`"))?;
        let owner = validate_owner(owner)?;
        check_text("org", &self.org)?;
        check_text("name", &self.name)?;
        check_text("description", &self.description)?;
        let attributes = validate_attributes(self.attributes.clone())?;
        if let Some(d) = self.max_delegation_depth {
            let hard = u32::try_from(crate::token::MAX_LINKS - 1).unwrap_or(u32::MAX);
            if d > hard {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!("`max_delegation_depth` {d} is over the limit {hard}"),
                ));
            }
        }
        Ok((owner, attributes))
    }
}

/// Validates an attributes value: a JSON object of bounded size.
pub(crate) fn validate_attributes(v: Option<serde_json::Value>) -> Result<serde_json::Map<String, serde_json::Value>> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(serde_json::Map::new()),
        Some(serde_json::Value::Object(map)) => {
            let size = serde_json::to_vec(&map).map(|v| v.len()).unwrap_or(usize::MAX);
            if size > MAX_ATTRIBUTES_BYTES {
                return Err(Error::new(
                    ErrorCode::InputTooLarge,
                    format!("`attributes` are {size} bytes; the limit is {MAX_ATTRIBUTES_BYTES}"),
                ));
            }
            // Deeper could not be read back from the store, nor converted for policies.
            if crate::json::map_depth(&map) > crate::json::MAX_DEPTH {
                return Err(Error::new(
                    ErrorCode::InputTooLarge,
                    format!("`attributes` are nested more than {} levels deep", crate::json::MAX_DEPTH),
                ));
            }
            Ok(map)
        }
        Some(_) => Err(Error::new(ErrorCode::InvalidArgument, "`attributes` must be a json object")),
    }
}

/// The lifecycle rule: which status change is allowed from `from`.
pub(crate) fn transition(id: &PrincipalId, from: AgentStatus, to: AgentStatus) -> Result<()> {
    use AgentStatus::*;
    match (from, to) {
        (Revoked, _) => {
            Err(Error::new(ErrorCode::AgentRevoked, format!("agent `{id}` is revoked; revocation is final")))
        }
        (Active, Suspended) | (Suspended, Active) | (_, Revoked) => Ok(()),
        (Active, Active) => Err(Error::new(ErrorCode::InvalidArgument, format!("agent `{id}` is already active"))),
        (Suspended, Suspended) => {
            Err(Error::new(ErrorCode::AgentSuspended, format!("agent `{id}` is already suspended")))
        }
    }
}
