//! Names and scopes shared between the chains a runtime caches.
//!
//! Thousands of cached chains name the same few principals and grant the same few scope sets.
//! Each chain used to hold its own copy of every name and every scope (about 1 KB of a 2-link
//! chain); now equal values are one shared allocation. A scope set is shared only with one
//! equal to it in every field (`1` and `1.0` differ), a name only with the same text, and only
//! values of chains that passed every check are kept ([`Fresh`], then [`Interner::keep`]).
//! Nothing here depends on time or state, so nothing goes stale; the tables are bounded, and
//! hold nothing a cached chain does not hold already but their slots. Their locks follow the
//! caches' rule for a poisoned lock (`bounded.rs`): a read misses, a write starts over.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use crate::bounded::{read_or_miss, write_or_reset};
use crate::error::Result;
use crate::principal::PrincipalId;
use crate::scope::Scope;

/// The most distinct names kept.
pub const MAX_INTERNED_NAMES: usize = 8192;
/// The most distinct scope sets kept.
pub const MAX_INTERNED_SCOPE_SETS: usize = 8192;

/// Shared names and scope sets. A runtime's verifier keeps one (`runtime/verifier.rs`).
#[derive(Default)]
pub struct Interner {
    issuer: RwLock<Option<Arc<str>>>,
    names: RwLock<HashSet<PrincipalId>>,
    scopes: RwLock<ScopeSets>,
}

/// Scope sets by a fingerprint of their patterns; equal sets found by comparing in full.
#[derive(Default)]
struct ScopeSets {
    buckets: HashMap<u64, Vec<Arc<[Scope]>>>,
    len: usize,
}

/// What one chain's verification parsed that the interner did not have: kept for later
/// chains by [`Interner::keep`] once the whole chain has verified, dropped otherwise.
#[derive(Debug, Default)]
pub struct Fresh {
    names: Vec<PrincipalId>,
    scopes: Vec<(u64, Arc<[Scope]>)>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("names", &self.names.read().map(|m| m.len()).unwrap_or(0))
            .field("scope_sets", &self.scopes.read().map(|t| t.len).unwrap_or(0))
            .finish()
    }
}

/// What a poisoned table is reset to (the rule of `bounded.rs`: a poisoned cache is an empty
/// one).
fn reset<T: Default>(table: &mut T) {
    *table = T::default();
}

/// A fingerprint of a scope set's patterns: equal sets have equal fingerprints.
fn fingerprint(scopes: &[Scope]) -> u64 {
    let mut h = DefaultHasher::new();
    scopes.len().hash(&mut h);
    for s in scopes {
        s.actions.hash(&mut h);
        s.resources.hash(&mut h);
        s.data_classes.hash(&mut h);
        s.constraints.keys().for_each(|k| k.hash(&mut h));
    }
    h.finish()
}

impl Interner {
    /// The authority's issuer as link 0 names it (once checked), shared by every chain while it
    /// stays the same.
    pub fn issuer(&self, s: &str) -> Arc<str> {
        if let Some(hit) = read_or_miss(&self.issuer).and_then(|i| i.as_ref().filter(|i| ***i == *s).cloned()) {
            return hit;
        }
        let fresh: Arc<str> = Arc::from(s);
        *write_or_reset(&self.issuer, reset) = Some(Arc::clone(&fresh));
        fresh
    }

    /// `s` as a principal id ([`PrincipalId::parse`]), shared with every equal one kept or
    /// parsed earlier in this chain; a new one is noted in `fresh`.
    pub fn principal(&self, s: &str, fresh: &mut Fresh) -> Result<PrincipalId> {
        if let Some(hit) = read_or_miss(&self.names).and_then(|set| set.get(s).cloned()) {
            return Ok(hit);
        }
        if let Some(hit) = fresh.names.iter().find(|n| n.as_str() == s) {
            return Ok(hit.clone());
        }
        let id = PrincipalId::parse(s)?;
        fresh.names.push(id.clone());
        Ok(id)
    }

    /// `parsed` (a link's checked scopes), or an equal set kept from an earlier chain or
    /// parsed earlier in this one; a new set is noted in `fresh`.
    pub fn scopes(&self, parsed: Vec<Scope>, fresh: &mut Fresh) -> Arc<[Scope]> {
        let key = fingerprint(&parsed);
        let equal = |set: &&Arc<[Scope]>| set[..] == parsed[..];
        if let Some(hit) =
            read_or_miss(&self.scopes).and_then(|t| t.buckets.get(&key).and_then(|b| b.iter().find(equal).cloned()))
        {
            return hit;
        }
        if let Some((_, hit)) = fresh.scopes.iter().find(|(k, set)| *k == key && equal(&set)) {
            return Arc::clone(hit);
        }
        let set: Arc<[Scope]> = parsed.into();
        fresh.scopes.push((key, Arc::clone(&set)));
        set
    }

    /// Forgets every kept name and scope set (chains holding them keep their copies).
    pub fn clear(&self) {
        write_or_reset(&self.names, reset).clear();
        *write_or_reset(&self.scopes, reset) = ScopeSets::default();
        *write_or_reset(&self.issuer, reset) = None;
    }

