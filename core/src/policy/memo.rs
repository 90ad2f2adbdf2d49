//! Outcomes of recent calls, so a call Cedar has already judged is not judged again.
//!
//! Cedar's answer is a function of the policies and the request alone. An entry is kept only
//! when every input of that request is part of its key and compared exactly on lookup (the
//! key is made by one destructuring of the request that names every field, `Parts::of`, so a
//! new field does not compile until it is decided here):
//!
//! * the policies: the memo belongs to one [`super::PolicyEngine`] and goes with it on reload;
//! * the agent and resource entities: by the caller's `entities_version` (the runtime numbers
//!   each view of the store it loads, and never reuses a number), their ids and the resource's
//!   data class; a call passing attributes of its own (no version) is never memoized;
//! * the action, the arguments (compared value by value, numbers by their exact JSON form),
//!   the delegation (`depth`, `on_behalf_of`, `purpose`, `grant_id`);
//! * `context.now` only when a policy of the call's slices can read it ([`reads_now`]);
//! * a call passing `env` or `risk` is never memoized.
//!
//! What a cached outcome never stands for: the credential, the agent's status, revocation,
//! limits, approvals and proofs are all checked by the caller on every call, outside this memo.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::outcome::PolicyOutcome;
use super::{AgentEntity, DelegationContext, PolicyRequest, ResourceEntity};
use crate::bounded::SharedMap;

/// The most outcomes kept (by distinct hash); the oldest goes when it is full.
const MAX_ENTRIES: usize = 4096;
/// Calls whose key is larger (its strings' bytes, and 32 per JSON value for the value's own
/// memory) are not memoized: an entry keeps a copy of it. The memo holds at most
/// `MAX_ENTRIES` × this, a few MiB.
const MAX_KEY_BYTES: usize = 1024;

/// Whether the policy (Cedar's JSON form) can read `context.now`: it names `now` on `context`,
/// or uses `context` as a whole. Conservative: any other use of the bare `context` counts.
pub(crate) fn reads_now(est: &Value) -> bool {
    match est {
        Value::Object(m) => {
            if m.get("Var").and_then(Value::as_str) == Some("context") {
                return true;
            }
            for op in [".", "has"] {
                if let Some(Value::Object(access)) = m.get(op) {
                    let on_context =
                        access.get("left").and_then(|l| l.get("Var")).and_then(Value::as_str) == Some("context");
                    if on_context {
                        return access.get("attr").and_then(Value::as_str).is_none_or(|a| a == "now");
                    }
                }
            }
            m.values().any(reads_now)
        }
        Value::Array(items) => items.iter().any(reads_now),
        _ => false,
    }
}

/// The fields of a request a memoized outcome is keyed on, borrowed from it. Made only by
/// [`Parts::of`], which destructures the request without `..`: a new field of
/// [`PolicyRequest`] (or of its agent, resource or delegation) does not compile there until
/// the memo decides about it — key on it, or say why it need not. A stale allow is then
/// impossible by construction.
struct Parts<'a> {
    version: u64,
    principal: &'a str,
    action: &'a str,
    resource: &'a str,
    data_class: Option<&'a str>,
    args: &'a Map<String, Value>,
    depth: i64,
    on_behalf_of: &'a str,
    purpose: Option<&'a str>,
    grant_id: &'a str,
    now: Option<i64>,
}

impl<'a> Parts<'a> {
    /// What the memo keys `req` on; `None` when the call cannot be memoized. `reads_now`: a
    /// policy of the call's slices can read `context.now`.
    fn of(req: &PolicyRequest<'a>, reads_now: bool) -> Option<Self> {
        let PolicyRequest {
            // The agent's other attributes belong to the caller's view of the store, which
            // `entities_version` names.
            principal: AgentEntity { id: principal, owner: _, org: _, status: _, attributes: _ },
            action,
            // Registered attributes belong to the view too; a call passing attributes of its
            // own has no version, and is never memoized.
            resource: ResourceEntity { id: resource, data_class, attributes: _ },
            args,
            delegation: DelegationContext { depth, on_behalf_of, purpose, grant_id },
            // Application objects: a call passing either is never memoized.
            env,
            risk,
            // Keyed on only when a policy can read it.
            now,
            entities_version,
        } = *req;
        let version = entities_version?;
        if !absent(env) || !absent(risk) {
            return None;
        }
        let now = reads_now.then_some(now);
        Some(Self {
            version,
            principal,
            action,
            resource,
            data_class,
            args,
            depth,
            on_behalf_of,
            purpose,
            grant_id,
            now,
        })
    }

