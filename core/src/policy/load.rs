//! Loading: parse every source, name and check each policy, then validate (`validate`).
//! Nothing is kept unless everything passes.

use std::collections::HashMap;

use cedar_policy::ffi::DetailedError;
use cedar_policy::{ActionConstraint, Effect, Policy, PolicyId, Template};

use super::actions::{group_prefix, is_exact_action};
use super::approver::APPROVE_ACTION;
use super::diagnostics::Problems;
use super::hints::SchemaHints;
use super::memo::reads_now;
use super::schema::{schema_text, SchemaActions};
use super::split::{statements, Statement};
use super::validate::validate;
use super::PolicySource;
use crate::error::Result;

/// The annotation naming a policy.
pub const ID_ANNOTATION: &str = "id";
/// The annotation making a policy an approval rule; its value is the reason.
pub const APPROVAL_ANNOTATION: &str = "approval";
/// The annotation making a policy require a proof of possession; its value is the reason.
pub(crate) const PROOF_ANNOTATION: &str = "proof";

/// What a `permit` flags when its conditions hold, instead of permitting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// `@approval("reason")`: a person must approve the call.
    pub(crate) approval: Option<String>,
    /// `@proof("reason")`: the call needs a proof of possession.
    pub(crate) proof: Option<String>,
}

impl Flags {
    pub(crate) fn any(&self) -> bool {
        self.approval.is_some() || self.proof.is_some()
    }
}

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
    /// The actions and groups it names anywhere (scope and conditions).
    pub(crate) named: SchemaActions,
    /// Its `@approval` / `@proof` reasons, if it is such a rule.
    pub(crate) flags: Flags,
    /// Whether it can read `context.now` (see [`super::memo::reads_now`]).
    pub(crate) reads_now: bool,
    /// Where the text it was parsed from starts: source index and byte offset.
    pub(crate) origin: (usize, usize),
}

/// Everything a load produces.
pub(crate) struct Loaded {
    /// The policies on tool calls.
    pub(crate) policies: Vec<LoadedPolicy>,
    /// The approval rules (`action == Action::"rid.approve"`), validated.
    pub(crate) approval_rules: super::approver::ApprovalRules,
    pub(crate) schema_text: String,
}

/// The action namespace kept for the runtime's own rules (`rid.*`).
const RESERVED: &str = "rid";

/// An annotation's value, without Cedar's per-call parse of the key.
fn annotation<'p>(p: &'p Policy, key: &str) -> Option<&'p str> {
    p.annotations().find(|(k, _)| *k == key).map(|(_, v)| v)
}

struct Checker<'s> {
    problems: Problems<'s>,
    ids: HashMap<String, (usize, usize)>,
}

