//! Names and scopes shared between the chains a runtime caches.
//!
//! Thousands of cached chains name the same few principals and grant the same few scope sets.
//! Each chain used to hold its own copy of every name and every scope (about 1 KB of a 2-link
//! chain); now equal values are one shared allocation. Only values of chains that passed every
//! check are kept ([`Fresh`], then [`Interner::keep`]), and only the parsed form of exactly the same input is reused: a scope set by the exact
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
/// The most JSON (string bytes, plus 16 per value) the kept scope sets' inputs may hold.
pub const MAX_INTERNED_SCOPE_WEIGHT: usize = 8 << 20;

/// Shared names and scope sets. A runtime keeps one; see [`super::AuthorityKeys::interner`].
#[derive(Default)]
pub struct Interner {
    issuer: RwLock<Option<Arc<str>>>,
    names: RwLock<HashSet<PrincipalId>>,
    scopes: RwLock<ScopeTable>,
}

#[derive(Default)]
struct ScopeTable {
    sets: HashMap<Vec<Value>, (Arc<[Scope]>, usize)>,
    weight: usize,
}

/// What one chain's verification parsed that the interner did not have: kept for later
/// chains by [`Interner::keep`] once the whole chain has verified, dropped otherwise.
#[derive(Debug, Default)]
pub struct Fresh {
    names: Vec<PrincipalId>,
    scopes: Vec<(Vec<Value>, Arc<[Scope]>)>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("names", &self.names.read().map(|m| m.len()).unwrap_or(0))
            .field("scope_sets", &self.scopes.read().map(|m| m.sets.len()).unwrap_or(0))
            .finish()
    }
}

impl Interner {
    /// The authority's issuer as link 0 names it (once checked), shared by every chain while it
    /// stays the same.
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

    /// `s` as a principal id ([`PrincipalId::parse`]), shared with every equal one kept or
    /// parsed earlier in this chain; a new one is noted in `fresh`.
    pub fn principal(&self, s: &str, fresh: &mut Fresh) -> Result<PrincipalId> {
        if let Some(hit) = self.names.read().ok().and_then(|set| set.get(s).cloned()) {
            return Ok(hit);
        }
        if let Some(hit) = fresh.names.iter().find(|n| n.as_str() == s) {
            return Ok(hit.clone());
        }
        let id = PrincipalId::parse(s)?;
        fresh.names.push(id.clone());
        Ok(id)
    }

    /// The scopes `details` parse to, shared with every chain kept (or link of this chain)
    /// granting exactly the same details. `parse` runs only when they are new; its result is
    /// noted in `fresh`, its errors never.
    pub fn scopes(
        &self,
        details: &[Value],
        fresh: &mut Fresh,
        parse: impl FnOnce() -> Result<Vec<Scope>>,
    ) -> Result<Arc<[Scope]>> {
        if let Some(hit) = self.scopes.read().ok().and_then(|t| t.sets.get(details).map(|(s, _)| Arc::clone(s))) {
            return Ok(hit);
        }
        if let Some((_, hit)) = fresh.scopes.iter().find(|(d, _)| d.as_slice() == details) {
            return Ok(Arc::clone(hit));
        }
        let parsed: Arc<[Scope]> = parse()?.into();
        fresh.scopes.push((details.to_vec(), Arc::clone(&parsed)));
        Ok(parsed)
    }

    /// Keeps what a chain that verified parsed, for the chains after it.
    pub fn keep(&self, fresh: Fresh) {
        if !fresh.names.is_empty() {
            if let Ok(mut set) = self.names.write() {
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
        }
        if !fresh.scopes.is_empty() {
            if let Ok(mut table) = self.scopes.write() {
                for (details, scopes) in fresh.scopes {
                    let weight = details.iter().map(weight_of).sum::<usize>();
                    if weight > MAX_INTERNED_SCOPE_WEIGHT / 4 {
                        continue;
                    }
                    if table.sets.len() >= MAX_INTERNED_SCOPE_SETS || table.weight + weight > MAX_INTERNED_SCOPE_WEIGHT
                    {
                        table.sets.retain(|_, (s, _)| Arc::strong_count(s) > 1);
                        table.weight = table.sets.values().map(|(_, w)| w).sum();
                        if table.sets.len() >= MAX_INTERNED_SCOPE_SETS / 2
                            || table.weight > MAX_INTERNED_SCOPE_WEIGHT / 2
                        {
                            table.sets.clear();
                            table.weight = 0;
                        }
                    }
                    if let Some((_, old)) = table.sets.insert(details, (scopes, weight)) {
                        table.weight -= old;
                    }
                    table.weight += weight;
                }
            }
        }
    }
}

/// About what a JSON value holds: its strings' bytes and 16 per value.
fn weight_of(v: &Value) -> usize {
    16 + match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(weight_of).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| k.len() + weight_of(v)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorCode};

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

    #[test]
    fn scopes_are_parsed_once_per_exact_input_and_errors_are_not_kept() {
        let int = Interner::default();
        let details = vec![serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"]})];
        let mut parses = 0;
        let mut parse = |d: &[Value]| {
            parses += 1;
            d.iter().map(Scope::from_wire).collect::<Result<Vec<_>>>()
        };
        let mut fresh = Fresh::default();
        let first = int.scopes(&details, &mut fresh, || parse(&details)).unwrap();
        let same_chain = int.scopes(&details, &mut fresh, || parse(&details)).unwrap();
        assert!(Arc::ptr_eq(&first, &same_chain));
        int.keep(fresh);
        let again = int.scopes(&details, &mut Fresh::default(), || parse(&details)).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // 1 and 1.0 are different JSON: parsed separately.
        let one = vec![
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1}}}),
        ];
        let one_f = vec![
            serde_json::json!({"type": "rid_scope", "actions": ["crm.read"], "locations": ["*"], "constraints": {"n": {"max": 1.0}}}),
        ];
        let mut fresh = Fresh::default();
        int.scopes(&one, &mut fresh, || parse(&one)).unwrap();
        int.scopes(&one_f, &mut fresh, || parse(&one_f)).unwrap();
        int.keep(fresh);
        let failing = || Err(Error::new(ErrorCode::ScopeInvalid, "no"));
        let mut fresh = Fresh::default();
        assert!(int.scopes(&[Value::Null], &mut fresh, failing).is_err());
        assert!(fresh.scopes.is_empty());
        assert_eq!(parses, 3);
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
        // Scope sets are bounded by their inputs' size too.
        let big = |i: usize| {
            vec![
                serde_json::json!({"type": "rid_scope", "actions": [format!("a{i}.{}", "x".repeat(100_000))], "locations": ["*"]}),
            ]
        };
        for i in 0..200 {
            let d = big(i);
            let mut fresh = Fresh::default();
            int.scopes(&d, &mut fresh, || Ok(vec![Scope::new(["crm.read"])])).unwrap();
            int.keep(fresh);
        }
        let table = int.scopes.read().unwrap();
        assert!(table.weight <= MAX_INTERNED_SCOPE_WEIGHT, "{}", table.weight);
        assert_eq!(table.weight, table.sets.values().map(|(_, w)| w).sum::<usize>());
    }
}
