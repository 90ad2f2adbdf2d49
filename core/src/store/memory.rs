//! An in-memory store with the same semantics as the folder store (tests, notebooks).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    ApprovalUse, AuditAnchor, AuthorityKeyRecord, GrantRecord, ResourceRecord, StateSnapshot, Store, StoredCheckpoint,
};
use crate::agent::{AgentFilter, AgentRecord};
use crate::approval::{self, ApprovalRecord, ApprovalStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::limits::{plan_counters, ConsumeRefusal, CounterOp};
use crate::principal::PrincipalId;

#[derive(Default)]
struct Inner {
    issuer: Option<String>,
    authority: Vec<AuthorityKeyRecord>,
    authority_private: HashMap<String, Arc<PrivateKey>>,
    agent_private: HashMap<String, Arc<PrivateKey>>,
    agents: BTreeMap<PrincipalId, AgentRecord>,
    grants: HashMap<String, GrantRecord>,
    children: HashMap<String, Vec<String>>,
    revoked: HashMap<String, i64>,
    resources: HashMap<String, ResourceRecord>,
    counters: HashMap<String, (f64, i64)>,
    approvals: HashMap<String, ApprovalRecord>,
    proofs: HashMap<String, i64>,
    removed_authority: Vec<AuthorityKeyRecord>,
    checkpoint: Option<StoredCheckpoint>,
    anchor: Option<AuditAnchor>,
    meta: HashMap<String, String>,
}

/// State kept in memory only; lost when dropped.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    revision: AtomicU64,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("revision", &self.revision.load(Ordering::Relaxed)).finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| Error::new(ErrorCode::InternalError, "memory store lock is poisoned"))
    }

    fn bump(&self) {
        self.revision.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store for MemoryStore {
    fn init_issuer(&self, issuer: &str) -> Result<String> {
        let mut g = self.lock()?;
        let out = g.issuer.get_or_insert_with(|| issuer.to_owned()).clone();
        drop(g);
        self.bump();
        Ok(out)
    }

    fn issuer(&self) -> Result<Option<String>> {
        Ok(self.lock()?.issuer.clone())
    }

    fn authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        Ok(self.lock()?.authority.clone())
    }

    fn authority_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        let g = self.lock()?;
        Ok(g.authority_private.get(kid).cloned())
    }

    fn removed_authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        Ok(self.lock()?.removed_authority.clone())
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.lock()?.meta.get(key).cloned())
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.lock()?.meta.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        Ok(self.lock()?.checkpoint.clone())
    }

    fn save_audit_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        let mut g = self.lock()?;
        if g.checkpoint.as_ref().is_none_or(|old| cp.seq > old.seq) {
            g.checkpoint = Some(cp.clone());
        }
        Ok(())
    }

    fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        Ok(self.lock()?.anchor.clone())
    }

    fn save_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        self.lock()?.anchor = Some(anchor.clone());
        Ok(())
    }

    fn ensure_authority_key(&self, make: &mut dyn FnMut() -> Result<PrivateKey>, now: i64) -> Result<()> {
        let mut g = self.lock()?;
        if g.authority.iter().any(|k| k.retired_at.is_none()) {
            return Ok(());
        }
        let key = make()?;
        g.authority.push(record_of(&key, now));
        g.authority_private.insert(key.kid().to_owned(), Arc::new(key));
        drop(g);
        self.bump();
        Ok(())
    }

    fn rotate_authority_key(&self, key: PrivateKey, now: i64) -> Result<()> {
        let mut g = self.lock()?;
        for k in g.authority.iter_mut().filter(|k| k.retired_at.is_none()) {
            k.retired_at = Some(now);
        }
        g.authority.push(record_of(&key, now));
        g.authority_private.insert(key.kid().to_owned(), Arc::new(key));
        drop(g);
        self.bump();
        Ok(())
    }

    fn remove_authority_key(&self, kid: &str) -> Result<bool> {
        let mut g = self.lock()?;
        let Some(pos) = g.authority.iter().position(|k| k.kid == kid) else {
            return Ok(false);
        };
        let record = g.authority.remove(pos);
        g.removed_authority.push(record);
        g.authority_private.remove(kid);
        let removed = true;
        drop(g);
        self.bump();
        Ok(removed)
    }

    fn insert_agent(&self, record: &AgentRecord, private: Option<PrivateKey>) -> Result<()> {
        let mut g = self.lock()?;
        if g.agents.contains_key(&record.id) {
            return Err(Error::new(ErrorCode::AgentExists, format!("agent `{}` is already registered", record.id)));
        }
        g.agents.insert(record.id.clone(), record.clone());
        if let Some(key) = private {
            g.agent_private.insert(key.kid().to_owned(), Arc::new(key));
        }
        drop(g);
        self.bump();
        Ok(())
    }

    fn get_agent(&self, id: &PrincipalId) -> Result<Option<AgentRecord>> {
        Ok(self.lock()?.agents.get(id).cloned())
    }

    fn list_agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        Ok(self.lock()?.agents.values().filter(|r| filter.matches(r)).cloned().collect())
    }

    fn update_agent(
        &self,
        id: &PrincipalId,
        change: &mut dyn FnMut(&mut AgentRecord) -> Result<()>,
        new_private: Option<PrivateKey>,
    ) -> Result<AgentRecord> {
        let mut g = self.lock()?;
        let mut record = g
            .agents
            .get(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::AgentUnknown, format!("agent `{id}` is not registered")))?;
        change(&mut record)?;
        for k in record.keys.iter().filter(|k| k.retired_at.is_some()) {
            g.agent_private.remove(&k.kid);
        }
        if let Some(key) = new_private {
            g.agent_private.insert(key.kid().to_owned(), Arc::new(key));
        }
        g.agents.insert(id.clone(), record.clone());
        drop(g);
        self.bump();
        Ok(record)
    }

    fn agent_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        Ok(self.lock()?.agent_private.get(kid).cloned())
    }

    fn record_grant(&self, grant: &GrantRecord) -> Result<()> {
        let mut g = self.lock()?;
        if let Some(parent) = &grant.parent_id {
            g.children.entry(parent.clone()).or_default().push(grant.grant_id.clone());
        }
        g.grants.insert(grant.grant_id.clone(), grant.clone());
        Ok(())
    }

    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<Vec<String>> {
        let mut g = self.lock()?;
        let mut newly = Vec::new();
        let mut todo = vec![grant_id.to_owned()];
        while let Some(id) = todo.pop() {
            if g.revoked.contains_key(&id) && id != grant_id {
                continue;
            }
            if g.revoked.insert(id.clone(), now).is_none() {
                newly.push(id.clone());
            }
            if let Some(kids) = g.children.get(&id) {
                todo.extend(kids.iter().cloned());
            }
        }
        drop(g);
        self.bump();
        Ok(newly)
    }

    fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>> {
        Ok(self.lock()?.grants.get(grant_id).cloned())
    }

    fn grants_to(&self, actor: &PrincipalId) -> Result<Vec<GrantRecord>> {
        Ok(self.lock()?.grants.values().filter(|g| g.actor == *actor).cloned().collect())
    }

    fn upsert_resource(&self, resource: &ResourceRecord) -> Result<()> {
        self.lock()?.resources.insert(resource.id.clone(), resource.clone());
        self.bump();
        Ok(())
    }

    fn consume(
        &self,
        ops: &[CounterOp],
        approval: Option<ApprovalUse<'_>>,
        now: i64,
        commit: bool,
    ) -> Result<std::result::Result<(), ConsumeRefusal>> {
        let mut g = self.lock()?;
        if let Some(a) = &approval {
            if let Err(why) = approval::usable(g.approvals.get(a.id), a.action_hash, now) {
                return Ok(Err(ConsumeRefusal::Approval(why)));
            }
        }
        let counters = &g.counters;
        let plan = plan_counters(ops, &mut |key| Ok(counters.get(key).copied().unwrap_or((0.0, 0))))?;
        let updates = match plan {
            Ok(u) => u,
            Err(i) => return Ok(Err(ConsumeRefusal::Limit(i))),
        };
        if commit {
            for (key, value, window) in updates {
                g.counters.insert(key, (value, window));
            }
            if let Some(a) = approval {
                if let Some(rec) = g.approvals.get_mut(a.id) {
                    rec.status = ApprovalStatus::Consumed;
                }
            }
        }
        Ok(Ok(()))
    }

    fn open_approval(&self, request: &ApprovalRecord, now: i64, max_pending: usize) -> Result<Option<ApprovalRecord>> {
        let mut g = self.lock()?;
        let pending = |r: &&ApprovalRecord| r.status == ApprovalStatus::Pending && r.expires_at >= now;
        if let Some(rec) = g.approvals.values().filter(pending).find(|r| r.action_hash == request.action_hash) {
            return Ok(Some(rec.clone()));
        }
        if g.approvals.values().filter(pending).filter(|r| r.grant_id == request.grant_id).count() >= max_pending {
            return Ok(None);
        }
        g.approvals.insert(request.id.clone(), request.clone());
        Ok(Some(request.clone()))
    }

    fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>> {
        Ok(self.lock()?.approvals.get(id).cloned())
    }

    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        approver: &str,
        now: i64,
        receipt_expires_at: i64,
    ) -> Result<ApprovalRecord> {
        let mut g = self.lock()?;
        let rec = g
            .approvals
            .get_mut(id)
            .ok_or_else(|| Error::new(ErrorCode::ApprovalInvalid, format!("no approval request `{id}`")))?;
        approval::decide(rec, status, approver, now, receipt_expires_at)?;
        Ok(rec.clone())
    }

    fn use_proof(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool> {
        let mut g = self.lock()?;
        g.proofs.retain(|_, exp| *exp >= now);
        Ok(g.proofs.insert(jti.to_owned(), expires_at).is_none())
    }

    fn snapshot(&self) -> Result<StateSnapshot> {
        super::snapshot_collecting(self)
    }

    fn snapshot_each_agent(&self, each_agent: &mut dyn FnMut(AgentRecord) -> Result<()>) -> Result<StateSnapshot> {
        let g = self.lock()?;
        for record in g.agents.values() {
            each_agent(record.clone())?;
        }
        Ok(StateSnapshot {
            revoked: g.revoked.keys().cloned().collect(),
            agents: HashMap::new(),
            resources: g.resources.clone(),
            authority_keys: g.authority.clone(),
        })
    }

    fn revision(&self) -> Result<u64> {
        Ok(self.revision.load(Ordering::SeqCst))
    }
}

pub(super) fn record_of(key: &PrivateKey, now: i64) -> AuthorityKeyRecord {
    AuthorityKeyRecord {
        kid: key.kid().to_owned(),
        alg: key.alg(),
        jwk: key.public_key().to_jwk(),
        created_at: now,
        retired_at: None,
    }
}
