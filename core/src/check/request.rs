//! What a check is asked: the action, resource, arguments and call context.

use serde::Deserialize;
use serde_json::Value;

use crate::policy::MAX_VALUE_DEPTH;
use crate::scope::MAX_PATTERN_LEN;

/// The largest arguments object accepted, serialised, in bytes.
pub(crate) const MAX_ARGS_BYTES: usize = 64 * 1024;
/// The largest call context accepted (`env`, `risk`, resource attributes, `txn` together),
/// serialised, in bytes.
pub(crate) const MAX_CONTEXT_BYTES: usize = 64 * 1024;
/// The most members (object entries and array items, at any depth) the arguments and the
/// context of one call may hold together: what Cedar must convert stays bounded, so a check
/// at the limits stays well under a millisecond (`make bench`, `check_at_the_input_limits`).
pub(crate) const MAX_MEMBERS: usize = 512;
/// The longest `txn` accepted, in bytes (printable ASCII).
pub(crate) const MAX_TXN_BYTES: usize = 256;
/// The largest number magnitude accepted in arguments: 2^53 − 1, the last integer every JSON
/// reader (JavaScript's included) and the RFC 8785 action hash represent exactly. Beyond it,
/// `9007199254740992` and `…993` would hash alike, so an approval of one would approve the
/// other; pass such identifiers as strings.
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One call to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckRequest<'a> {
    /// The action (a dotted name such as `payments.refund`).
    pub action: &'a str,
    /// The resource (`customer/42`); `None` for a call without one, which only scopes granting
    /// every resource (`*`) cover.
    pub resource: Option<&'a str>,
    /// The call's arguments.
    pub args: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Call context: `{"env": {…}, "risk": {…}, "txn": "…", "resource": {"data_class": …, "attributes": {…}}}`.
    pub context: Option<&'a serde_json::Value>,
    /// A signed approval receipt (from [`crate::Runtime::approve`]).
    pub approval: Option<&'a str>,
    /// A proof of possession signed by the credential's `cnf` key.
    pub proof: Option<&'a str>,
}

/// The call context, parsed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallContext {
    /// Application environment (a JSON object), `context.env` in policies.
    #[serde(default)]
    pub env: Option<serde_json::Value>,
    /// Risk signals (a JSON object), `context.risk` in policies.
    #[serde(default)]
    pub risk: Option<serde_json::Value>,
    /// The workflow or agent-run id.
    #[serde(default)]
    pub txn: Option<String>,
    /// Resource attributes passed with the call: they fill what is not registered (and must
    /// equal what is, unless the runtime allows overriding).
    #[serde(default)]
    pub resource: Option<ResourceContext>,
}

/// Resource attributes passed with a call.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceContext {
    /// Data class.
    #[serde(default)]
    pub data_class: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Validates an action name: dotted segments of `[A-Za-z0-9_-]`.
pub(crate) fn valid_action(action: &str) -> bool {
    !action.is_empty()
        && action.len() <= MAX_PATTERN_LEN
        && action
            .split('.')
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// Validates a resource id: `/`-separated segments of `[A-Za-z0-9._@:+-]`, no `.`/`..` segment.
pub(crate) fn valid_resource(resource: &str) -> bool {
    resource == "*"
        || (!resource.is_empty()
            && resource.len() <= MAX_PATTERN_LEN
            && resource.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b':' | b'+' | b'-'))
            }))
}

/// What one call may carry: the arguments and context values within [`MAX_VALUE_DEPTH`]
/// levels and [`MAX_MEMBERS`] members together, numbers in arguments within
/// ±[`MAX_SAFE_INTEGER`]. Walks at most [`MAX_MEMBERS`] members and [`MAX_VALUE_DEPTH`]
/// levels, whatever the input.
#[derive(Debug)]
pub(crate) struct Bounds {
    members: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self { members: MAX_MEMBERS }
    }
}

impl Bounds {
    /// Checks the members of an object (`args`, `env`, …) named `what`.
    pub(crate) fn object<'v>(
        &mut self,
        what: &str,
        members: impl Iterator<Item = (&'v String, &'v Value)>,
        numbers: bool,
    ) -> Result<(), String> {
        for (k, v) in members {
            self.value(what, k, v, 1, numbers)?;
        }
        Ok(())
    }

    fn value(&mut self, what: &str, key: &str, v: &Value, depth: usize, numbers: bool) -> Result<(), String> {
        self.members = self
            .members
            .checked_sub(1)
            .ok_or_else(|| format!("the call's arguments and context hold more than {MAX_MEMBERS} members together"))?;
        let at = || format!("{what} `{}`", crate::principal::preview(key));
        if depth > MAX_VALUE_DEPTH {
            return Err(format!("{} is nested more than {MAX_VALUE_DEPTH} levels deep", at()));
        }
        match v {
            Value::Number(n) if numbers => {
                let safe = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                    (Some(u), _, _) => u <= MAX_SAFE_INTEGER,
                    (None, Some(i), _) => i.unsigned_abs() <= MAX_SAFE_INTEGER,
                    // A float that large has lost its units digit already (JavaScript's numbers).
                    (None, None, Some(f)) => f.abs() <= MAX_SAFE_INTEGER as f64,
                    (None, None, None) => false,
                };
                if !safe {
                    return Err(format!(
                        "{} holds the number {n}, beyond ±{MAX_SAFE_INTEGER} (what JSON readers and the action \
                         hash represent exactly); pass it as a string",
                        at()
                    ));
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|item| self.value(what, key, item, depth + 1, numbers)),
            Value::Object(m) => m.iter().try_for_each(|(k, item)| self.value(what, k, item, depth + 1, numbers)),
            _ => Ok(()),
        }
    }
}

/// Whether `txn` is acceptable: 1 to [`MAX_TXN_BYTES`] bytes of printable ASCII.
pub(crate) fn valid_txn(txn: &str) -> bool {
    !txn.is_empty() && txn.len() <= MAX_TXN_BYTES && txn.bytes().all(|b| (0x20..0x7f).contains(&b))
}
