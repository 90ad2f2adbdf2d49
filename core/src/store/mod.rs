//! Persistence: the [`Store`] trait, the embedded SQLite folder store and an in-memory store.
//!
//! A store keeps data and makes each change atomic (also across processes for the folder
//! store); the rules about what may change live elsewhere and are only applied here, inside
//! the store's atomic updates: an approval's life in [`crate::approval`], counting in
//! [`crate::limits`], everything else in the runtime.

pub(crate) mod folder;
mod keyfile;
mod memory;
mod sqlite;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::agent::{AgentFilter, AgentRecord};
use crate::approval::{ApprovalRecord, ApprovalStatus};
use crate::error::Result;
use crate::keys::{Algorithm, Jwk, PrivateKey};
use crate::limits::{ConsumeRefusal, CounterOp};
use crate::principal::PrincipalId;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, DB_FILE, KEYS_DIR, RECHECK_EVERY, SIGNAL_FILE};

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
    /// The `kid` of the actor's key the grant binds (`cnf`); absent in grants recorded before
    /// it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_kid: Option<String>,
}

/// The newest checkpoint, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    /// The checkpoint event's `seq`.
    pub seq: u64,
    /// The checkpoint event's `hash`.
    pub hash: String,
}

/// The log's running anchor, kept in the store before every write of the log (the file log
/// only: a memory log is private to its runtime). `seq`/`hash`/`len` are the last line and the
/// log's length once that write is complete; `durable_*` where the log ended on disk before it.
/// After a crash the log ends at one of the two or at a whole line between them, chained from
/// the durable one; anything else (shorter, longer, another last line) is a cut, an addition
/// or a rewrite, and the runtime refuses to append to it or sign over it (`audit_corrupt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// The `seq` of the last line once the write is complete.
    pub seq: u64,
    /// Its `hash`.
    pub hash: String,
    /// The log's length in bytes then.
    pub len: u64,
    /// The `seq` of the last line known to be on disk before the write.
    pub durable_seq: u64,
    /// Its `hash`.
    pub durable_hash: String,
    /// The log's length in bytes then.
    pub durable_len: u64,
}

/// What every check must consult fresh: revocations, agents, resources, authority keys.
#[derive(Debug, Clone, Default)]
pub struct StateSnapshot {
    /// Revoked grant ids.
    pub revoked: HashSet<String>,
    /// Every registered agent.
    pub agents: HashMap<String, AgentRecord>,
    /// Registered resources.
    pub resources: HashMap<String, ResourceRecord>,
    /// The authority's keys (active and retired).
    pub authority_keys: Vec<AuthorityKeyRecord>,
}

/// A resource the application registered, with its data class and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Resource id (`customer/42`).
    pub id: String,
    /// Data class (`pci`, `internal`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_class: Option<String>,
    /// Attributes (become Cedar attributes of the resource).
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// An approval to consume together with the counters.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalUse<'a> {
    /// The request id.
    pub id: &'a str,
    /// The call's hash, which must match the approved one.
    pub action_hash: &'a str,
}

