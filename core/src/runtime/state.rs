//! What every verification consults fresh — revocations, agents, resources, authority keys —
//! held in memory and reloaded whenever the store's revision changes (in this process or
//! another one sharing the folder).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::agent::{AgentRecord, AgentStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Jwks, PublicKey};
use crate::principal::PrincipalId;
use crate::store::{AuthorityKeyRecord, ResourceRecord, Store};
use crate::token::{AuthorityKeys, VerifiedChain};

/// Views loaded in this process, numbered.
static VIEWS: AtomicU64 = AtomicU64::new(1);

/// One loaded view of the store.
#[derive(Debug)]
pub(super) struct Loaded {
    pub revision: u64,
    /// This view's number, never reused in the process: the version of caches built on the
    /// view's contents (a store's revision could repeat — a restored database, a custom store).
    pub view: u64,
    pub issuer: String,
    pub revoked: HashSet<String>,
    pub agents: HashMap<PrincipalId, AgentView>,
    pub resources: HashMap<String, Arc<ResourceRecord>>,
    pub keys: HashMap<String, PublicKey>,
    pub records: Vec<AuthorityKeyRecord>,
    /// The kid of the key that signs new grants.
    pub signing_kid: Option<String>,
}

/// What a check needs of a registered agent; the store keeps the full record (names, key
/// material, times). Owners and organisations are shared between the agents of one view.
#[derive(Debug)]
pub(super) struct AgentView {
    pub id: PrincipalId,
    pub owner: PrincipalId,
    pub org: Option<Arc<str>>,
    pub status: AgentStatus,
    pub attributes: Map<String, Value>,
    pub max_delegation_depth: u32,
    /// The ids of its keys, current and retired: a link's `cnf` must be one of them.
    pub kids: Box<[Box<str>]>,
    /// When each key of [`AgentView::kids`] was retired (same order; `None`: current).
    pub retired_at: Box<[Option<i64>]>,
}

impl AgentView {
    /// When the agent's key `kid` was retired; `None` if it is current (or not the agent's).
    pub(crate) fn key_retired_at(&self, kid: &str) -> Option<i64> {
        self.kids.iter().zip(self.retired_at.iter()).find(|(k, _)| ***k == *kid).and_then(|(_, at)| *at)
    }
}

/// Owners and organisations already in a view being loaded, shared by the agents naming them.
#[derive(Default)]
struct Shared {
    owners: HashSet<PrincipalId>,
    orgs: HashSet<Arc<str>>,
}

impl AgentView {
    fn of(record: AgentRecord, shared: &mut Shared) -> Self {
        let owner = match shared.owners.get(record.owner.as_str()) {
            Some(o) => o.clone(),
            None => {
                shared.owners.insert(record.owner.clone());
                record.owner
            }
        };
        let org = record.org.map(|o| match shared.orgs.get(o.as_str()) {
            Some(o) => Arc::clone(o),
            None => {
                let o: Arc<str> = Arc::from(o);
                shared.orgs.insert(Arc::clone(&o));
                o
            }
        });
        Self {
            id: record.id,
            owner,
            org,
            status: record.status,
            attributes: record.attributes,
            max_delegation_depth: record.max_delegation_depth,
            retired_at: record.keys.iter().map(|k| k.retired_at).collect(),
            kids: record.keys.into_iter().map(|k| k.kid.into_boxed_str()).collect(),
        }
    }
}

/// Verification trusts the view's authority keys (decoded `cnf` points, names and scopes are
/// the verifier's to reuse: `runtime/verifier.rs`).
impl AuthorityKeys for Loaded {
    fn issuer(&self) -> &str {
        &self.issuer
    }
    fn key(&self, kid: &str) -> Option<PublicKey> {
        self.keys.get(kid).cloned()
    }
}

impl Loaded {
    fn load(store: &dyn Store) -> Result<Self> {
        let revision = store.revision()?;
        let issuer = store.issuer()?.unwrap_or_default();
        let mut agents = HashMap::new();
        let mut shared = Shared::default();
        let snap = store.snapshot_each_agent(&mut |record| {
            let view = AgentView::of(record, &mut shared);
            match agents.insert(view.id.clone(), view) {
                // Which of two records would win is chance: refuse rather than guess.
                Some(twice) => Err(Error::new(
                    ErrorCode::StoreCorrupt,
                    format!("the store holds two records for agent `{}`", twice.id),
                )),
                None => Ok(()),
            }
        })?;
        let mut keys = HashMap::new();
        for rec in &snap.authority_keys {
            let key = PublicKey::from_jwk(&rec.jwk).map_err(|e| {
                Error::new(ErrorCode::StoreCorrupt, format!("authority key `{}`: {}", rec.kid, e.message()))
            })?;
            keys.insert(rec.kid.clone(), key);
        }
        let signing_kid = snap.authority_keys.iter().rev().find(|k| k.retired_at.is_none()).map(|k| k.kid.clone());
        Ok(Self {
            revision,
            view: VIEWS.fetch_add(1, Ordering::Relaxed),
            issuer,
            revoked: snap.revoked,
            agents,
            resources: snap.resources.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
            keys,
            records: snap.authority_keys,
            signing_kid,
        })
    }