    /// The hash of every part (seeded), and the key's size (see [`MAX_KEY_BYTES`]).
    fn hash(&self, seed: &RandomState) -> (u64, usize) {
        let Self {
            version,
            principal,
            action,
            resource,
            data_class,
            args,
            depth,
            on_behalf_of,
            purpose,
            grant_id,
            now,
        } = self;
        let mut h = seed.build_hasher();
        let mut size = 0usize;
        version.hash(&mut h);
        now.hash(&mut h);
        principal.hash(&mut h);
        action.hash(&mut h);
        resource.hash(&mut h);
        data_class.hash(&mut h);
        depth.hash(&mut h);
        on_behalf_of.hash(&mut h);
        purpose.hash(&mut h);
        grant_id.hash(&mut h);
        hash_map(args, &mut h, &mut size);
        let strings = [principal, action, resource, on_behalf_of, grant_id];
        size += strings.iter().map(|s| s.len()).sum::<usize>() + purpose.map_or(0, str::len);
        (h.finish(), size)
    }

    /// Whether `self` and `other` are the same key, compared exactly (arguments by [`same`]).
    fn matches(&self, other: &Parts<'_>) -> bool {
        let Self {
            version,
            principal,
            action,
            resource,
            data_class,
            args,
            depth,
            on_behalf_of,
            purpose,
            grant_id,
            now,
        } = self;
        *version == other.version
            && *now == other.now
            && *depth == other.depth
            && **principal == *other.principal
            && **action == *other.action
            && **resource == *other.resource
            && *data_class == other.data_class
            && **grant_id == *other.grant_id
            && **on_behalf_of == *other.on_behalf_of
            && *purpose == other.purpose
            && same_map(args, other.args)
    }
}

/// [`Parts`], owned: everything a memoized outcome was computed from.
#[derive(Debug)]
struct Key {
    version: u64,
    principal: Box<str>,
    action: Box<str>,
    resource: Box<str>,
    data_class: Option<Box<str>>,
    args: Map<String, Value>,
    depth: i64,
    on_behalf_of: Box<str>,
    purpose: Option<Box<str>>,
    grant_id: Box<str>,
    now: Option<i64>,
}

impl Key {
    fn new(parts: &Parts<'_>) -> Self {
        let Parts {
            version,
            principal,
            action,
            resource,
            data_class,
            args,
            depth,
            on_behalf_of,
            purpose,
            grant_id,
            now,
        } = *parts;
        Self {
            version,
            principal: principal.into(),
            action: action.into(),
            resource: resource.into(),
            data_class: data_class.map(Into::into),
            args: args.clone(),
            depth,
            on_behalf_of: on_behalf_of.into(),
            purpose: purpose.map(Into::into),
            grant_id: grant_id.into(),
            now,
        }
    }

    fn parts(&self) -> Parts<'_> {
        let Self {
            version,
            principal,
            action,
            resource,
            data_class,
            args,
            depth,
            on_behalf_of,
            purpose,
            grant_id,
            now,
        } = self;
        Parts {
            version: *version,
            principal,
            action,
            resource,
            data_class: data_class.as_deref(),
            args,
            depth: *depth,
            on_behalf_of,
            purpose: purpose.as_deref(),
            grant_id,
            now: *now,
        }
    }
}

/// Equal as JSON text: same members in the same order, numbers of the same kind and bits
/// (so `1`, `1.0` and `-0.0`/`0.0` are different keys).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (None, None, Some(i), Some(j)) => i == j,
            (None, None, None, None) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => same_map(x, y),
        _ => false,
    }
}

fn same_map(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
}

/// Feeds `v` to `h` (consistent with [`same`]) and adds its size to `size`.
fn hash_value(v: &Value, h: &mut impl Hasher, size: &mut usize) {
    match v {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        Value::Number(n) => {
            h.write_u8(2);
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => h.write_i64(i),
                (None, Some(u)) => h.write_u64(u),
                (None, None) => h.write_u64(n.as_f64().map_or(0, f64::to_bits)),
            }
        }
        Value::String(s) => {
            h.write_u8(3);
            s.hash(h);
            *size = size.saturating_add(s.len());
        }
        Value::Array(items) => {
            h.write_u8(4);
            h.write_usize(items.len());
            items.iter().for_each(|i| hash_value(i, h, size));
        }
        Value::Object(m) => {
            h.write_u8(5);
            hash_map(m, h, size);
        }
    }
    *size = size.saturating_add(32);
}

fn hash_map(m: &Map<String, Value>, h: &mut impl Hasher, size: &mut usize) {
    h.write_usize(m.len());
    for (k, v) in m {
        k.hash(h);
        *size = size.saturating_add(k.len());
        hash_value(v, h, size);
    }
}

/// The outcomes whose keys share one hash.
type Bucket = Vec<(Key, Arc<PolicyOutcome>)>;

/// Recent outcomes by the hash of their key (randomly seeded: callers choose arguments), in a
/// [`SharedMap`]: the oldest goes when it is full, and a poisoned lock is an empty memo (Cedar
/// judges the call again).
#[derive(Debug)]
pub(crate) struct OutcomeMemo {
    seed: RandomState,
    entries: SharedMap<u64, Bucket>,
}

