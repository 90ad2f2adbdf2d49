//! Action names and the groups they belong to.
//!
//! An exact action is dot-separated segments of `A-Z a-z 0-9 _ -` (`payments.refund`). Its
//! groups are named with our scope pattern syntax: `payments.refund` is in `payments.*` and
//! `*`; `a.b.c` is in `a.b.*`, `a.*` and `*`. A group is identified internally by its prefix
//! (`a.b` for `a.b.*`, the empty string for `*`). An action name that is not well formed
//! belongs to `*` alone, as in scope matching.

use std::collections::HashSet;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid};

/// Whether `s` is an exact action name.
pub(crate) fn is_exact_action(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// The prefix of a group name: `Some("a.b")` for `a.b.*`, `Some("")` for `*`, else `None`.
pub(crate) fn group_prefix(s: &str) -> Option<&str> {
    if s == "*" {
        return Some("");
    }
    s.strip_suffix(".*").filter(|p| is_exact_action(p))
}

/// The group name of a prefix: `a.b` → `a.b.*`, the empty prefix → `*`.
pub(crate) fn group_name(prefix: &str) -> String {
    if prefix.is_empty() {
        "*".to_owned()
    } else {
        format!("{prefix}.*")
    }
}

/// The prefixes of the groups `name` is in, deepest first, ending with `""` (`*`). `name` may
/// be an exact action or a group (a group's own prefix is not included).
pub(crate) fn group_prefixes(name: &str) -> impl Iterator<Item = &str> {
    let base = match group_prefix(name) {
        Some(prefix) => Some(prefix).filter(|p| !p.is_empty()),
        None => Some(name).filter(|n| is_exact_action(n)),
    };
    let start = base.and_then(|b| b.rfind('.').and_then(|i| b.get(..i)));
    std::iter::successors(start, |s| s.rfind('.').and_then(|i| s.get(..i)))
        .chain(std::iter::once(""))
        .filter(move |_| name != "*")
}

/// The Cedar entity of the request's action: parents are all of its groups (listed directly,
/// since group entities are not in the store for the closure to go through).
pub(crate) fn action_entity(ty: &EntityTypeName, action: &str) -> (EntityUid, Entity) {
    let uid = action_uid(ty, action);
    let parents: HashSet<EntityUid> = group_prefixes(action).map(|p| action_uid(ty, &group_name(p))).collect();
    (uid.clone(), Entity::new_no_attrs(uid, parents))
}

/// `Action::"<name>"`.
pub(crate) fn action_uid(ty: &EntityTypeName, name: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(name))
}
