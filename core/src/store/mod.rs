//! Persistence: the [`Store`] trait, the embedded SQLite folder store and an in-memory store.
//!
//! A store keeps data and makes each change atomic (also across processes for the folder
//! store); the rules about what may change live in the runtime, not here.

mod keyfile;
mod memory;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::agent::{AgentFilter, AgentRecord, AgentStatus};
use crate::error::Result;
use crate::keys::{Algorithm, Jwk, PrivateKey};
use crate::principal::PrincipalId;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, DB_FILE, KEYS_DIR};

/// One of the authority's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorityKeyRecord {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Algorithm.
    pub alg: Algorithm,
    /// The public JWK.
    pub jwk: Jwk,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// When it stopped signing (it still verifies until removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
}

/// A grant minted by this runtime, kept so that revocation can cascade to descendants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// The grant id (`jti`).
    pub grant_id: String,
    /// The grant it was attenuated from.
    pub parent_id: Option<String>,
    /// Who signed it.
    pub issuer: String,
    /// Who it grants to.
    pub actor: PrincipalId,
    /// On whose behalf.
    pub on_behalf_of: PrincipalId,
    /// Issued at (Unix seconds).
    pub issued_at: i64,
    /// Expires at (Unix seconds).
    pub expires_at: i64,
}

/// What every check must consult fresh: revocations, agent statuses, authority keys.
#[derive(Debug, Clone, Default)]
pub struct StateSnapshot {
    /// Revoked grant ids.
    pub revoked: HashSet<String>,
    /// Every registered agent's status.
    pub statuses: HashMap<String, AgentStatus>,
    /// The authority's keys (active and retired).
    pub authority_keys: Vec<AuthorityKeyRecord>,
}

/// The persistence behind a [`crate::Runtime`].
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The stored issuer; if none is stored yet, stores `issuer` and returns it.
    fn init_issuer(&self, issuer: &str) -> Result<String>;
    /// The stored issuer, if any.
    fn issuer(&self) -> Result<Option<String>>;

    /// The authority's keys, oldest first.
    fn authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>>;
    /// The private half of an authority key.
    fn authority_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>>;
    /// Atomically: if no unretired authority key exists, add `make()` as the signing key.
    fn ensure_authority_key(&self, make: &mut dyn FnMut() -> Result<PrivateKey>, now: i64) -> Result<()>;
    /// Atomically: retire the signing key and add `key` as the new one.
    fn rotate_authority_key(&self, key: PrivateKey, now: i64) -> Result<()>;
    /// Deletes a retired authority key (public and private). Returns whether it existed.
    fn remove_authority_key(&self, kid: &str) -> Result<bool>;

    /// Inserts a new agent (error `agent_exists` if the id is taken), with its private key.
    fn insert_agent(&self, record: &AgentRecord, private: Option<PrivateKey>) -> Result<()>;
    /// One agent.
    fn get_agent(&self, id: &PrincipalId) -> Result<Option<AgentRecord>>;
    /// Agents passing `filter`, by id.
    fn list_agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>>;
    /// Atomically reads, changes (with `change`) and writes one agent; `new_private` is stored
    /// as a private key, and private keys of keys `change` retired are deleted.
    fn update_agent(
        &self,
        id: &PrincipalId,
        change: &mut dyn FnMut(&mut AgentRecord) -> Result<()>,
        new_private: Option<PrivateKey>,
    ) -> Result<AgentRecord>;
    /// The private key of an agent's key `kid`, if the store holds it.
    fn agent_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>>;

    /// Records a minted grant.
    fn record_grant(&self, grant: &GrantRecord) -> Result<()>;
    /// Revokes `grant_id` and every recorded descendant; returns the ids newly revoked
    /// (`grant_id` is revoked even if it was never recorded here).
    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<Vec<String>>;
    /// Looks up one grant.
    fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>>;

    /// Everything a check must see fresh.
    fn snapshot(&self) -> Result<StateSnapshot>;
    /// A number that changes whenever anything in the store changes (in this process or another).
    fn revision(&self) -> Result<u64>;
}
