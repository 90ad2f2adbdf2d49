//! The Cedar schema policies are validated against, generated from [`SchemaHints`] and the
//! actions the policies name.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::actions::{group_name, group_prefixes};
use super::hints::{quote_name, SchemaHints, ValueType};

/// The context of an action whose arguments are not declared.
const OPEN_CONTEXT: &str = "OpenContext";

/// The actions a schema declares: exact actions and the groups policies name (by prefix: `a.b`
/// for `a.b.*`, `""` for `*`). An exact action declared in the hints gets its declared
/// context; the groups above every action are added.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaActions {
    pub(crate) exact: BTreeSet<String>,
    pub(crate) groups: BTreeSet<String>,
}

fn attributes(out: &mut String, builtin: &[(&str, &str)], app: &std::collections::BTreeMap<String, ValueType>) {
    out.push_str(" {\n");
    for (name, ty) in builtin {
        let _ = writeln!(out, "  {name}: {ty},");
    }
    for (name, ty) in app {
        let _ = writeln!(out, "  {}?: {},", quote_name(name), ty.to_cedar());
    }
    out.push_str("};\n\n");
}

/// The schema, in Cedar schema syntax.
pub(crate) fn schema_text(hints: &SchemaHints, actions: &SchemaActions) -> String {
    let mut out = String::from(
        "// The schema runtime-identity validates policies against (generated).\n\
         // Agent and resource attributes not declared here are open: policies read them behind\n\
         // `has`, unchecked. So are `context.env`, `context.risk`, and `context.args` of actions\n\
         // declared with `OpenContext`.\n\n\
         entity Org;\n\nentity Agent in [Org]",
    );
    attributes(&mut out, &[("owner", "String"), ("org?", "String"), ("status", "String")], &hints.agent_attributes);
    out.push_str("entity Resource");
    attributes(&mut out, &[("path", "String"), ("data_class?", "String")], &hints.resource_attributes);
    out.push_str(
        "type Delegation = {\n  depth: Long,\n  on_behalf_of: String,\n  purpose?: String,\n  grant_id: String,\n};\n\n",
    );
    let _ = write!(
        out,
        "type {OPEN_CONTEXT} = {{\n  args: {{}},\n  delegation: Delegation,\n  env: {{}},\n  risk: {{}},\n  now: Long,\n}};\n\n"
    );

    // Only the groups policies name are declared (and `*`): membership in any other group
    // cannot change how a policy type checks. Each action's parent is the deepest declared
    // group above it. A declared group applies like an undeclared action, so that a policy's
    // conditions are type checked even when no member action is known; `*` always applies, so
    // that policies with an unconstrained action are always type checked.
    let exact: BTreeSet<&str> = actions.exact.iter().map(String::as_str).collect();
    let mut groups: BTreeSet<&str> = actions.groups.iter().map(String::as_str).collect();
    groups.insert("");
    let parent = |name: &str| group_prefixes(name).find(|p| groups.contains(p)).map(group_name);
    let applies = format!("appliesTo {{ principal: Agent, resource: Resource, context: {OPEN_CONTEXT} }}");
    for prefix in &groups {
        let name = group_name(prefix);
        let _ = write!(out, "action \"{name}\"");
        if let Some(parent) = parent(&name) {
            let _ = write!(out, " in [\"{parent}\"]");
        }
        let _ = writeln!(out, " {applies};");
    }
    for name in &exact {
        let parent = parent(name).unwrap_or_else(|| "*".to_owned());
        let _ = write!(
            out,
            "action \"{name}\" in [\"{parent}\"] appliesTo {{ principal: Agent, resource: Resource, context: "
        );
        match hints.actions.get(*name) {
            None => out.push_str(OPEN_CONTEXT),
            Some(args) => {
                let args = ValueType::Record(args.clone()).to_cedar();
                let _ = write!(out, "{{ args: {args}, delegation: Delegation, env: {{}}, risk: {{}}, now: Long }}");
            }
        }
        out.push_str(" };\n");
    }
    out
}
