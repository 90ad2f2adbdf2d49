//! Who may approve: the organisation's approval rules, the policies written on
//! `Action::"rid.approve"` (docs/ARCHITECTURE.md § Approval).
//!
//! They are a policy set of their own, validated against their own schema and evaluated only
//! when a person approves or denies a request, never for a tool call (and a policy on every
//! action, `action` unconstrained, is a tool-call policy: it does not apply to approvals).
//!
//! * `principal`: `User::"user:alice@acme"`, with `id` (the same id, as a string to compare
//!   with the request's) and the attributes the caller's identity system gives (open: read
//!   them behind `has`).
//! * `resource`: `ApprovalRequest::"<request id>"` with `action`, `resource`, `args` (open),
//!   `actor`, `owner` (the agent's), `org` (optional), `on_behalf_of`, `reason` and `grant_id`.
//! * `context`: `now` (Unix seconds).
//!
//! A person may approve when some rule permits and none forbids; a rule that fails to
//! evaluate refuses (fail closed). Which rule applies when none is loaded is the runtime's
//! (`runtime/approvals.rs`).

use std::str::FromStr;

use cedar_policy::ffi::DetailedError;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationError, ValidationMode, Validator,
};
use serde_json::{Map, Value};

use super::diagnostics::{missing_attribute, Problems};
use super::load::LoadedPolicy;
use super::values::{untyped, Path};
use super::PolicySource;
use crate::error::{Error, ErrorCode, Result};

/// The action approval rules are written on.
pub const APPROVE_ACTION: &str = "rid.approve";

/// The schema approval rules are validated against.
const SCHEMA: &str = "entity User { id: String };\n\
    entity ApprovalRequest {\n  action: String,\n  resource: String,\n  args: {},\n  actor: String,\n  \
    owner: String,\n  org?: String,\n  on_behalf_of: String,\n  reason: String,\n  grant_id: String,\n};\n\
    action \"rid.approve\" appliesTo { principal: User, resource: ApprovalRequest, context: { now: Long } };\n";

fn internal(message: String) -> Error {
    Error::new(ErrorCode::InternalError, message)
}

/// The pending request, as an approval rule's `resource`.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalResource<'a> {
    /// The request id.
    pub id: &'a str,
    /// The action the call would run.
    pub action: &'a str,
    /// Its resource.
    pub resource: &'a str,
    /// Its arguments.
    pub args: &'a Map<String, Value>,
    /// The agent making the call.
    pub actor: &'a str,
    /// The agent's owner.
    pub owner: &'a str,
    /// The agent's organisation, if any.
    pub org: Option<&'a str>,
    /// The person the agent acts for.
    pub on_behalf_of: &'a str,
    /// Why approval is needed (the policies' reasons).
    pub reason: &'a str,
    /// The grant the call is made under.
    pub grant_id: &'a str,
}

/// A person deciding a request.
#[derive(Debug, Clone, Copy)]
pub struct ApproverRequest<'a> {
    /// The person's principal id (`user:…`).
    pub approver: &'a str,
    /// Their attributes, from the caller's identity system.
    pub attributes: &'a Map<String, Value>,
    /// The request decided.
    pub request: ApprovalResource<'a>,
    /// The time, Unix seconds.
    pub now: i64,
}

/// What the approval rules say about one approver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApproverOutcome {
    /// `permit` rules that hold.
    pub permits: Vec<String>,
    /// `forbid` rules that hold.
    pub forbids: Vec<String>,
    /// Rules that failed to evaluate: `(id, message)`.
    pub errors: Vec<(String, String)>,
}

impl ApproverOutcome {
    /// Whether the person may decide: a permit, no forbid, no failure.
    pub fn allowed(&self) -> bool {
        !self.permits.is_empty() && self.forbids.is_empty() && self.errors.is_empty()
    }
}

/// Whether a policy is an approval rule: its scope is exactly `action == Action::"rid.approve"`.
pub(crate) fn is_approval_rule(lp: &LoadedPolicy) -> bool {
    matches!(&lp.scope, super::load::ActionScope::Names(names) if names.len() == 1
        && names.first().is_some_and(|n| n == APPROVE_ACTION))
}

/// The loaded approval rules.
#[derive(Debug, Default)]
pub(crate) struct ApprovalRules {
    set: PolicySet,
    count: usize,
}

/// An open attribute of an approval rule: any of the person's, or an argument of the call.
fn is_open(err: &ValidationError) -> bool {
    let Some(rest) = missing_attribute(err) else {
        return false;
    };
    if let Some(chain) = rest.strip_suffix("` on entity type `User`") {
        return !chain.is_empty() && !chain.contains(['.', '[']);
    }
    rest.strip_suffix("` on entity type `ApprovalRequest`")
        .and_then(|chain| chain.strip_prefix("args"))
        .is_some_and(|member| member.starts_with('.') || member.starts_with("[\""))
}

