//! Loading: parse every source, name and check each policy, generate the schema, validate.
//! Nothing is kept unless everything passes.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::ffi::DetailedError;
use cedar_policy::{ActionConstraint, Effect, Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};

use super::actions::{group_prefix, is_exact_action};
use super::diagnostics::{is_open_attribute_error, Problems};
use super::hints::SchemaHints;
use super::schema::{schema_text, SchemaActions};
use super::PolicySource;
use crate::error::{Error, ErrorCode, Result};

/// The annotation naming a policy.
pub const ID_ANNOTATION: &str = "id";
/// The annotation making a policy an approval rule; its value is the reason.
pub const APPROVAL_ANNOTATION: &str = "approval";

/// Which actions a policy's scope can match, for slicing.
#[derive(Debug, Clone)]
pub(crate) enum ActionScope {
    /// `action` unconstrained: every action.
    Any,
    /// `action == …` or `action in …`: exact action names and group names (`a.*`, `*`).
    Names(Vec<String>),
}

/// A policy that loaded, under its final id.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPolicy {
    pub(crate) policy: Policy,
    pub(crate) scope: ActionScope,
}

/// Everything a load produces.
pub(crate) struct Loaded {
    pub(crate) policies: Vec<LoadedPolicy>,
    pub(crate) schema_text: String,
}

fn internal(message: String) -> Error {
    Error::new(ErrorCode::InternalError, message)
}

/// The statement number Cedar gave a policy parsed from text (`policy3` → 3).
fn statement_number(id: &PolicyId) -> Option<usize> {
    id.to_string().strip_prefix("policy")?.parse().ok()
}

struct Checker<'s> {
    problems: Problems<'s>,
    ids: HashMap<String, (usize, usize)>,
    actions: SchemaActions,
    origin: HashMap<String, (usize, usize)>,
}

impl Checker<'_> {
    /// Checks one parsed policy; `Some` when it can be kept.
    fn check(&mut self, si: usize, source: &PolicySource, n: usize, at: usize, p: &Policy) -> Option<LoadedPolicy> {
        let text = p.to_cedar().unwrap_or_default();
        let offset_of = |needle: &str| text.find(needle).map_or(at, |i| at + i);
        let id = match p.annotation(ID_ANNOTATION) {
            Some(id) if id.trim().is_empty() => {
                self.problems.push(si, offset_of("@id"), "`@id` must not be empty".to_owned());
                return None;
            }
            Some(id) => id.to_owned(),
            None => format!("{}#{}", source.name, n + 1),
        };
        if let Some((s, o)) = self.ids.get(&id) {
            let first = self.problems.location(*s, *o);
            self.problems.push(si, at, format!("duplicate policy id `{id}` (first at `{first}`)"));
            return None;
        }
        self.ids.insert(id.clone(), (si, at));
        let mut ok = true;
        if let Some(reason) = p.annotation(APPROVAL_ANNOTATION) {
            if reason.trim().is_empty() {
                let msg = format!("policy `{id}`: `@approval` needs a reason, as in `@approval(\"refund over 100\")`");
                self.problems.push(si, offset_of("@approval"), msg);
                ok = false;
            }
            if p.effect() == Effect::Forbid {
                let msg = format!("policy `{id}`: an `@approval` policy must be a `permit` (it only flags approval)");
                self.problems.push(si, offset_of("forbid"), msg);
                ok = false;
            }
        }
        let scope = match p.action_constraint() {
            ActionConstraint::Any => ActionScope::Any,
            ActionConstraint::Eq(uid) => {
                let name = uid.id().unescaped();
                if group_prefix(name).is_some() {
                    let msg = format!(
                        "policy `{id}`: `action == Action::\"{name}\"` never matches a call; use `action in Action::\"{name}\"`"
                    );
                    self.problems.push(si, offset_of(&format!("\"{name}\"")), msg);
                    ok = false;
                }
                ActionScope::Names(vec![name.to_owned()])
            }
            ActionConstraint::In(uids) => {
                ActionScope::Names(uids.iter().map(|u| u.id().unescaped().to_owned()).collect())
            }
        };
        for uid in p.entity_literals() {
            if uid.type_name().to_string() != "Action" {
                continue;
            }
            let name = uid.id().unescaped();
            if let Some(prefix) = group_prefix(name) {
                self.actions.groups.insert(prefix.to_owned());
            } else if is_exact_action(name) {
                self.actions.exact.insert(name.to_owned());
            } else {
                let msg = format!(
                    "policy `{id}`: action `{name}` must be dot-separated segments of A-Z a-z 0-9 _ -, \
                     optionally ending in `.*`, or `*`"
                );
                self.problems.push(si, offset_of(&format!("\"{name}\"")), msg);
                ok = false;
            }
        }
        self.origin.insert(id.clone(), (si, at));
        ok.then(|| LoadedPolicy { policy: p.new_id(PolicyId::new(id)), scope })
    }
}

/// Loads `sources` against `hints`: all of them, or an error naming every problem found.
pub(crate) fn load(sources: &[PolicySource], hints: &SchemaHints) -> Result<Loaded> {
    hints.validate()?;
    let mut c = Checker {
        problems: Problems::new(sources),
        ids: HashMap::new(),
        actions: SchemaActions::default(),
        origin: HashMap::new(),
    };
    let mut policies = Vec::new();
    for (si, source) in sources.iter().enumerate() {
        let set = match PolicySet::from_str(&source.text) {
            Ok(set) => set,
            Err(errs) => {
                errs.iter().for_each(|e| c.problems.push_detailed(si, 0, &DetailedError::from(e)));
                continue;
            }
        };
        for t in set.templates() {
            let at = source.text.find(&t.to_cedar()).unwrap_or(0);
            c.problems.push(si, at, "templates (`?principal`, `?resource`) are not supported".to_owned());
        }
        let mut parsed: Vec<(usize, &Policy)> =
            set.policies().filter_map(|p| statement_number(p.id()).map(|n| (n, p))).collect();
        if parsed.len() != set.num_of_policies() {
            return Err(internal(format!("cedar named the policies of `{}` unexpectedly", source.name)));
        }
        parsed.sort_by_key(|(n, _)| *n);
        let mut cursor = 0;
        for (n, p) in parsed {
            // Policies come in file order, so searching on from the previous one finds each
            // policy's own text even when two are identical.
            let found = p.to_cedar().and_then(|t| Some((source.text.get(cursor..)?.find(&t)? + cursor, t.len())));
            let at = found.map_or(cursor, |(start, _)| start);
            cursor = found.map_or(cursor, |(start, len)| start + len);
            if let Some(lp) = c.check(si, source, n, at, p) {
                policies.push(lp);
            }
        }
    }
    let Checker { problems, actions, origin, .. } = c;
    problems.into_result()?;

    let text = schema_text(hints, &actions);
    let (schema, _warnings) = Schema::from_cedarschema_str(&text)
        .map_err(|e| internal(format!("the generated policy schema does not parse: {e}")))?;
    let set = PolicySet::from_policies(policies.iter().map(|lp| lp.policy.clone()))
        .map_err(|e| internal(format!("cannot assemble the policy set: {e}")))?;
    let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
    let mut problems = Problems::new(sources);
    for err in result.validation_errors() {
        if is_open_attribute_error(err, &hints.actions) {
            continue;
        }
        let (si, at) = origin.get(AsRef::<str>::as_ref(err.policy_id())).copied().unwrap_or((0, 0));
        problems.push_detailed(si, at, &DetailedError::from(err));
    }
    problems.into_result()?;
    Ok(Loaded { policies, schema_text: text })
}
