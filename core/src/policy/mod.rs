//! Cedar policies: loading and validating them, and evaluating them before each tool call.
//!
//! Grants permit; policies restrict. For a call, [`PolicyEngine::evaluate`] reports the
//! `forbid` policies that hold, the `permit` policies that hold, the `@approval("reason")`
//! and `@proof("reason")` policies that hold (written as `permit`; they only flag that a person
//! must approve, or that the call needs a proof of possession) and the policies that
//! failed; [`PolicyOutcome`] says how the caller turns that into a decision.
//!
//! # What policies see
//!
//! * `principal`: `Agent::"agent:acme/support-bot"` with `owner`, `org` (optional), `status`
//!   and the agent record's `attributes` as top-level attributes; its parent is
//!   `Org::"<org>"`, so `principal in Org::"acme"` works.
//! * `resource`: `Resource::"customer/42"` with `path` (its id, for `resource.path like
//!   "customer/*"`), `data_class` (optional) and the application's attributes.
//! * `action`: `Action::"payments.refund"`, in the groups `Action::"payments.*"` and
//!   `Action::"*"` (our scope pattern syntax; `a.b.c` is in `a.b.*`, `a.*`, `*`).
//! * `context`: `args` (the call's arguments), `delegation` `{depth, on_behalf_of, purpose?,
//!   grant_id}`, `env` and `risk` (application objects, empty when absent) and `now` (Unix
//!   seconds).
//!
//! JSON becomes Cedar as: integers → `Long`, booleans and strings as they are, arrays → sets,
//! objects → records, `null` → left out, floats → `decimal` when exact with at most four
//! fractional digits and otherwise an error (the call is denied; nothing is rounded).
//!
//! Policies written on `action == Action::"rid.approve"` are approval rules: who may approve
//! a pending request (see the `approver` module); other policies may not name `rid.*` actions.
//!
//! Policy ids are the `@id("…")` annotation, else `<file>#<n>` (n counts the file's
//! statements from 1); duplicates do not load.
//!
//! # Validation with open attributes
//!
//! Policies are validated at load, in Cedar's *strict* mode, against a schema generated from
//! [`SchemaHints`] and the actions the policies name ([`PolicyEngine::schema_text`] shows
//! it). What the hints declare is fully typed: built-in attributes, declared agent/resource
//! attributes (optional, so read behind `has`), and the arguments of declared actions
//! (required or optional, and no others). Everything else is *open*: undeclared agent and
//! resource attributes, the arguments of undeclared actions, and the keys of `env`/`risk`.
//!
//! Cedar 4.14 has no stable way to declare open records: `additionalAttributes` needs the
//! experimental `partial-validate` feature, and partial validation also stops checking entity
//! types and action names. Entity tags would force `getTag` syntax on policy authors. So the
//! schema declares open records as empty, and of the validator's errors exactly one kind is
//! dropped: an `UnsafeAttributeAccess` ("attribute not found") on `Agent`/`Resource` directly,
//! on `context.env`/`context.risk` directly, or on `context.args` of an undeclared action.
//! Every other error rejects the file: syntax, unknown entity types or actions, type errors on
//! anything declared, unguarded optional attributes, unknown `context` or `delegation` keys,
//! undeclared arguments of declared actions. Cedar exposes that error's details only in its
//! message, which is parsed exactly; if a Cedar upgrade changes the wording, open-attribute
//! policies stop loading (loudly), they are never waved through.
//!
//! Limits of this choice:
//! * an expression on an open attribute is not type checked (`principal.level > "3"` loads);
//! * strict Cedar types `x has open_attr` as `false`, so it skips checking the rest of an
//!   `&&` it guards (`context.args has a && context.now like "x"` loads);
//! * at run time, reading an absent open attribute without `has` is an evaluation error (a
//!   failing `forbid` or `@approval` denies), and so is `<`, `like`, `contains`, … on a value
//!   of another type; but `==` across types is simply `false`, so a `forbid` testing
//!   `principal.tier == "restricted"` does not apply when `tier` holds `["restricted"]`.
//!   Declare in the hints every attribute and argument a `forbid` compares with `==`.
//!
//! Everything declared holds at run time too: the request is not re-validated against the
//! schema (that would cost more than the evaluation), but built-in attributes are typed by
//! construction, declared attributes and arguments are converted by their declared type (a
//! mismatch is an error), required arguments must be present and `env`/`risk` be objects.
//!
//! Validation runs in batches, each against a schema holding only the actions its policies
//! can tell apart (see the `validate` module): Cedar's validator otherwise costs each policy
//! a pass over every action, which made 10,000 policies on distinct actions take minutes.
//!
//! # Performance
//!
//! Policies are sliced by action scope at load (see the `index` module): a call builds its
//! entities (agent, resource, and the action only when a policy tests a group) and context
//! directly from values, and evaluates only the universal slice and the slice of its action,
//! so latency does not grow with policies on other actions.

