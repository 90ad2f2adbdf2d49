//! `rid agent …` and `rid authority …`.

use runtime_identity::{
    AgentFilter, AgentRecord, AgentSpec, AgentStatus, Error, ErrorCode, Jwk, PrincipalId, Result, Runtime,
};

use crate::args::{AgentCommand, AuthorityCommand};
use crate::output::{when, Out};
use crate::token::read_json_arg;

fn describe(v: &serde_json::Value) -> String {
    let mut s = format!(
        "{}  status={}  owner={}",
        v["id"].as_str().unwrap_or("-"),
        v["status"].as_str().unwrap_or("-"),
        v["owner"].as_str().unwrap_or("-")
    );
    if let Some(name) = v["name"].as_str() {
        // Already printable (`Out::value` escapes every string).
        s.push_str(&format!("  name=\"{name}\""));
    }
    s
}

fn detail(v: &serde_json::Value) -> String {
    let mut s = describe(v);
    s.push_str(&format!(
        "\n  max_delegation_depth: {}\n  attributes: {}\n  created: {}  updated: {}",
        v["max_delegation_depth"],
        v["attributes"],
        when(&v["created_at"]),
        when(&v["updated_at"])
    ));
    for k in v["keys"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "\n  key {} {}{}{}",
            k["kid"].as_str().unwrap_or("-"),
            k["alg"].as_str().unwrap_or("-"),
            if k["retired_at"].is_null() {
                " (current)".to_owned()
            } else {
                format!(" (retired {})", when(&k["retired_at"]))
            },
            if k["private_in_store"].as_bool() == Some(true) { ", private key in store" } else { "" }
        ));
    }
    s
}

fn show(out: &Out, rec: &AgentRecord) -> Result<()> {
    out.value(rec, detail)
}

pub fn run(rt: &Runtime, cmd: &AgentCommand, out: &Out) -> Result<()> {
    match cmd {
        AgentCommand::Register(a) => {
            let attributes = a.attributes.as_deref().map(read_json_arg).transpose()?;
            let public_key = a.public_key.as_deref().map(read_jwk).transpose()?;
            let spec = AgentSpec {
                owner: Some(a.owner.clone()),
                org: a.org.clone(),
                name: a.name.clone(),
                description: a.description.clone(),
                attributes,
                max_delegation_depth: a.max_delegation_depth,
                public_key,
                alg: a.alg,
            };
            show(out, &rt.register_agent(&a.id, spec)?)
        }
        AgentCommand::List { owner, status } => {
            let filter = AgentFilter {
                owner: owner.as_deref().map(PrincipalId::parse).transpose()?,
                status: status.as_deref().map(AgentStatus::parse).transpose()?,
            };
            let agents = rt.list_agents(&filter)?;
            out.value(&agents, |v| {
                let rows: Vec<String> = v.as_array().into_iter().flatten().map(describe).collect();
                if rows.is_empty() {
                    "no agents".to_owned()
                } else {
                    rows.join("\n")
                }
            })
        }
        AgentCommand::Show { id } => show(out, &rt.get_agent(id)?),
        AgentCommand::Suspend { id } => show(out, &rt.suspend_agent(id)?),
        AgentCommand::Resume { id } => show(out, &rt.resume_agent(id)?),
        AgentCommand::Revoke { id } => show(out, &rt.revoke_agent(id)?),
        AgentCommand::RotateKey { id, public_key, compromised } => {
            let public_key = public_key.as_deref().map(read_jwk).transpose()?;
            let opts = runtime_identity::RotateKey { public_key, compromised: *compromised };
            show(out, &rt.rotate_agent_key_with(id, &opts)?)
        }
    }
}

fn read_jwk(arg: &str) -> Result<Jwk> {
    serde_json::from_value(read_json_arg(arg)?)
        .map_err(|e| Error::new(ErrorCode::KeyInvalid, format!("`--public-key` is not a jwk: {e}")))
}

pub fn authority(rt: &Runtime, cmd: &AuthorityCommand, out: &Out) -> Result<()> {
    let list = |v: &serde_json::Value| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|k| {
                format!(
                    "{} {} created {}{}",
                    k["kid"].as_str().unwrap_or("-"),
                    k["alg"].as_str().unwrap_or("-"),
                    when(&k["created_at"]),
                    if k["retired_at"].is_null() {
                        " (signing)".to_owned()
                    } else {
                        format!(" (retired {})", when(&k["retired_at"]))
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    match cmd {
        AuthorityCommand::Keys => out.value(&rt.authority_keys()?, list),
        AuthorityCommand::RotateKey { alg } => {
            rt.rotate_authority_key(*alg)?;
            out.value(&rt.authority_keys()?, list)
        }
        AuthorityCommand::RemoveKey { kid } => {
            rt.remove_authority_key(kid)?;
            out.value(&rt.authority_keys()?, list)
        }
    }
}
