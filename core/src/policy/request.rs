//! A call as Cedar sees it: the agent, resource and action entities and the context, built
//! directly from values (no JSON round trip, no schema pass on the hot path).
//!
//! Policies were validated against the schema at load, so the request is not validated again;
//! instead everything the schema declares is enforced here as it is built. Built-in attributes
//! are typed by construction, declared attributes and arguments are converted by their
//! declared type (a mismatch is an error, never a silently false comparison), a declared
//! action's required arguments must be present, and `env`/`risk` must be objects.

use std::str::FromStr;

use cedar_policy::{Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression};
use serde_json::{Map, Value};

use super::actions::{action_entity, action_uid};
use super::hints::{SchemaHints, ValueType, AGENT_BUILTIN_ATTRIBUTES, RESOURCE_BUILTIN_ATTRIBUTES};
use super::values::{missing_required, typed, untyped, Path};
use super::PolicyRequest;
use crate::error::{Error, ErrorCode, Result};

fn internal(message: String) -> Error {
    Error::new(ErrorCode::InternalError, message)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

/// The entity type names, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Types {
    agent: EntityTypeName,
    resource: EntityTypeName,
    org: EntityTypeName,
    pub(crate) action: EntityTypeName,
}

impl Types {
    pub(crate) fn new() -> Result<Self> {
        let parse =
            |s: &str| EntityTypeName::from_str(s).map_err(|e| internal(format!("cannot name entity type `{s}`: {e}")));
        Ok(Self { agent: parse("Agent")?, resource: parse("Resource")?, org: parse("Org")?, action: parse("Action")? })
    }
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

/// Adds an application's attributes to `attrs`: declared ones by type, others untyped.
fn app_attributes(
    attrs: &mut Vec<(String, RestrictedExpression)>,
    app: &Map<String, Value>,
    declared: &std::collections::BTreeMap<String, ValueType>,
    builtin: &[&str],
    kind: &'static str,
) -> Result<()> {
    for (name, value) in app {
        if builtin.contains(&name.as_str()) {
            return Err(invalid(format!("{kind} `{name}` is built in; an application attribute cannot use the name")));
        }
        let path = Path::Root(kind, name);
        let converted = match declared.get(name) {
            Some(ty) => typed(value, ty, &path)?,
            None => untyped(value, &path)?,
        };
        if let Some(e) = converted {
            attrs.push((name.clone(), e));
        }
    }
    Ok(())
}

fn entity(uid: &EntityUid, attrs: Vec<(String, RestrictedExpression)>, parents: Vec<EntityUid>) -> Result<Entity> {
    Entity::new_with_tags(uid.clone(), attrs, parents, [])
        .map_err(|e| invalid(format!("entity `{uid}` has an attribute that cannot be evaluated: {e}")))
}

/// `env` or `risk`: an object (untyped), or an empty record when absent.
fn object(value: Option<&Value>, kind: &'static str) -> Result<RestrictedExpression> {
    match value {
        None | Some(Value::Null) => Ok(RestrictedExpression::new_record([]).map_err(|e| internal(e.to_string()))?),
        Some(v @ Value::Object(_)) => {
            untyped(v, &Path::Root("context", kind))?.ok_or_else(|| internal(format!("`{kind}` vanished")))
        }
        Some(_) => Err(invalid(format!("`{kind}` must be a JSON object"))),
    }
}

fn args(req: &PolicyRequest<'_>, hints: &SchemaHints) -> Result<RestrictedExpression> {
    let declared = hints.actions.get(req.action);
    if let Some(name) = declared.and_then(|fields| missing_required(fields, req.args)) {
        return Err(invalid(format!("argument `{name}` of action `{}` is required", req.action)));
    }
    let mut pairs = Vec::with_capacity(req.args.len());
    for (name, value) in req.args {
        let path = Path::Root("argument", name);
        let converted = match declared.and_then(|fields| fields.get(name)) {
            Some(field) => typed(value, &field.ty, &path)?,
            None => untyped(value, &path)?,
        };
        if let Some(e) = converted {
            pairs.push((name.clone(), e));
        }
    }
    RestrictedExpression::new_record(pairs).map_err(|e| internal(format!("cannot build `args`: {e}")))
}

/// The entities of a call and their ids.
#[derive(Debug)]
pub(crate) struct Built {
    agent: EntityUid,
    action: EntityUid,
    resource: EntityUid,
    pub(crate) entities: Entities,
}

/// The entity store for `req`. The action entity (with its groups) is put in the store only
/// when `action_groups`: a policy tests membership in a group.
pub(crate) fn build_entities(
    req: &PolicyRequest<'_>,
    hints: &SchemaHints,
    types: &Types,
    action_groups: bool,
) -> Result<Built> {
    let p = &req.principal;
    let agent_uid = EntityUid::from_type_name_and_id(types.agent.clone(), EntityId::new(p.id));
    let mut attrs = Vec::with_capacity(3 + p.attributes.len());
    attrs.push(("owner".to_owned(), string(p.owner)));
    if let Some(org) = p.org {
        attrs.push(("org".to_owned(), string(org)));
    }
    attrs.push(("status".to_owned(), string(p.status)));
    app_attributes(&mut attrs, p.attributes, &hints.agent_attributes, &AGENT_BUILTIN_ATTRIBUTES, "agent attribute")?;
    let parents: Vec<EntityUid> =
        p.org.map(|o| EntityUid::from_type_name_and_id(types.org.clone(), EntityId::new(o))).into_iter().collect();
    let agent = entity(&agent_uid, attrs, parents)?;

    let r = &req.resource;
    let resource_uid = EntityUid::from_type_name_and_id(types.resource.clone(), EntityId::new(r.id));
    let mut attrs = Vec::with_capacity(2 + r.attributes.len());
    attrs.push(("path".to_owned(), string(r.id)));
    if let Some(dc) = r.data_class {
        attrs.push(("data_class".to_owned(), string(dc)));
    }
    app_attributes(
        &mut attrs,
        r.attributes,
        &hints.resource_attributes,
        &RESOURCE_BUILTIN_ATTRIBUTES,
        "resource attribute",
    )?;
    let resource = entity(&resource_uid, attrs, Vec::new())?;

    let (action_uid, action) = if action_groups {
        let (uid, entity) = action_entity(&types.action, req.action);
        (uid, Some(entity))
    } else {
        (action_uid(&types.action, req.action), None)
    };

    let entities = Entities::from_entities([Some(agent), Some(resource), action].into_iter().flatten(), None)
        .map_err(|e| internal(format!("cannot build the entity store: {e}")))?;
    Ok(Built { agent: agent_uid, action: action_uid, resource: resource_uid, entities })
}

/// The Cedar request for `req` over entities built by [`build_entities`].
pub(crate) fn build_request(req: &PolicyRequest<'_>, hints: &SchemaHints, built: &Built) -> Result<Request> {
    let d = &req.delegation;
    let mut delegation = Vec::with_capacity(4);
    delegation.push(("depth".to_owned(), RestrictedExpression::new_long(d.depth)));
    delegation.push(("on_behalf_of".to_owned(), string(d.on_behalf_of)));
    if let Some(purpose) = d.purpose {
        delegation.push(("purpose".to_owned(), string(purpose)));
    }
    delegation.push(("grant_id".to_owned(), string(d.grant_id)));
    let delegation = RestrictedExpression::new_record(delegation)
        .map_err(|e| internal(format!("cannot build `delegation`: {e}")))?;
    let context = Context::from_pairs([
        ("args".to_owned(), args(req, hints)?),
        ("delegation".to_owned(), delegation),
        ("env".to_owned(), object(req.env, "env")?),
        ("risk".to_owned(), object(req.risk, "risk")?),
        ("now".to_owned(), RestrictedExpression::new_long(req.now)),
    ])
    .map_err(|e| invalid(format!("the call's context cannot be evaluated: {e}")))?;

    Request::new(built.agent.clone(), built.action.clone(), built.resource.clone(), context, None)
        .map_err(|e| internal(format!("cannot build the request: {e}")))
}
