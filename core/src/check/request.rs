//! What a check is asked: the action, resource, arguments and call context.

use serde::Deserialize;

use crate::scope::MAX_PATTERN_LEN;

/// The largest arguments object accepted, serialised, in bytes.
pub const MAX_ARGS_BYTES: usize = 64 * 1024;

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
pub struct CallContext {
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
pub struct ResourceContext {
    /// Data class.
    #[serde(default)]
    pub data_class: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Validates an action name: dotted segments of `[A-Za-z0-9_-]`.
pub fn valid_action(action: &str) -> bool {
    !action.is_empty()
        && action.len() <= MAX_PATTERN_LEN
        && action
            .split('.')
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// Validates a resource id: `/`-separated segments of `[A-Za-z0-9._@:+-]`, no `.`/`..` segment.
pub fn valid_resource(resource: &str) -> bool {
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