/// The persistence behind a [`crate::Runtime`].
///
/// Reviewed with two implementations in mind that are not here yet: a SQL store shared by
/// many processes (PostgreSQL), and an enforcer that checks calls but holds no authority key.
///
/// # What a store must do atomically
///
/// Each of these is one transaction (across processes for a shared store): a check relies
/// on it, and a store that splits it lets two callers pass a limit together.
///
/// - [`Store::consume`]: read every counter, apply the one plan every store applies
///   (`limits::plan_counters`), and, with an approval, check it
///   (`approval::usable`) and mark it consumed — all or nothing. Two ops on one counter
///   see each other. Counters are named by [`crate::limits::CounterKey`]'s stored form.
/// - [`Store::open_approval`]: count the grant's unexpired pending requests and insert
///   under the cap, or return the pending request for the same call; concurrent openers
///   never pass the cap together.
/// - [`Store::decide_approval`]: read, apply `approval::decide` (pending and unexpired
///   only) and write.
/// - [`Store::revoke_grant`]: the grant and every recorded descendant, in one write.
/// - [`Store::update_agent`]: read, change, write one agent (a status change and a key
///   rotation are never lost to a concurrent one).
/// - [`Store::use_proof`]: insert-if-absent of a proof's `jti` (a replay is refused even
///   when two processes see it at once).
/// - [`Store::ensure_authority_key`] and [`Store::rotate_authority_key`]: there is at most
///   one unretired authority key.
/// - [`Store::save_audit_anchor`]: durable before it returns; the log is written after it.
///   [`Store::save_audit_checkpoint`] keeps only a newer `seq`.
///
/// [`Store::snapshot`] (and [`Store::snapshot_each_agent`]) is one consistent read, and
/// [`Store::revision`] changes with every committed change of what it returns, in any
/// process: a runtime trusts its loaded state until the revision moves, so a store whose
/// revision misses a change serves a revoked grant or a suspended agent as valid. (A SQL
/// store: a counter bumped in the same transaction as each change, not a clock.)
///
/// # What a store must never hold, and what it holds today
///
/// A store never holds a token or a proof, only grant ids, proof `jti`s and hashes; it
/// never logs a private key (`PrivateKey` has no plain `Debug`). Private keys are not
/// data of the database: the folder store keeps them in key files next to it (`keys/`,
/// mode 0600, see `store/keyfile.rs`), never in a table, and the memory store in memory.
/// A SQL store must not put them in a table either: whoever can read the database (its
/// operator, a backup) would then hold the authority.
///
/// Today the trait still carries the authority's secrets ([`Store::authority_private_key`],
/// [`Store::ensure_authority_key`], [`Store::rotate_authority_key`]) and agents' private
/// keys ([`Store::agent_private_key`]). An enforcer that holds no authority key cannot be
/// built on it yet: opening a runtime creates an authority key if none is stored, and
/// audit checkpoints and approval receipts are signed with it. Checking a call itself
/// needs only [`Store::authority_keys`] (public halves) and the state above.
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
    /// Takes a retired authority key out of service: the private half is deleted and the
    /// public half moves to [`Store::removed_authority_keys`]. Returns whether it existed.
    fn remove_authority_key(&self, kid: &str) -> Result<bool>;
    /// Authority keys taken out of service, kept only to verify old audit checkpoints.
    fn removed_authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>>;

    /// A small named value the runtime keeps (e.g. the digest of the policy set last recorded).
    fn get_meta(&self, key: &str) -> Result<Option<String>>;
    /// Sets a named value.
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// The audit log's newest checkpoint.
    fn audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
    /// Keeps `cp` as the newest checkpoint if its `seq` is higher than the stored one's.
    fn save_audit_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()>;
    /// The audit log's running anchor (see [`AuditAnchor`]), if one was saved.
    fn audit_anchor(&self) -> Result<Option<AuditAnchor>>;
    /// Replaces the running anchor; durable when this returns (the log is written after it).
    fn save_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()>;

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
    /// Every recorded grant to `actor` (revoked ones included).
    fn grants_to(&self, actor: &PrincipalId) -> Result<Vec<GrantRecord>>;

    /// Registers or replaces a resource.
    fn upsert_resource(&self, resource: &ResourceRecord) -> Result<()>;

    /// Atomically: if every op stays within its limit (and the approval, if any, is approved,
    /// unexpired and for this call), applies them all (and marks the approval consumed);
    /// otherwise changes nothing. With `commit == false` only checks.
    fn consume(
        &self,
        ops: &[CounterOp],
        approval: Option<ApprovalUse<'_>>,
        now: i64,
        commit: bool,
    ) -> Result<std::result::Result<(), ConsumeRefusal>>;

    /// Stores a new approval request, or returns the pending one for the same call; `None`
    /// (nothing stored) when the request's grant already has `max_pending` unexpired pending
    /// requests. Atomic: concurrent openers never pass the cap together.
    fn open_approval(&self, request: &ApprovalRecord, now: i64, max_pending: usize) -> Result<Option<ApprovalRecord>>;
    /// One approval request.
    fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>>;
    /// Atomically decides a pending, unexpired request.
    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        approver: &str,
        now: i64,
        receipt_expires_at: i64,
    ) -> Result<ApprovalRecord>;
    /// Records a proof's `jti` until `expires_at`; false if it was already used.
    fn use_proof(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool>;

    /// Everything a check must see fresh.
    fn snapshot(&self) -> Result<StateSnapshot>;
    /// The same state as [`Store::snapshot`] (one consistent read), with each agent handed to
    /// `each_agent` as it is read instead of collected: the returned `agents` is empty. A
    /// runtime keeps only part of each record, so a store of many agents never holds all of
    /// them twice. The default collects a snapshot and hands its agents over. `each_agent`
    /// may run while the store holds its lock: it must not call the store. An error it returns
    /// ends the read and is returned.
    fn snapshot_each_agent(&self, each_agent: &mut dyn FnMut(AgentRecord) -> Result<()>) -> Result<StateSnapshot> {
        let mut snap = self.snapshot()?;
        for record in std::mem::take(&mut snap.agents).into_values() {
            each_agent(record)?;
        }
        Ok(snap)
    }
    /// A number that changes whenever anything in the store changes (in this process or another).
    fn revision(&self) -> Result<u64>;
}

/// [`Store::snapshot`] for a store that reads its agents one by one
/// ([`Store::snapshot_each_agent`]): the same read, the agents collected by id.
pub(crate) fn snapshot_collecting(store: &dyn Store) -> Result<StateSnapshot> {
    let mut agents = HashMap::new();
    let mut snap = store.snapshot_each_agent(&mut |r| {
        agents.insert(r.id.as_str().to_owned(), r);
        Ok(())
    })?;
    snap.agents = agents;
    Ok(snap)
}
