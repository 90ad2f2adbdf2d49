//! A store that breaks during a check makes the check deny with `internal_error`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use runtime_identity::approval::{ApprovalRecord, ApprovalStatus};
use runtime_identity::limits::{ConsumeRefusal, CounterOp};
use runtime_identity::store::{
    ApprovalUse, AuditAnchor, AuthorityKeyRecord, GrantRecord, MemoryStore, ResourceRecord, StateSnapshot, Store,
    StoredCheckpoint,
};
use runtime_identity::CheckRequest;
use runtime_identity::{AgentFilter, AgentRecord};
use runtime_identity::{Error, ErrorCode, FixedClock, PrincipalId, PrivateKey, ReasonCode, Result, Runtime};

/// A memory store whose reads and writes fail once `broken` is set.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStore,
    broken: AtomicBool,
    /// Its snapshot files one agent's record under a second key too.
    twin: AtomicBool,
}

impl Flaky {
    fn gate(&self) -> Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            Err(Error::new(ErrorCode::StoreUnavailable, "disk on fire"))
        } else {
            Ok(())
        }
    }
}

impl Store for Flaky {
    fn init_issuer(&self, issuer: &str) -> Result<String> {
        self.gate()?;
        self.inner.init_issuer(issuer)
    }
    fn issuer(&self) -> Result<Option<String>> {
        self.gate()?;
        self.inner.issuer()
    }
    fn authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        self.gate()?;
        self.inner.authority_keys()
    }
    fn authority_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        self.gate()?;
        self.inner.authority_private_key(kid)
    }
    fn ensure_authority_key(&self, make: &mut dyn FnMut() -> Result<PrivateKey>, now: i64) -> Result<()> {
        self.gate()?;
        self.inner.ensure_authority_key(make, now)
    }
    fn rotate_authority_key(&self, key: PrivateKey, now: i64) -> Result<()> {
        self.gate()?;
        self.inner.rotate_authority_key(key, now)
    }
    fn remove_authority_key(&self, kid: &str) -> Result<bool> {
        self.gate()?;
        self.inner.remove_authority_key(kid)
    }
    fn removed_authority_keys(&self) -> Result<Vec<AuthorityKeyRecord>> {
        self.gate()?;
        self.inner.removed_authority_keys()
    }
    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        self.gate()?;
        self.inner.get_meta(key)
    }
    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.gate()?;
        self.inner.set_meta(key, value)
    }
    fn audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.gate()?;
        self.inner.audit_checkpoint()
    }
    fn save_audit_checkpoint(&self, cp: &StoredCheckpoint) -> Result<()> {
        self.gate()?;
        self.inner.save_audit_checkpoint(cp)
    }
    fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        self.gate()?;
        self.inner.audit_anchor()
    }
    fn save_audit_anchor(&self, anchor: &AuditAnchor) -> Result<()> {
        self.gate()?;
        self.inner.save_audit_anchor(anchor)
    }
    fn insert_agent(&self, record: &AgentRecord, private: Option<PrivateKey>) -> Result<()> {
        self.gate()?;
        self.inner.insert_agent(record, private)
    }
    fn get_agent(&self, id: &PrincipalId) -> Result<Option<AgentRecord>> {
        self.gate()?;
        self.inner.get_agent(id)
    }
    fn list_agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        self.gate()?;
        self.inner.list_agents(filter)
    }
    fn update_agent(
        &self,
        id: &PrincipalId,
        change: &mut dyn FnMut(&mut AgentRecord) -> Result<()>,
        new_private: Option<PrivateKey>,
    ) -> Result<AgentRecord> {
        self.gate()?;
        self.inner.update_agent(id, change, new_private)
    }
    fn agent_private_key(&self, kid: &str) -> Result<Option<Arc<PrivateKey>>> {
        self.gate()?;
        self.inner.agent_private_key(kid)
    }
    fn record_grant(&self, grant: &GrantRecord) -> Result<()> {
        self.gate()?;
        self.inner.record_grant(grant)
    }
    fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<Vec<String>> {
        self.gate()?;
        self.inner.revoke_grant(grant_id, now)
    }
    fn get_grant(&self, grant_id: &str) -> Result<Option<GrantRecord>> {
        self.gate()?;
        self.inner.get_grant(grant_id)
    }
    fn grants_to(&self, actor: &runtime_identity::PrincipalId) -> Result<Vec<GrantRecord>> {
        self.gate()?;
        self.inner.grants_to(actor)
    }
    fn upsert_resource(&self, resource: &ResourceRecord) -> Result<()> {
        self.gate()?;
        self.inner.upsert_resource(resource)
    }
    fn consume(
        &self,
        ops: &[CounterOp],
        approval: Option<ApprovalUse<'_>>,
        now: i64,
        commit: bool,
    ) -> Result<std::result::Result<(), ConsumeRefusal>> {
        self.gate()?;
        self.inner.consume(ops, approval, now, commit)
    }
    fn open_approval(&self, request: &ApprovalRecord, now: i64, max_pending: usize) -> Result<Option<ApprovalRecord>> {
        self.gate()?;
        self.inner.open_approval(request, now, max_pending)
    }
    fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>> {
        self.gate()?;
        self.inner.get_approval(id)
    }
    fn decide_approval(
        &self,
        id: &str,
        status: ApprovalStatus,
        approver: &str,
        now: i64,
        exp: i64,
    ) -> Result<ApprovalRecord> {
        self.gate()?;
        self.inner.decide_approval(id, status, approver, now, exp)
    }
    fn use_proof(&self, jti: &str, expires_at: i64, now: i64) -> Result<bool> {
        self.gate()?;
        self.inner.use_proof(jti, expires_at, now)
    }
    fn snapshot(&self) -> Result<StateSnapshot> {
        self.gate()?;
        let mut snap = self.inner.snapshot()?;
        if self.twin.load(Ordering::SeqCst) {
            if let Some(record) = snap.agents.values().next().cloned() {
                snap.agents.insert("a second key".into(), record);
            }
        }
        Ok(snap)
    }
    fn revision(&self) -> Result<u64> {
        self.gate()?;
        self.inner.revision()
    }
}

