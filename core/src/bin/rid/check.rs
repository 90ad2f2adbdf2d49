//! `rid check`, `rid policy validate`, `rid approve`, `rid approval …`, `rid resource …`.

use runtime_identity::internal::read_policy_files;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{Approver, Error, ErrorCode, Result, Runtime};

use crate::args::{ApprovalCommand, ApproveArgs, CheckArgs, Cli, PolicyCommand, ResourceCommand};
use crate::output::Out;
use crate::token::{optional_reads_stdin, read_json_arg, read_optional_token, read_token, reads_stdin};

fn object(arg: &Option<String>, what: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    match arg.as_deref().map(read_json_arg).transpose()? {
        None => Ok(None),
        Some(serde_json::Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(Error::new(ErrorCode::InvalidArgument, format!("`--{what}` must be a json object"))),
    }
}

pub fn check(rt: &Runtime, a: &CheckArgs, out: &Out) -> Result<()> {
    if reads_stdin(&a.token) && optional_reads_stdin(a.approval.as_deref(), a.approval_file.as_deref()) {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            "the token and the approval receipt cannot both come from standard input: pass one with a file",
        ));
    }
    let token = read_token(&a.token)?;
    let approval = read_optional_token(a.approval.as_deref(), a.approval_file.as_deref(), "approval receipt")?;
    let args = object(&a.args, "args")?;
    let context = a.context.as_deref().map(read_json_arg).transpose()?;
    let req = CheckRequest {
        action: &a.action,
        resource: a.resource.as_deref(),
        args: args.as_ref(),
        context: context.as_ref(),
        approval: approval.as_deref(),
        proof: a.proof.as_deref(),
    };
    let decision = rt.check(token.as_str(), &req);
    out.value(&decision, |v| {
        let mut s = format!(
            "{}: {} on {} by {}",
            v["effect"].as_str().unwrap_or("-"),
            v["action"].as_str().unwrap_or("-"),
            v["resource"].as_str().unwrap_or("-"),
            v["actor"].as_str().unwrap_or("-"),
        );
        for r in v["reasons"].as_array().into_iter().flatten() {
            s.push_str(&format!("\n  {}: {}", r["code"].as_str().unwrap_or("-"), r["message"].as_str().unwrap_or("")));
        }
        if let Some(p) = v["policies"].as_array().filter(|p| !p.is_empty()) {
            s.push_str(&format!(
                "\n  policies: {}",
                p.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(req) = v.get("approval_request").filter(|r| !r.is_null()) {
            s.push_str(&format!(
                "\n  approval request {} (rid approve {} --approver user:…)",
                req["id"],
                req["id"].as_str().unwrap_or("")
            ));
        }
        s.push_str(&format!("\n  decision {}", v["decision_id"].as_str().unwrap_or("-")));
        s
    })?;
    if decision.allowed {
        Ok(())
    } else {
        // A deny is a result, but scripts need a non-zero exit. `exit` skips destructors, so
        // the audit log's closing checkpoint is written first.
        rt.audit().close()?;
        std::process::exit(3)
    }
}

pub fn policy(cli: &Cli, cmd: &PolicyCommand, out: &Out) -> Result<()> {
    match cmd {
        PolicyCommand::Validate { files } => {
            let rt = crate::open(cli, false, RuntimeOptions::default())?;
            let default = runtime_identity::resolve_home(cli.home.as_deref()).join(runtime_identity::POLICY_DIR);
            let paths: Vec<&std::path::Path> =
                if files.is_empty() { vec![default.as_path()] } else { files.iter().map(|p| p.as_path()).collect() };
            let sources = read_policy_files(&paths)?;
            let engine = rt.validate_policies(&sources)?;
            out.value(
                &serde_json::json!({"valid": true, "files": sources.len(), "policies": engine.policy_count()}),
                |v| format!("valid: {} policies in {} file(s)", v["policies"], v["files"]),
            )
        }
    }
}

pub fn approve(rt: &Runtime, a: &ApproveArgs, out: &Out) -> Result<()> {
    let attributes = object(&a.attributes, "attributes")?;
    let receipt = rt.approve(&a.request_id, Approver { id: &a.approver, attributes: attributes.as_ref() })?;
    if out.json {
        out.value(&serde_json::json!({"receipt": receipt.token, "approval": receipt.approval}), |_| String::new())
    } else {
        println!("{}", receipt.token);
        Ok(())
    }
}

pub fn approval(rt: &Runtime, cmd: &ApprovalCommand, out: &Out) -> Result<()> {
    let describe = |v: &serde_json::Value| {
        format!(
            "approval {} [{}]: {} on {} by {} for {}\n  args {}\n  reason {}",
            v["id"].as_str().unwrap_or("-"),
            v["status"].as_str().unwrap_or("-"),
            v["action"].as_str().unwrap_or("-"),
            v["resource"].as_str().unwrap_or("-"),
            v["actor"].as_str().unwrap_or("-"),
            v["on_behalf_of"].as_str().unwrap_or("-"),
            v["args"],
            v["reason"].as_str().unwrap_or("-"),
        )
    };
    match cmd {
        ApprovalCommand::Show { request_id } => out.value(&rt.get_approval(request_id)?, describe),
        ApprovalCommand::Deny { request_id, approver, attributes } => {
            let attributes = object(attributes, "attributes")?;
            let person = Approver { id: approver, attributes: attributes.as_ref() };
            out.value(&rt.deny_approval(request_id, person)?, describe)
        }
    }
}

pub fn resource(rt: &Runtime, cmd: &ResourceCommand, out: &Out) -> Result<()> {
    match cmd {
        ResourceCommand::Upsert { id, data_class, attributes } => {
            let attributes = attributes.as_deref().map(read_json_arg).transpose()?;
            let rec = rt.upsert_resource(id, data_class.as_deref(), attributes)?;
            out.value(&rec, |v| {
                format!(
                    "resource {} data_class={} attributes={}",
                    v["id"].as_str().unwrap_or("-"),
                    v["data_class"],
                    v["attributes"]
                )
            })
        }
    }
}