impl Default for OutcomeMemo {
    fn default() -> Self {
        Self { seed: RandomState::new(), entries: SharedMap::new(MAX_ENTRIES) }
    }
}

/// A lookup's place in the memo, to store the outcome under once it is computed.
pub(crate) struct Slot {
    hash: u64,
    key: Key,
}

impl OutcomeMemo {
    /// The outcome of an identical earlier call, or the slot to store this call's under;
    /// `(None, None)` when the call cannot be memoized. `reads_now`: a policy of the call's
    /// slices can read `context.now`.
    pub(crate) fn lookup(
        &self,
        req: &PolicyRequest<'_>,
        reads_now: bool,
    ) -> (Option<Arc<PolicyOutcome>>, Option<Slot>) {
        let Some(parts) = Parts::of(req, reads_now) else { return (None, None) };
        let (hash, size) = parts.hash(&self.seed);
        if size > MAX_KEY_BYTES {
            return (None, None);
        }
        let hit = self
            .entries
            .read(|m| m.get(&hash)?.iter().find(|(k, _)| k.parts().matches(&parts)).map(|(_, o)| Arc::clone(o)))
            .flatten();
        match hit {
            Some(o) => (Some(o), None),
            None => (None, Some(Slot { hash, key: Key::new(&parts) })),
        }
    }

    /// Keeps `outcome` for calls identical to the one looked up.
    pub(crate) fn store(&self, slot: Slot, outcome: Arc<PolicyOutcome>) {
        let Slot { hash, key } = slot;
        self.entries.write(|map| match map.get_mut(&hash) {
            Some(bucket) => {
                if !bucket.iter().any(|(k, _)| k.parts().matches(&key.parts())) {
                    bucket.push((key, outcome));
                }
            }
            None => map.insert(hash, vec![(key, outcome)]),
        });
    }
}

fn absent(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_call_with_env_risk_or_no_version_is_never_memoized() {
        let (attrs, args) = (Map::new(), Map::new());
        let env = json!({"region": "eu"});
        let req = PolicyRequest {
            principal: AgentEntity {
                id: "agent:acme/a",
                owner: "user:o",
                org: None,
                status: "active",
                attributes: &attrs,
            },
            action: "crm.read",
            resource: ResourceEntity { id: "r", data_class: None, attributes: &attrs },
            args: &args,
            delegation: DelegationContext { depth: 0, on_behalf_of: "user:o", purpose: None, grant_id: "g" },
            env: None,
            risk: None,
            now: 5,
            entities_version: Some(1),
        };
        let parts = Parts::of(&req, false).unwrap();
        assert_eq!((parts.version, parts.now), (1, None));
        assert_eq!(Parts::of(&req, true).unwrap().now, Some(5));
        assert!(Parts::of(&PolicyRequest { entities_version: None, ..req }, false).is_none());
        assert!(Parts::of(&PolicyRequest { env: Some(&env), ..req }, false).is_none());
        assert!(Parts::of(&PolicyRequest { risk: Some(&env), ..req }, false).is_none());
        assert!(Parts::of(&PolicyRequest { env: Some(&Value::Null), ..req }, false).is_some(), "null is absent");
        let memo = OutcomeMemo::default();
        let (hit, slot) = memo.lookup(&req, false);
        assert!(hit.is_none());
        memo.store(slot.unwrap(), Arc::new(PolicyOutcome::default()));
        assert!(memo.lookup(&req, false).0.is_some());
        let other = PolicyRequest { delegation: DelegationContext { grant_id: "h", ..req.delegation }, ..req };
        assert!(memo.lookup(&other, false).0.is_none(), "another grant misses");
    }

    #[test]
    fn same_is_exact_json() {
        assert!(same(&json!({"a": [1, "x", null]}), &json!({"a": [1, "x", null]})));
        assert!(!same(&json!(1), &json!(1.0)));
        assert!(!same(&json!(0.0), &json!(-0.0)));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(!same(&json!(u64::MAX), &json!(-1)));
    }

    #[test]
    fn reads_now_sees_every_use_of_now_or_the_whole_context() {
        let parse = |text: &str| cedar_policy::Policy::parse(None, text).unwrap().to_json().unwrap();
        let reads = |text| reads_now(&parse(text));
        assert!(reads(r#"permit(principal, action, resource) when { context.now > 5 };"#));
        assert!(reads(r#"permit(principal, action, resource) when { context has now };"#));
        assert!(reads(r#"permit(principal, action, resource) when { context["now"] > 5 };"#));
        assert!(reads(r#"permit(principal, action, resource) when { context == {} };"#));
        assert!(!reads(r#"permit(principal, action, resource) when { context.args.now > 5 };"#));
        assert!(!reads(r#"forbid(principal, action, resource) when { context.delegation.depth > 2 };"#));
        assert!(!reads(r#"permit(principal, action, resource);"#));
    }
}
