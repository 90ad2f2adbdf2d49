//! Policies sliced by action, so a call evaluates only the policies whose action scope can
//! match it and latency does not grow with unrelated policies.
//!
//! Slices are built once at load: the universal slice (policies with an unconstrained
//! `action`), one slice per exact action a scope names (its own policies plus those of every
//! group above it), and one per group a scope names (its policies plus those of the groups
//! above). A call on action `a.b.c` evaluates the universal slice and the slice of `a.b.c` if
//! a scope names it, else that of the deepest named group among `a.b.*`, `a.*`, `*`: the
//! groups named above that one are exactly the named groups `a.b.c` is in, so nothing that
//! could match is left out. Conditions that test `action` are not used for slicing: such
//! policies are in the universal slice when their scope is unconstrained, and otherwise are
//! evaluated with their scope's slice as usual.

use std::collections::{BTreeSet, HashMap};

use cedar_policy::{Effect, PolicyId, PolicySet};

use super::actions::{group_name, group_prefix, group_prefixes};
use super::load::{ActionScope, Flags, LoadedPolicy};
use crate::error::{Error, ErrorCode, Result};

/// The policies of one slice, split so that satisfied permits are reported even when a
/// forbid holds (Cedar reports only the forbids then).
#[derive(Debug, Default)]
pub(crate) struct Slice {
    /// `forbid` policies.
    pub(crate) restrict: PolicySet,
    /// `permit` policies, including `@approval` ones.
    pub(crate) allow: PolicySet,
    /// Whether a policy names an action group, so the call's action entity must carry its
    /// groups (otherwise it is left out of the store: `action in` an exact action and
    /// `action ==` need no entity).
    pub(crate) needs_action_groups: bool,
    /// Whether a policy can read `context.now`.
    pub(crate) reads_now: bool,
}

impl Slice {
    fn new<'p>(policies: impl IntoIterator<Item = &'p LoadedPolicy>) -> Result<Self> {
        let mut slice = Slice::default();
        for lp in policies {
            slice.needs_action_groups |= !lp.named.groups.is_empty();
            slice.reads_now |= lp.reads_now;
            let set = match lp.policy.effect() {
                Effect::Forbid => &mut slice.restrict,
                Effect::Permit => &mut slice.allow,
            };
            set.add(lp.policy.clone())
                .map_err(|e| Error::new(ErrorCode::InternalError, format!("cannot build a policy slice: {e}")))?;
        }
        Ok(slice)
    }

    fn is_empty(&self) -> bool {
        self.restrict.is_empty() && self.allow.is_empty()
    }
}

/// All slices.
#[derive(Debug, Default)]
pub(crate) struct Index {
    universal: Slice,
    exact: HashMap<String, Slice>,
    groups: HashMap<String, Slice>,
    flags: HashMap<PolicyId, Flags>,
}

impl Index {
    /// Slices `policies`.
    pub(crate) fn build(policies: &[LoadedPolicy]) -> Result<Self> {
        let mut universal = Vec::new();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, lp) in policies.iter().enumerate() {
            match &lp.scope {
                ActionScope::Any => universal.push(i),
                ActionScope::Names(names) => names.iter().for_each(|n| by_name.entry(n.as_str()).or_default().push(i)),
            }
        }
        // A slice's members: the policies naming `name`, then those naming a group above it.
        let members = |name: &str| -> BTreeSet<usize> {
            let above = group_prefixes(name).map(group_name);
            let own = by_name.get(name).into_iter().flatten().copied();
            own.chain(above.flat_map(|g| by_name.get(g.as_str()).into_iter().flatten().copied().collect::<Vec<_>>()))
                .collect()
        };
        let pick = |set: BTreeSet<usize>| Slice::new(set.into_iter().filter_map(|i| policies.get(i)));
        let flags =
            policies.iter().filter(|lp| lp.flags.any()).map(|lp| (lp.policy.id().clone(), lp.flags.clone())).collect();
        let universal = Slice::new(universal.iter().filter_map(|i| policies.get(*i)))?;
        let mut index = Index { universal, flags, ..Self::default() };
        for name in by_name.keys() {
            let slice = pick(members(name))?;
            match group_prefix(name) {
                Some(prefix) => index.groups.insert(prefix.to_owned(), slice),
                None => index.exact.insert((*name).to_owned(), slice),
            };
        }
        Ok(index)
    }

    /// The universal slice, if it holds any policy.
    pub(crate) fn universal(&self) -> Option<&Slice> {
        Some(&self.universal).filter(|s| !s.is_empty())
    }

    /// The slice of policies whose scope names `action` or a group it is in.
    pub(crate) fn lookup(&self, action: &str) -> Option<&Slice> {
        self.exact.get(action).or_else(|| group_prefixes(action).find_map(|p| self.groups.get(p)))
    }

    /// What an `@approval` / `@proof` policy flags (kept here: Cedar's annotation lookup
    /// parses its key on every call).
    pub(crate) fn flags(&self, id: &PolicyId) -> Option<&Flags> {
        self.flags.get(id)
    }

    /// How many action-specific slices were built.
    pub(crate) fn slice_count(&self) -> usize {
        self.exact.len() + self.groups.len()
    }
}
