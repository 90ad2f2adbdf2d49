//! `rid`: the runtime-identity command line.

mod agent;
mod args;
mod audit;
mod check;
mod output;
mod token;

use std::process::ExitCode;

use clap::Parser as _;
use runtime_identity::{resolve_home, Runtime, RuntimeOptions};
use runtime_identity::{Error, ErrorCode, Result};

use args::{Cli, Command};
use output::Out;

pub(crate) fn open(cli: &Cli, create: bool, options: RuntimeOptions) -> Result<Runtime> {
    let home = resolve_home(cli.home.as_deref());
    if !create && !home.join(runtime_identity::store::DB_FILE).exists() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("no runtime folder at `{}`; run `rid init` or pass `--home`", home.display()),
        ));
    }
    Runtime::open(Some(&home), options)
}

fn run(cli: &Cli, out: &Out) -> Result<()> {
    match &cli.command {
        Command::Init(a) => {
            let mut options = RuntimeOptions { issuer: a.issuer.clone(), ..RuntimeOptions::default() };
            if let Some(alg) = a.alg {
                options.alg = alg;
            }
            let rt = open(cli, true, options)?;
            let keys = rt.authority_keys()?;
            let signing = keys.iter().rev().find(|k| k.retired_at.is_none());
            let home = resolve_home(cli.home.as_deref());
            out.value(
                &serde_json::json!({
                    "home": home.display().to_string(),
                    "issuer": rt.issuer(),
                    "signing_kid": signing.map(|k| k.kid.clone()),
                    "alg": signing.map(|k| k.alg.as_str()),
                }),
                |v| {
                    format!(
                        "runtime folder `{}` ready: issuer {}, signing key {} ({})",
                        home.display(),
                        rt.issuer(),
                        v["signing_kid"].as_str().unwrap_or("-"),
                        v["alg"].as_str().unwrap_or("-")
                    )
                },
            )
        }
        Command::Agent(cmd) => agent::run(&open(cli, false, RuntimeOptions::default())?, cmd, out),
        Command::Delegate(a) => token::delegate(&open(cli, false, RuntimeOptions::default())?, a, out),
        Command::Attenuate(a) => token::attenuate(&open(cli, false, RuntimeOptions::default())?, a, out),
        Command::Revoke(a) => token::revoke(&open(cli, false, RuntimeOptions::default())?, a, out),
        Command::Token(cmd) => token::run(cli, cmd, out),
        Command::Jwks => {
            let rt = open(cli, false, RuntimeOptions::default())?;
            out.value(&rt.jwks()?, |v| serde_json::to_string_pretty(v).unwrap_or_default())
        }
        Command::Authority(cmd) => agent::authority(&open(cli, false, RuntimeOptions::default())?, cmd, out),
        Command::Check(a) => check::check(&open(cli, false, RuntimeOptions::default())?, a, out),
        Command::Policy(cmd) => check::policy(cli, cmd, out),
        Command::Approve(a) => check::approve(&open(cli, false, RuntimeOptions::default())?, a, out),
        Command::Approval(cmd) => check::approval(&open(cli, false, RuntimeOptions::default())?, cmd, out),
        Command::Resource(cmd) => check::resource(&open(cli, false, RuntimeOptions::default())?, cmd, out),
        Command::Audit(cmd) => audit::run(cli, cmd, out),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    match run(&cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::FAILURE
        }
    }
}
