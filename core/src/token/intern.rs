//! Names and scopes shared between the chains a runtime caches.
//!
//! Thousands of cached chains name the same few principals and grant the same few scope sets.
//! Each chain used to hold its own copy of every name and every scope (about 1 KB of a 2-link
//! chain); now equal values are one shared allocation. Only values that passed every check are
//! kept, and only the parsed form of exactly the same input is reused: a scope set by the exact
//! `authorization_details` JSON values it was parsed from, a name by its exact text. Nothing
//! here depends on time or state, so nothing goes stale; the tables are bounded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::error::Result;
use crate::principal::PrincipalId;
use crate::scope::Scope;

/// The most distinct names kept.
pub const MAX_INTERNED_NAMES: usize = 8192;
/// The most distinct scope sets kept.
pub const MAX_INTERNED_SCOPE_SETS: usize = 2048;

/// Shared names and scope sets. A runtime keeps one; see [`super::AuthorityKeys::interner`].
#[derive(Default)]
pub struct Interner {
    issuer: RwLock<Option<Arc<str>>>,
    names: RwLock<HashSet<PrincipalId>>,
    scopes: RwLock<HashMap<Vec<Value>, Arc<[Scope]>>>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("names", &self.names.read().map(|m| m.len()).unwrap_or(0))
            .field("scope_sets", &self.scopes.read().map(|m| m.len()).unwrap_or(0))
            .finish()
    }
}

impl Interner {
    /// The authority's issuer as link 0 names it, shared by every chain while it stays the same.
    pub fn issuer(&self, s: &str) -> Arc<str> {
        if let Some(hit) = self.issuer.read().ok().and_then(|i| i.as_ref().filter(|i| ***i == *s).cloned()) {
            return hit;
        }
        let fresh: Arc<str> = Arc::from(s);
        if let Ok(mut slot) = self.issuer.write() {
            *slot = Some(Arc::clone(&fresh));
        }
        fresh
    }

    /// `s` as a principal id ([`PrincipalId::parse`]), shared with every earlier equal one.
    pub fn principal(&self, s: &str) -> Result<PrincipalId> {
        if let Some(hit) = self.names.read().ok().and_then(|set| set.get(s).cloned()) {
            return Ok(hit);
        }
        let id = PrincipalId::parse(s)?;
        if let Ok(mut set) = self.names.write() {
            make_room(&mut *set, MAX_INTERNED_NAMES, |set| set.retain(|n| n.shares() > 1));
            set.insert(id.clone());
        }
        Ok(id)
    }

    /// The scopes `details` parse to, shared with every earlier chain granting exactly the same
    /// details. `parse` runs (and its result is kept) only when they are new; errors are
    /// never kept.
    pub fn scopes(&self, details: &[Value], parse: impl FnOnce() -> Result<Vec<Scope>>) -> Result<Arc<[Scope]>> {
        if let Some(hit) = self.scopes.read().ok().and_then(|map| map.get(details).cloned()) {
            return Ok(hit);
        }
        let parsed: Arc<[Scope]> = parse()?.into();
        if let Ok(mut map) = self.scopes.write() {
            make_room(&mut *map, MAX_INTERNED_SCOPE_SETS, |map| map.retain(|_, s| Arc::strong_count(s) > 1));
            map.insert(details.to_vec(), Arc::clone(&parsed));
        }
        Ok(parsed)
    }
}

/// A bounded table: when full, drop what no cached chain uses; if that frees less than half,
/// start over.
fn make_room<T: Len>(table: &mut T, max: usize, drop_unused: impl FnOnce(&mut T)) {
    if table.len() < max {
        return;
    }
    drop_unused(table);
    if table.len() >= max / 2 {
        table.clear();
    }
}

trait Len {
    fn len(&self) -> usize;
    fn clear(&mut self);
}

impl<T> Len for HashSet<T> {
    fn len(&self) -> usize {
        HashSet::len(self)
    }
    fn clear(&mut self) {
        HashSet::clear(self);
    }
}

impl<K, V> Len for HashMap<K, V> {
    fn len(&self) -> usize {
        HashMap::len(self)
    }
    fn clear(&mut self) {
        HashMap::clear(self);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorCode};

    #[test]
    fn equal_names_share_one_allocation_and_bad_names_are_refused() {
        let int = Interner::default();
        let a = int.principal("agent:acme/a").unwrap();
        let b = int.principal("agent:acme/a").unwrap();
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_ne!(int.principal("agent:acme/b").unwrap(), a);
        assert_eq!(int.principal("agent:acme a").err().map(|e| e.code()), Some(ErrorCode::PrincipalInvalid));
        assert_eq!(int.principal("agent:acme a").err().map(|e| e.code()), Some(ErrorCode::PrincipalInvalid));
    }

    #[test]
    fn scopes_are_parsed_once_per_exact_input_and_errors_are_not_kept() {
        let int = Interner::default();
        let details = vec![serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"]})];
        let mut parses = 0;
        let mut parse = |d: &[Value]| {
            parses += 1;
            d.iter().map(Scope::from_wire).collect::<Result<Vec<_>>>()
        };
        let first = int.scopes(&details, || parse(&details)).unwrap();
        let again = int.scopes(&details, || parse(&details)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // 1 and 1.0 are different JSON: parsed separately.
        let other = vec![
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1}}}),
        ];
        let other_f = vec![
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1.0}}}),
        ];
        int.scopes(&other, || parse(&other)).unwrap();
        int.scopes(&other_f, || parse(&other_f)).unwrap();
        let failing = || Err(Error::new(ErrorCode::ScopeInvalid, "no"));
        assert!(int.scopes(&[Value::Null], failing).is_err());
        assert!(int.scopes(&[Value::Null], failing).is_err());
        assert_eq!(parses, 3);
    }

    #[test]
    fn a_full_table_keeps_what_chains_still_use() {
        let int = Interner::default();
        let kept = int.principal("agent:acme/kept").unwrap();
        for i in 0..MAX_INTERNED_NAMES + 10 {
            int.principal(&format!("agent:acme/n{i}")).unwrap();
        }
        let len = int.names.read().unwrap().len();
        assert!(len <= MAX_INTERNED_NAMES, "{len}");
        let again = int.principal("agent:acme/kept").unwrap();
        assert!(std::ptr::eq(kept.as_str(), again.as_str()));
    }
}
