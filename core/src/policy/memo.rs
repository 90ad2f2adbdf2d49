//! Outcomes of recent calls, so a call Cedar has already judged is not judged again.
//!
//! Cedar's answer is a function of the policies and the request alone. An entry is kept only
//! when every input of that request is part of its key and compared exactly on lookup:
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

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::outcome::PolicyOutcome;
use super::PolicyRequest;

/// The most outcomes kept; the memo is emptied when it is full.
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

/// Everything a memoized outcome was computed from (see the module documentation).
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
    fn new(version: u64, req: &PolicyRequest<'_>, now: Option<i64>) -> Self {
        let d = &req.delegation;
        Self {
            version,
            principal: req.principal.id.into(),
            action: req.action.into(),
            resource: req.resource.id.into(),
            data_class: req.resource.data_class.map(Into::into),
            args: req.args.clone(),
            depth: d.depth,
            on_behalf_of: d.on_behalf_of.into(),
            purpose: d.purpose.map(Into::into),
            grant_id: d.grant_id.into(),
            now,
        }
    }

    fn matches(&self, version: u64, req: &PolicyRequest<'_>, now: Option<i64>) -> bool {
        let d = &req.delegation;
        self.version == version
            && self.now == now
            && self.depth == d.depth
            && *self.principal == *req.principal.id
            && *self.action == *req.action
            && *self.resource == *req.resource.id
            && self.data_class.as_deref() == req.resource.data_class
            && *self.grant_id == *d.grant_id
            && *self.on_behalf_of == *d.on_behalf_of
            && self.purpose.as_deref() == d.purpose
            && same_map(&self.args, req.args)
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

/// Recent outcomes by the hash of their key (randomly seeded: callers choose arguments).
#[derive(Debug, Default)]
pub(crate) struct OutcomeMemo {
    seed: RandomState,
    entries: RwLock<HashMap<u64, Bucket>>,
}

/// A lookup's place in the memo, to store the outcome under once it is computed.
pub(crate) struct Slot {
    hash: u64,
    version: u64,
    now: Option<i64>,
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
        let Some(version) = req.entities_version else { return (None, None) };
        if !absent(req.env) || !absent(req.risk) {
            return (None, None);
        }
        let now = reads_now.then_some(req.now);
        let mut h = self.seed.build_hasher();
        let mut size = 0usize;
        version.hash(&mut h);
        now.hash(&mut h);
        req.principal.id.hash(&mut h);
        req.action.hash(&mut h);
        req.resource.id.hash(&mut h);
        req.resource.data_class.hash(&mut h);
        req.delegation.depth.hash(&mut h);
        req.delegation.on_behalf_of.hash(&mut h);
        req.delegation.purpose.hash(&mut h);
        req.delegation.grant_id.hash(&mut h);
        hash_map(req.args, &mut h, &mut size);
        let d = &req.delegation;
        let strings = [req.principal.id, req.action, req.resource.id, d.on_behalf_of, d.grant_id];
        size += strings.iter().map(|s| s.len()).sum::<usize>() + d.purpose.map_or(0, str::len);
        if size > MAX_KEY_BYTES {
            return (None, None);
        }
        let hash = h.finish();
        let hit =
            self.entries.read().ok().and_then(|m| {
                m.get(&hash)?.iter().find(|(k, _)| k.matches(version, req, now)).map(|(_, o)| Arc::clone(o))
            });
        match hit {
            Some(o) => (Some(o), None),
            None => (None, Some(Slot { hash, version, now })),
        }
    }

    /// Keeps `outcome` for calls identical to `req`.
    pub(crate) fn store(&self, slot: Slot, req: &PolicyRequest<'_>, outcome: Arc<PolicyOutcome>) {
        let Ok(mut map) = self.entries.write() else { return };
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let bucket = map.entry(slot.hash).or_default();
        if !bucket.iter().any(|(k, _)| k.matches(slot.version, req, slot.now)) {
            bucket.push((Key::new(slot.version, req, slot.now), outcome));
        }
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