#[test]
fn a_store_error_during_a_check_denies_with_internal_error() {
    let store = Arc::new(Flaky::default());
    let rt = Runtime::with_store(store.clone(), options(&FixedClock::at(NOW))).unwrap();
    let limited = scope(serde_json::json!({"actions": ["crm.read"], "limits": {"max_uses": 5}}));
    let cred = bot_grant(&rt, vec![limited]);
    let none = serde_json::Map::new();
    let req =
        CheckRequest { action: "crm.read", resource: Some("customer/1"), args: Some(&none), ..Default::default() };
    assert!(rt.check(cred.token(), &req).allowed);
    store.broken.store(true, Ordering::SeqCst);
    let d = rt.check(cred.token(), &req);
    assert!(!d.allowed);
    assert_eq!(d.code(), Some(ReasonCode::InternalError), "{d:?}");
    assert!(d.reasons[0].message.contains("disk on fire"));
    // The same through a verified credential.
    assert_eq!(rt.check(&cred, &req).code(), Some(ReasonCode::InternalError));
    store.broken.store(false, Ordering::SeqCst);
    assert!(rt.check(cred.token(), &req).allowed);
}

#[test]
fn a_store_that_files_an_agent_twice_is_refused() {
    let store = Arc::new(Flaky::default());
    let rt = Runtime::with_store(store.clone(), options(&FixedClock::at(NOW))).unwrap();
    bot_grant(&rt, vec![scope(serde_json::json!({"actions": ["crm.read"]}))]);
    store.twin.store(true, Ordering::SeqCst);
    let e = Runtime::with_store(store.clone(), options(&FixedClock::at(NOW))).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreCorrupt);
    assert!(e.message().contains(BOT), "{e}");
}