impl Checker<'_> {
    /// Checks the policy of statement `n` (from 0) of source `si`; `Some` when it can be kept.
    fn check(
        &mut self,
        si: usize,
        source: &PolicySource,
        n: usize,
        stmt: Statement,
        p: &Policy,
    ) -> Option<LoadedPolicy> {
        let at = stmt.begin;
        let text = source.text.get(stmt.begin..stmt.end).unwrap_or_default();
        let offset_of = |needle: &str| text.find(needle).map_or(at, |i| at + i);
        let id = match annotation(p, ID_ANNOTATION) {
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
        let flags = Flags {
            approval: annotation(p, APPROVAL_ANNOTATION).map(str::to_owned),
            proof: annotation(p, PROOF_ANNOTATION).map(str::to_owned),
        };
        for (name, value) in [(APPROVAL_ANNOTATION, &flags.approval), (PROOF_ANNOTATION, &flags.proof)] {
            let Some(reason) = value else { continue };
            if reason.trim().is_empty() {
                let msg = format!("policy `{id}`: `@{name}` needs a reason, as in `@{name}(\"refund over 100\")`");
                self.problems.push(si, offset_of(&format!("@{name}")), msg);
                ok = false;
            }
            if p.effect() == Effect::Forbid {
                let msg = format!("policy `{id}`: an `@{name}` policy must be a `permit` (it only flags the call)");
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
        let mut named = SchemaActions::default();
        for uid in p.entity_literals() {
            if uid.type_name().to_string() != "Action" {
                continue;
            }
            let name = uid.id().unescaped();
            if let Some(prefix) = group_prefix(name) {
                named.groups.insert(prefix.to_owned());
            } else if is_exact_action(name) {
                named.exact.insert(name.to_owned());
            } else {
                let msg = format!(
                    "policy `{id}`: action `{name}` must be dot-separated segments of A-Z a-z 0-9 _ -, \
                     optionally ending in `.*`, or `*`"
                );
                self.problems.push(si, offset_of(&format!("\"{name}\"")), msg);
                ok = false;
            }
        }
        // `rid.*` names the runtime's own actions: only an approval rule may name one, and
        // only `rid.approve`, so that a tool-call policy never reads as an approval rule.
        let approval_rule = matches!(&scope, ActionScope::Names(n) if n.len() == 1
            && n.first().is_some_and(|a| a == APPROVE_ACTION));
        let reserved = |n: &String| n == RESERVED || n.starts_with(&format!("{RESERVED}."));
        let misnamed = if approval_rule {
            named.groups.iter().chain(named.exact.iter().filter(|n| *n != APPROVE_ACTION)).next()
        } else {
            named.groups.iter().chain(&named.exact).find(|n| reserved(n))
        };
        if let Some(name) = misnamed {
            let msg = if approval_rule {
                format!("policy `{id}`: an approval rule (`rid.approve`) cannot name another action (`{name}`)")
            } else {
                format!(
                    "policy `{id}`: actions under `rid.` (`{name}`) are the runtime's own; approval rules are \
                     written `action == Action::\"rid.approve\"`"
                )
            };
            self.problems.push(si, at, msg);
            ok = false;
        }
        // A policy Cedar cannot show as JSON is assumed to read the time.
        let reads_now = p.to_json().map_or(true, |est| reads_now(&est));
        ok.then(|| LoadedPolicy {
            policy: p.new_id(PolicyId::new(id)),
            scope,
            named,
            flags,
            reads_now,
            origin: (si, stmt.start),
        })
    }
}

/// Loads `sources` against `hints`: all of them, or an error naming every problem found.
pub(crate) fn load(sources: &[PolicySource], hints: &SchemaHints) -> Result<Loaded> {
    hints.validate()?;
    let mut c = Checker { problems: Problems::new(sources), ids: HashMap::new() };
    let mut policies = Vec::new();
    for (si, source) in sources.iter().enumerate() {
        for (n, stmt) in statements(&source.text).into_iter().enumerate() {
            let text = source.text.get(stmt.start..stmt.end).unwrap_or_default();
            match Policy::parse(None, text) {
                Ok(p) => {
                    if let Some(lp) = c.check(si, source, n, stmt, &p) {
                        policies.push(lp);
                    }
                }
                Err(_) if Template::parse(None, text).is_ok() => {
                    let msg = "templates (`?principal`, `?resource`) are not supported".to_owned();
                    c.problems.push(si, stmt.begin, msg);
                }
                Err(errs) => {
                    errs.iter().for_each(|e| c.problems.push_detailed(si, stmt.start, &DetailedError::from(e)))
                }
            }
        }
    }
    c.problems.into_result()?;
    let (rules, policies): (Vec<_>, Vec<_>) = policies.into_iter().partition(super::approver::is_approval_rule);
    validate(sources, hints, &policies)?;
    let approval_rules = super::approver::ApprovalRules::build(sources, rules)?;
    let mut all = SchemaActions::default();
    for lp in &policies {
        all.exact.extend(lp.named.exact.iter().cloned());
        all.groups.extend(lp.named.groups.iter().cloned());
    }
    all.exact.extend(hints.actions.keys().cloned());
    Ok(Loaded { schema_text: schema_text(hints, &all), policies, approval_rules })
}