#![forbid(unsafe_code)]

mod actions;
mod approver;
mod diagnostics;
mod engine;
mod hints;
mod index;
mod load;
mod memo;
mod outcome;
mod request;
mod schema;
mod split;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use approver::{ApprovalResource, ApproverOutcome, ApproverRequest, APPROVE_ACTION};
pub use diagnostics::MAX_REPORTED_PROBLEMS;
pub use engine::PolicyEngine;
pub use hints::{Field, SchemaHints, ValueType, AGENT_BUILTIN_ATTRIBUTES, RESOURCE_BUILTIN_ATTRIBUTES};
pub use load::{APPROVAL_ANNOTATION, ID_ANNOTATION};
pub use outcome::PolicyOutcome;
pub use values::MAX_VALUE_DEPTH;

/// Policy text to load: a file's name (e.g. `refunds.cedar`, or `"<text>"`) and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The name used in ids (`<name>#<n>`) and error locations (`<name>:line:col`).
    pub name: String,
    /// The Cedar policy text.
    pub text: String,
}

impl PolicySource {
    /// A source named `name` holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { name: name.into(), text: text.into() }
    }
}

/// The calling agent, as `principal`.
#[derive(Debug, Clone, Copy)]
pub struct AgentEntity<'a> {
    /// The full principal id, `agent:acme/support-bot`.
    pub id: &'a str,
    /// The agent's owner principal id.
    pub owner: &'a str,
    /// The agent's organisation, if any (its parent `Org::"<org>"`).
    pub org: Option<&'a str>,
    /// The agent's status (`active`, …).
    pub status: &'a str,
    /// The agent record's application attributes.
    pub attributes: &'a Map<String, Value>,
}

/// The resource the call acts on, as `resource`.
#[derive(Debug, Clone, Copy)]
pub struct ResourceEntity<'a> {
    /// The resource id, also its `path` attribute (`customer/42`).
    pub id: &'a str,
    /// Its data class, if any (`pci`).
    pub data_class: Option<&'a str>,
    /// Registered and passed application attributes.
    pub attributes: &'a Map<String, Value>,
}

/// The delegation the call is made under, as `context.delegation`.
#[derive(Debug, Clone, Copy)]
pub struct DelegationContext<'a> {
    /// How many delegation links lie between the user and the agent.
    pub depth: i64,
    /// The principal the agent acts for (`user:alice`).
    pub on_behalf_of: &'a str,
    /// The grant's stated purpose, if any.
    pub purpose: Option<&'a str>,
    /// The id of the grant (the leaf token).
    pub grant_id: &'a str,
}

/// One tool call to evaluate.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// The calling agent.
    pub principal: AgentEntity<'a>,
    /// The action name, `payments.refund`.
    pub action: &'a str,
    /// The resource acted on.
    pub resource: ResourceEntity<'a>,
    /// The tool call's arguments, as `context.args`.
    pub args: &'a Map<String, Value>,
    /// The delegation, as `context.delegation`.
    pub delegation: DelegationContext<'a>,
    /// The application's environment object, as `context.env` (`{}` when absent).
    pub env: Option<&'a Value>,
    /// The application's risk object, as `context.risk` (`{}` when absent).
    pub risk: Option<&'a Value>,
    /// The time of the call, Unix seconds, as `context.now`.
    pub now: i64,
    /// A version of the agent and resource attributes: calls giving the same version for the
    /// same agent and resource promise identical attributes, so their entities are built once
    /// and reused. `None` (e.g. attributes passed with the call) builds them afresh.
    pub entities_version: Option<u64>,
}