    /// Time-independent state rules: no grant revoked, every agent registered and active.
    pub(crate) fn check_chain(&self, chain: &VerifiedChain) -> Result<()> {
        // A cached chain may predate the removal of its authority key.
        if let Some(first) = chain.links.first() {
            if !self.keys.contains_key(&*first.signed_by_kid) {
                return Err(Error::new(
                    ErrorCode::UnknownKey,
                    format!("authority key `{}` has been removed", first.signed_by_kid),
                ));
            }
        }
        for link in &chain.links {
            if self.revoked.contains(&*link.grant_id) {
                return Err(Error::new(
                    ErrorCode::GrantRevoked,
                    format!("grant `{}` (link {}) has been revoked", link.grant_id, link.depth),
                ));
            }
        }
        for agent in chain.agents() {
            match self.agents.get(agent.as_str()).map(|a| a.status) {
                Some(AgentStatus::Active) => {}
                Some(AgentStatus::Suspended) => {
                    return Err(Error::new(ErrorCode::AgentSuspended, format!("agent `{agent}` is suspended")))
                }
                Some(AgentStatus::Revoked) => {
                    return Err(Error::new(ErrorCode::AgentRevoked, format!("agent `{agent}` is revoked")))
                }
                None => return Err(Error::new(ErrorCode::AgentUnknown, format!("agent `{agent}` is not registered"))),
            }
        }
        for (i, link) in chain.links.iter().enumerate() {
            let Some(agent) = self.agents.get(link.actor.as_str()) else { continue };
            // The `cnf` key must be one the agent registered (current or retired).
            if !agent.kids.iter().any(|k| **k == *link.key_kid) {
                return Err(Error::new(
                    ErrorCode::ChainBroken,
                    format!(
                        "link {} binds agent `{}` to key `{}`, which is not one of its keys",
                        link.depth, link.actor, link.key_kid
                    ),
                ));
            }
            // A retired key signs nothing after its retirement: the next link, if any, must
            // have been issued at or before it (docs/THREAT_MODEL.md, a holder of a rotated-out agent key).
            if let (Some(retired), Some(child)) = (agent.key_retired_at(&link.key_kid), chain.links.get(i + 1)) {
                if child.issued_at > retired {
                    return Err(Error::new(
                        ErrorCode::KeyInvalid,
                        format!(
                            "link {} is signed by agent `{}`'s key `{}`, retired at {}, after its retirement",
                            child.depth,
                            link.actor,
                            link.key_kid,
                            crate::clock::rfc3339(retired)
                        ),
                    ));
                }
            }
            // The agent's own delegation depth limit applies from its link on.
            if !crate::token::rules::within_agent_depth(link.depth, link.max_depth, agent.max_delegation_depth) {
                return Err(Error::new(
                    ErrorCode::DepthExceeded,
                    format!(
                        "link {} lets the chain grow to depth {}, but agent `{}` allows {} more",
                        link.depth, link.max_depth, link.actor, agent.max_delegation_depth
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn jwks(&self) -> Jwks {
        Jwks { keys: self.records.iter().map(|r| r.jwk.clone()).collect() }
    }
}

/// The current [`Loaded`] view, swapped when the store changes.
#[derive(Debug)]
pub(super) struct StateCache(RwLock<Arc<Loaded>>);

fn poisoned() -> Error {
    Error::new(ErrorCode::InternalError, "state lock is poisoned")
}

impl StateCache {
    pub(crate) fn load(store: &dyn Store) -> Result<Self> {
        Ok(Self(RwLock::new(Arc::new(Loaded::load(store)?))))
    }

    /// The current view, and whether the authority's keys changed since the previous one.
    pub(crate) fn current(&self, store: &dyn Store) -> Result<(Arc<Loaded>, bool)> {
        let revision = store.revision()?;
        {
            let cur = self.0.read().map_err(|_| poisoned())?;
            if cur.revision == revision {
                return Ok((Arc::clone(&cur), false));
            }
        }
        let fresh = Arc::new(Loaded::load(store)?);
        let mut cur = self.0.write().map_err(|_| poisoned())?;
        let keys_changed = cur.records != fresh.records;
        *cur = Arc::clone(&fresh);
        Ok((fresh, keys_changed))
    }
}
