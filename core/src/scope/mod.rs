//! Scopes: what a grant allows, how a request is matched against it, and how a delegated
//! scope is checked to be a narrowing of its parent.
//!
//! A [`Scope`] names the actions and resources it grants (patterns), optionally the data
//! classes the resource may carry, per-argument [`Constraint`]s and stateful [`Limits`].
//!
//! * Patterns: `*` matches every name; `a.b.*` (actions) or `customer/*` (resources) matches
//!   any name below the prefix (`a.b.c`, `a.b.c.d`) but not the prefix itself; any other
//!   pattern matches exactly. A prefix pattern matches only names that are themselves well
//!   formed (non-empty segments of the pattern alphabet, and for resources no `.` or `..`
//!   segment): an odd name is matched by `*` alone.
//! * [`Scope::permits`] checks a [`ScopeRequest`] in a fixed order — action, resource, data
//!   class, then each constraint by argument name — and returns a [`Denial`] on the first
//!   failure. Limits are not checked there: they are stateful and enforced by the caller.
//! * [`covers`] / [`covers_all`] decide attenuation: a child scope is accepted only if every
//!   request it permits is permitted by one parent scope and its limits are no looser.
//!
//! Scopes have two JSON forms: the API form (`actions`, `resources`, `data_classes`,
//! `constraints`, `limits`; the `Serialize`/`Deserialize` impls) and the wire form, an
//! RFC 9396 authorization detail (`type: "rid_scope"`, `actions`, `locations`, `datatypes`,
//! `constraints`, `limits`; [`Scope::to_wire`] / [`Scope::from_wire`]). Every way in
//! validates: deserialising a `Scope` runs [`Scope::validate`].

mod codec;
mod constraint;
mod constraint_map;
mod covers;
mod limits;
mod number;
mod pattern;
mod permit;
mod validate;

#[cfg(test)]
mod tests;

pub use codec::{scopes_from_wire, scopes_to_wire};
pub use constraint::{Constraint, Scalar};
pub use constraint_map::ConstraintMap;
pub use covers::{covers, covers_all};
pub use limits::{Budget, Limits, Rate};
pub use permit::{permits_any, Denial, DenialKind, ScopeRequest};
pub use validate::validate_scopes;

/// The `type` of a scope inside a token's `authorization_details` array.
pub const WIRE_TYPE: &str = "rid_scope";
/// The most patterns in one list (`actions`, `resources`, `data_classes`).
pub const MAX_PATTERNS: usize = 64;
/// The longest pattern or data class name, in bytes.
pub const MAX_PATTERN_LEN: usize = 256;
/// The most constraints in one scope.
pub const MAX_CONSTRAINTS: usize = 64;
/// The longest constraint (argument) name, in bytes; also applies to a budget's `arg`.
pub const MAX_CONSTRAINT_NAME_LEN: usize = 64;
/// The most values in one constraint's `in` list.
pub const MAX_IN_VALUES: usize = 256;
/// The longest string value in a constraint (`in` or `eq`), in bytes.
pub const MAX_SCALAR_STRING_LEN: usize = 1024;
/// The most scopes in one grant.
pub const MAX_SCOPES: usize = 32;

/// What a grant allows. Build with [`Scope::new`] and the `with_*` helpers, or parse with
/// [`Scope::parse_json`], [`Scope::from_api_value`] or [`Scope::from_wire`].
///
/// The fields are public; a scope assembled by hand is checked with [`Scope::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    /// Action patterns (`payments.refund`, `payments.*`, `*`). At least one.
    pub actions: Vec<String>,
    /// Resource patterns (`customer/42`, `customer/*`, `*`); `locations` on the wire.
    pub resources: Vec<String>,
    /// The data classes the resource may carry; `None` allows any, including none.
    /// `datatypes` on the wire.
    pub data_classes: Option<Vec<String>>,
    /// Constraints on request arguments, by argument name.
    pub constraints: ConstraintMap,
    /// Stateful limits, enforced outside [`Scope::permits`].
    pub limits: Limits,
}

impl Scope {
    /// A scope granting `actions` on every resource (`*`), with no data class restriction,
    /// constraint or limit.
    pub fn new<I, S>(actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            actions: actions.into_iter().map(Into::into).collect(),
            resources: vec!["*".to_owned()],
            data_classes: None,
            constraints: ConstraintMap::new(),
            limits: Limits::default(),
        }
    }

    /// Replaces the resource patterns.
    #[must_use]
    pub fn with_resources<I, S>(mut self, resources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources = resources.into_iter().map(Into::into).collect();
        self
    }

    /// Restricts the data classes the resource may carry.
    #[must_use]
    pub fn with_data_classes<I, S>(mut self, data_classes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.data_classes = Some(data_classes.into_iter().map(Into::into).collect());
        self
    }

    /// Adds (or replaces) the constraint on argument `arg`.
    #[must_use]
    pub fn with_constraint(mut self, arg: impl Into<String>, constraint: Constraint) -> Self {
        self.constraints.insert(arg.into(), constraint);
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Untrusted input quoted in messages (one definition for the crate).
pub(crate) use crate::principal::preview;