    /// Keeps what a chain that verified parsed, for the chains after it.
    pub fn keep(&self, fresh: Fresh) {
        if !fresh.names.is_empty() {
            let mut set = write_or_reset(&self.names, reset);
            for id in fresh.names {
                if set.len() >= MAX_INTERNED_NAMES {
                    // Drop what no cached chain uses; if that frees less than half, start over.
                    set.retain(|n| n.shares() > 1);
                    if set.len() >= MAX_INTERNED_NAMES / 2 {
                        set.clear();
                    }
                }
                set.insert(id);
            }
        }
        if !fresh.scopes.is_empty() {
            let mut table = write_or_reset(&self.scopes, reset);
            for (key, set) in fresh.scopes {
                if table.len >= MAX_INTERNED_SCOPE_SETS {
                    // Drop what no cached chain uses; if that frees less than half, start over.
                    table.buckets.retain(|_, bucket| {
                        bucket.retain(|s| Arc::strong_count(s) > 1);
                        !bucket.is_empty()
                    });
                    table.len = table.buckets.values().map(Vec::len).sum();
                    if table.len >= MAX_INTERNED_SCOPE_SETS / 2 {
                        *table = ScopeSets::default();
                    }
                }
                let bucket = table.buckets.entry(key).or_default();
                if !bucket.iter().any(|s| s[..] == set[..]) {
                    bucket.push(set);
                    table.len += 1;
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn equal_names_share_one_allocation_once_kept_and_bad_names_are_refused() {
        let int = Interner::default();
        let mut fresh = Fresh::default();
        let a = int.principal("agent:acme/a", &mut fresh).unwrap();
        let same_chain = int.principal("agent:acme/a", &mut fresh).unwrap();
        assert!(std::ptr::eq(a.as_str(), same_chain.as_str()));
        // Not kept until the chain verified.
        let other = int.principal("agent:acme/a", &mut Fresh::default()).unwrap();
        assert!(!std::ptr::eq(a.as_str(), other.as_str()));
        int.keep(fresh);
        let later = int.principal("agent:acme/a", &mut Fresh::default()).unwrap();
        assert!(std::ptr::eq(a.as_str(), later.as_str()));
        let mut fresh = Fresh::default();
        assert_eq!(
            int.principal("agent:acme a", &mut fresh).err().map(|e| e.code()),
            Some(ErrorCode::PrincipalInvalid)
        );
        assert!(fresh.names.is_empty());
    }

    fn parse(details: serde_json::Value) -> Vec<Scope> {
        vec![Scope::from_wire(&details).unwrap()]
    }

    #[test]
    fn equal_scope_sets_are_shared_and_different_ones_never() {
        let int = Interner::default();
        let crm = || parse(serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"]}));
        let mut fresh = Fresh::default();
        let first = int.scopes(crm(), &mut fresh);
        let same_chain = int.scopes(crm(), &mut fresh);
        assert!(Arc::ptr_eq(&first, &same_chain));
        // Not kept until the chain verified.
        assert!(!Arc::ptr_eq(&first, &int.scopes(crm(), &mut Fresh::default())));
        int.keep(fresh);
        assert!(Arc::ptr_eq(&first, &int.scopes(crm(), &mut Fresh::default())));
        // Sets that differ in any field, including 1 and 1.0, are never shared.
        let variants = [
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["customer/*"]}),
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "datatypes": ["pii"]}),
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1}}}),
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1.0}}}),
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "limits": {"max_uses": 3}}),
        ];
        let mut fresh = Fresh::default();
        let kept: Vec<_> = variants.iter().map(|v| int.scopes(parse(v.clone()), &mut fresh)).collect();
        int.keep(fresh);
        for (v, k) in variants.iter().zip(&kept) {
            let again = int.scopes(parse(v.clone()), &mut Fresh::default());
            assert!(Arc::ptr_eq(k, &again), "{v}");
            assert!(!Arc::ptr_eq(&first, &again), "{v}");
            assert_eq!(again[..], parse(v.clone())[..]);
        }
    }

    #[test]
    fn full_tables_keep_what_chains_still_use() {
        let int = Interner::default();
        let mut fresh = Fresh::default();
        let kept = int.principal("agent:acme/kept", &mut fresh).unwrap();
        int.keep(fresh);
        for i in 0..MAX_INTERNED_NAMES + 10 {
            let mut fresh = Fresh::default();
            int.principal(&format!("agent:acme/n{i}"), &mut fresh).unwrap();
            int.keep(fresh);
        }
        let len = int.names.read().unwrap().len();
        assert!(len <= MAX_INTERNED_NAMES, "{len}");
        let again = int.principal("agent:acme/kept", &mut Fresh::default()).unwrap();
        assert!(std::ptr::eq(kept.as_str(), again.as_str()));
        // Scope sets are bounded too.
        for i in 0..MAX_INTERNED_SCOPE_SETS + 10 {
            let mut fresh = Fresh::default();
            int.scopes(vec![Scope::new([format!("a{i}.read")])], &mut fresh);
            int.keep(fresh);
        }
        let table = int.scopes.read().unwrap();
        let sets = table.buckets.values().map(Vec::len).sum::<usize>();
        assert_eq!(table.len, sets);
        assert!(sets <= MAX_INTERNED_SCOPE_SETS, "{sets}");
    }
}