impl ApprovalRules {
    /// Validates `rules` (each already an approval rule) and keeps them.
    pub(crate) fn build(sources: &[PolicySource], rules: Vec<LoadedPolicy>) -> Result<Self> {
        let count = rules.len();
        if rules.is_empty() {
            return Ok(Self::default());
        }
        let mut problems = Problems::new(sources);
        for lp in &rules {
            if lp.flags.any() {
                let msg = format!("policy `{}`: an approval rule cannot carry `@approval` or `@proof`", lp.policy.id());
                problems.push(lp.origin.0, lp.origin.1, msg);
            }
        }
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| internal(format!("the approval rule schema does not parse: {e}")))?;
        let set = PolicySet::from_policies(rules.iter().map(|lp| lp.policy.clone()))
            .map_err(|e| internal(format!("cannot assemble the approval rules: {e}")))?;
        let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
        for err in result.validation_errors().filter(|e| !is_open(e)) {
            let (si, at) = rules.iter().find(|lp| lp.policy.id() == err.policy_id()).map_or((0, 0), |lp| lp.origin);
            problems.push_detailed(si, at, &DetailedError::from(err));
        }
        problems.into_result()?;
        Ok(Self { set, count })
    }

    /// How many rules are loaded.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Evaluates the rules for `req`; `None` when no rule is loaded.
    pub(crate) fn evaluate(&self, req: &ApproverRequest<'_>) -> Result<Option<ApproverOutcome>> {
        if self.count == 0 {
            return Ok(None);
        }
        let name = |s: &str| EntityTypeName::from_str(s).map_err(|e| internal(format!("entity type `{s}`: {e}")));
        let user = EntityUid::from_type_name_and_id(name("User")?, EntityId::new(req.approver));
        let request = EntityUid::from_type_name_and_id(name("ApprovalRequest")?, EntityId::new(req.request.id));
        let action = EntityUid::from_type_name_and_id(name("Action")?, EntityId::new(APPROVE_ACTION));
        let mut attrs = Vec::with_capacity(1 + req.attributes.len());
        attrs.push(("id".to_owned(), RestrictedExpression::new_string(req.approver.to_owned())));
        for (k, v) in req.attributes {
            if k == "id" {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    "approver attribute `id` is built in (the approver's principal id)".to_owned(),
                ));
            }
            if let Some(e) = untyped(v, &Path::Root("approver attribute", k))? {
                attrs.push((k.clone(), e));
            }
        }
        let invalid = |e: &dyn std::fmt::Display| Error::new(ErrorCode::InvalidArgument, e.to_string());
        let user_entity = Entity::new_with_tags(user.clone(), attrs, [], []).map_err(|e| invalid(&e))?;
        let r = &req.request;
        let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
        let args = untyped(&Value::Object(r.args.clone()), &Path::Root("approval request", "args"))?
            .ok_or_else(|| internal("the request's arguments vanished".to_owned()))?;
        let mut attrs = vec![
            ("action".to_owned(), s(r.action)),
            ("resource".to_owned(), s(r.resource)),
            ("args".to_owned(), args),
            ("actor".to_owned(), s(r.actor)),
            ("owner".to_owned(), s(r.owner)),
            ("on_behalf_of".to_owned(), s(r.on_behalf_of)),
            ("reason".to_owned(), s(r.reason)),
            ("grant_id".to_owned(), s(r.grant_id)),
        ];
        if let Some(org) = r.org {
            attrs.push(("org".to_owned(), s(org)));
        }
        let request_entity = Entity::new_with_tags(request.clone(), attrs, [], []).map_err(|e| invalid(&e))?;
        let entities = Entities::from_entities([user_entity, request_entity], None).map_err(|e| invalid(&e))?;
        let context = Context::from_pairs([("now".to_owned(), RestrictedExpression::new_long(req.now))])
            .map_err(|e| invalid(&e))?;
        let cedar_request = Request::new(user, action, request, context, None)
            .map_err(|e| internal(format!("cannot build the approval request: {e}")))?;
        let response = Authorizer::new().is_authorized(&cedar_request, &self.set, &entities);
        let mut out = ApproverOutcome::default();
        for id in response.diagnostics().reason() {
            let is_forbid = self.set.policy(id).is_some_and(|p| p.effect() == cedar_policy::Effect::Forbid);
            if is_forbid {
                out.forbids.push(id.to_string());
            } else {
                out.permits.push(id.to_string());
            }
        }
        for e in response.diagnostics().errors() {
            let cedar_policy::AuthorizationError::PolicyEvaluationError(e) = e;
            out.errors.push((e.policy_id().to_string(), e.inner().to_string()));
        }
        // Cedar reports only the forbids when one holds; the decision agrees with the lists.
        if response.decision() == Decision::Deny && out.forbids.is_empty() && out.errors.is_empty() {
            out.permits.clear();
        }
        out.permits.sort();
        out.forbids.sort();
        Ok(Some(out))
    }
}
