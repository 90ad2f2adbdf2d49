//! [`PolicyEngine`]: a loaded, validated, sliced policy set.

use std::fmt;
use std::sync::Arc;

use cedar_policy::{Authorizer, PolicySet};

use super::actions::group_prefix;
use super::approver::{ApprovalRules, ApproverOutcome, ApproverRequest};
use super::hints::SchemaHints;
use super::index::Index;
use super::load::load;
use super::memo::OutcomeMemo;
use super::outcome::PolicyOutcome;
use super::request::{build_entities, build_request, Built, Types};
use super::schema::{schema_text, SchemaActions};
use super::{PolicyRequest, PolicySource};
use crate::bounded::SharedMap;
use crate::error::{Error, ErrorCode, Result};

/// Loaded policies, ready to evaluate calls. Immutable once built; `Send + Sync`, share it in
/// an `Arc` and replace it whole on reload.
pub struct PolicyEngine {
    index: Index,
    hints: SchemaHints,
    types: Option<Types>,
    authorizer: Authorizer,
    require_permit: bool,
    count: usize,
    schema_text: String,
    entities: EntityCache,
    outcomes: OutcomeMemo,
    approval_rules: ApprovalRules,
}

/// (entities version, agent, resource, action): the cached entry carries the request's action
/// uid, so the action is always part of the key.
type EntityKey = (u64, String, String, String);

/// Entity stores of recent calls, by the caller's `entities_version` (a view of the store:
/// a new view is a new key, so nothing here goes stale; the engine and its cache go together
/// on reload). A [`SharedMap`]: the oldest store goes when it is full, and a poisoned lock is
/// an empty cache (the entities are built afresh).
#[derive(Debug)]
struct EntityCache(SharedMap<EntityKey, Arc<Built>>);

/// The most entity stores kept.
const MAX_CACHED_ENTITIES: usize = 4096;

impl Default for EntityCache {
    fn default() -> Self {
        Self(SharedMap::new(MAX_CACHED_ENTITIES))
    }
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("policies", &self.count)
            .field("slices", &self.index.slice_count())
            .field("require_permit", &self.require_permit)
            .finish_non_exhaustive()
    }
}

impl Default for PolicyEngine {
    fn default() -> Self {
        Self::empty()
    }
}

impl PolicyEngine {
    /// An engine with no policies (and `require_permit` off): every call passes the policy step.
    pub fn empty() -> Self {
        let hints = SchemaHints::default();
        Self {
            index: Index::default(),
            schema_text: schema_text(&hints, &SchemaActions::default()),
            entities: EntityCache::default(),
            outcomes: OutcomeMemo::default(),
            approval_rules: ApprovalRules::default(),
            hints,
            types: Types::new().ok(),
            authorizer: Authorizer::new(),
            require_permit: false,
            count: 0,
        }
    }

    /// Loads `sources` (each a file's text, or `"<text>"`), validated against the schema made
    /// from `hints`. All or nothing: on any problem the error lists every one found as
    /// `file:line:col: message`, and no engine is built.
    pub fn load(sources: &[PolicySource], hints: &SchemaHints, require_permit: bool) -> Result<Self> {
        let loaded = load(sources, hints)?;
        Ok(Self {
            index: Index::build(&loaded.policies)?,
            hints: hints.clone(),
            types: Some(Types::new()?),
            authorizer: Authorizer::new(),
            require_permit,
            count: loaded.policies.len() + loaded.approval_rules.count(),
            schema_text: loaded.schema_text,
            entities: EntityCache::default(),
            outcomes: OutcomeMemo::default(),
            approval_rules: loaded.approval_rules,
        })
    }

    /// How many policies are loaded (approval rules included).
    pub fn policy_count(&self) -> usize {
        self.count
    }

    /// What the approval rules (`rid.approve`) say about a person deciding a request; `None`
    /// when no rule is loaded.
    pub fn evaluate_approver(&self, req: &ApproverRequest<'_>) -> Result<Option<ApproverOutcome>> {
        self.approval_rules.evaluate(req)
    }

    /// Whether calls need an explicit `permit` (the caller applies it: no permits → deny).
    pub fn require_permit(&self) -> bool {
        self.require_permit
    }

    /// The effective schema in Cedar schema syntax (for `rid policy validate` and docs).
    pub fn schema_text(&self) -> String {
        self.schema_text.clone()
    }

    /// Evaluates the policies whose action scope can match `req`. An error (bad input such
    /// as an unrepresentable number, or a value of the wrong declared type) means the
    /// policies could not be applied: the caller must deny.
    pub fn evaluate(&self, req: &PolicyRequest<'_>) -> Result<PolicyOutcome> {
        if req.action.is_empty() || group_prefix(req.action).is_some() {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("action `{}` must be an action name, not empty or a pattern", req.action),
            ));
        }
        let universal = self.index.universal();
        let slice = self.index.lookup(req.action);
        let restrict: Vec<&PolicySet> =
            [universal, slice].into_iter().flatten().map(|s| &s.restrict).filter(|s| !s.is_empty()).collect();
        let allow: Vec<&PolicySet> =
            [universal, slice].into_iter().flatten().map(|s| &s.allow).filter(|s| !s.is_empty()).collect();
        if restrict.is_empty() && allow.is_empty() {
            return Ok(PolicyOutcome::default());
        }
        // An identical earlier call under the same policies and attributes: its outcome.
        let reads_now = [universal, slice].into_iter().flatten().any(|s| s.reads_now);
        let (hit, slot) = self.outcomes.lookup(req, reads_now);
        if let Some(outcome) = hit {
            return Ok(PolicyOutcome::clone(&outcome));
        }
        let types = self
            .types
            .as_ref()
            .ok_or_else(|| Error::new(ErrorCode::InternalError, "the policy engine has no entity types".to_owned()))?;
        let action_groups = [universal, slice].into_iter().flatten().any(|s| s.needs_action_groups);
        let built = self.entities_for(req, types, action_groups)?;
        let request = build_request(req, &self.hints, &built)?;
        let entities = &built.entities;
        let mut outcome = PolicyOutcome::default();
        for set in restrict {
            outcome.add_restrict(&self.authorizer.is_authorized(&request, set, entities));
        }
        for set in allow {
            outcome.add_allow(&self.authorizer.is_authorized(&request, set, entities), |id| self.index.flags(id));
        }
        outcome.sort();
        if let Some(slot) = slot {
            self.outcomes.store(slot, Arc::new(outcome.clone()));
        }
        Ok(outcome)
    }

    /// The call's entities: reused when the caller vouches that the attributes did not change
    /// (`entities_version`), built afresh otherwise.
    fn entities_for(&self, req: &PolicyRequest<'_>, types: &Types, action_groups: bool) -> Result<Arc<Built>> {
        let Some(version) = req.entities_version else {
            return Ok(Arc::new(build_entities(req, &self.hints, types, action_groups)?));
        };
        let key = (version, req.principal.id.to_owned(), req.resource.id.to_owned(), req.action.to_owned());
        if let Some(hit) = self.entities.0.get(&key) {
            return Ok(hit);
        }
        let built = Arc::new(build_entities(req, &self.hints, types, action_groups)?);
        self.entities.0.insert(key, Arc::clone(&built));
        Ok(built)
    }
}
