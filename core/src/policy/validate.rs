//! Validation against the schema, in batches, each against a schema with only the actions
//! that can tell its policies apart.
//!
//! Cedar's validator makes, for each policy, a pass over every action of the schema, so one
//! schema naming every action makes loading quadratic (10,000 policies on distinct actions:
//! minutes). But a policy is type checked once per action its scope matches, and all
//! undeclared actions share the same principal, resource and context types: to the type
//! checker they differ only in how the policy's own `action == …` / `action in …` tests come
//! out. So each policy is checked against `*` and the groups it names (each applies with the
//! open context and stands for the undeclared actions in it that the policy does not name),
//! the exact actions it names, and the declared actions its scope can match. That finds the
//! errors the full schema would.

use cedar_policy::ffi::DetailedError;
use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};

use super::actions::group_prefix;
use super::diagnostics::{is_open_attribute_error, Problems};
use super::hints::SchemaHints;
use super::load::{ActionScope, LoadedPolicy};
use super::schema::{schema_text, SchemaActions};
use super::PolicySource;
use crate::error::{Error, ErrorCode, Result};

/// How many policies are validated against one schema.
const BATCH: usize = 16;

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::InternalError, format!("{what}: {e}"))
}

/// Whether a scope naming `names` can match the declared action `declared`.
fn reaches(scope: &ActionScope, declared: &str) -> bool {
    match scope {
        ActionScope::Any => true,
        ActionScope::Names(names) => names.iter().any(|n| match group_prefix(n) {
            Some("") => true,
            Some(prefix) => declared.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
            None => n == declared,
        }),
    }
}

/// How widely a scope reaches, to batch like with like: unconstrained, groups, exact.
fn breadth(scope: &ActionScope) -> u8 {
    match scope {
        ActionScope::Any => 0,
        ActionScope::Names(names) if names.iter().any(|n| group_prefix(n).is_some()) => 1,
        ActionScope::Names(_) => 2,
    }
}

/// Validates `policies`, reporting every problem with its location.
pub(crate) fn validate(sources: &[PolicySource], hints: &SchemaHints, policies: &[LoadedPolicy]) -> Result<()> {
    let mut order: Vec<&LoadedPolicy> = policies.iter().collect();
    order.sort_by_key(|lp| breadth(&lp.scope));
    let mut problems = Problems::new(sources);
    for batch in order.chunks(BATCH) {
        let mut actions = SchemaActions::default();
        for lp in batch {
            actions.exact.extend(lp.named.exact.iter().cloned());
            actions.groups.extend(lp.named.groups.iter().cloned());
            actions.exact.extend(hints.actions.keys().filter(|d| reaches(&lp.scope, d)).cloned());
        }
        let text = schema_text(hints, &actions);
        let (schema, _warnings) = Schema::from_cedarschema_str(&text)
            .map_err(|e| internal("the generated policy schema does not parse", e))?;
        let set = PolicySet::from_policies(batch.iter().map(|lp| lp.policy.clone()))
            .map_err(|e| internal("cannot assemble a policy set", e))?;
        let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
        for err in result.validation_errors() {
            if is_open_attribute_error(err, &hints.actions) {
                continue;
            }
            let (si, at) = batch.iter().find(|lp| lp.policy.id() == err.policy_id()).map_or((0, 0), |lp| lp.origin);
            problems.push_detailed(si, at, &DetailedError::from(err));
        }
    }
    problems.into_result()
}
