//! `rid delegate`, `rid attenuate`, `rid revoke`, `rid token inspect|verify`.

use std::io::Read as _;
use std::path::PathBuf;

use runtime_identity::internal::parse_duration;
use runtime_identity::scope::Scope;
use runtime_identity::token::Credential;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AttenuateRequest, DelegateRequest, Error, ErrorCode, PrivateKey, Result, Runtime};

use crate::args::{AttenuateArgs, Cli, DelegateArgs, RevokeArgs, TokenCommand};
use crate::output::{when, Out};

/// Reads a JSON argument given inline or as `@file`: strictly (a key repeated in one object,
/// or nesting deeper than [`runtime_identity::internal::json::MAX_DEPTH`], is refused).
pub fn read_json_arg(arg: &str) -> Result<serde_json::Value> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("cannot read `{path}`: {e}")))?,
        None => arg.to_owned(),
    };
    runtime_identity::internal::json::parse(&text)
        .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("`{}` is not valid json: {e}", shorten(arg))))
}

/// The first characters of an argument, for a message.
fn shorten(arg: &str) -> String {
    let mut out: String = arg.chars().take(64).flat_map(char::escape_default).collect();
    if arg.chars().count() > 64 {
        out.push('…');
    }
    out
}

fn scopes(args: &[String]) -> Result<Vec<Scope>> {
    args.iter().map(|a| Scope::from_api_value(&read_json_arg(a)?)).collect()
}

fn ttl(arg: &Option<String>) -> Result<Option<u64>> {
    arg.as_deref().map(parse_duration).transpose()
}

/// The token from the argument, else from the file named (`-`: standard input), else from
/// standard input; a file or standard input is read bounded. A token in the argument list is
/// visible to every user of the machine (`ps`), so the file and standard input are preferred.
pub fn read_token(arg: &Option<String>, file: &Option<PathBuf>) -> Result<String> {
    read_secret(arg, file, "the token")
}

/// [`read_token`] for an optional credential (an approval receipt): `None` when neither is given.
pub fn read_optional_token(arg: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<Option<String>> {
    if arg.is_none() && file.is_none() {
        return Ok(None);
    }
    read_secret(arg, file, what).map(Some)
}

fn read_secret(arg: &Option<String>, file: &Option<PathBuf>, what: &str) -> Result<String> {
    let limit = runtime_identity::token::MAX_TOKEN_BYTES as u64 + 1024;
    let mut buf = String::new();
    match (arg.as_deref(), file) {
        (Some(t), _) if t != "-" => return Ok(t.trim().to_owned()),
        (_, Some(path)) if path.as_os_str() != "-" => {
            std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut buf)).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read {what} from `{}`: {e}", path.display()))
            })?;
        }
        _ => {
            std::io::stdin().take(limit).read_to_string(&mut buf).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read {what} from standard input: {e}"))
            })?;
        }
    }
    Ok(buf.trim().to_owned())
}

fn print_credential(out: &Out, cred: &Credential) -> Result<()> {
    if out.json {
        out.value(
            &serde_json::json!({
                "token": cred.token(),
                "grant_id": cred.grant_id(),
                "expires_at": cred.expires_at(),
                "chain": cred.chain(),
            }),
            |_| String::new(),
        )
    } else {
        println!("{}", cred.token());
        Ok(())
    }
}

pub fn delegate(rt: &Runtime, a: &DelegateArgs, out: &Out) -> Result<()> {
    let req = DelegateRequest {
        to: a.to.clone(),
        on_behalf_of: a.on_behalf_of.clone(),
        scopes: scopes(&a.scopes)?,
        ttl: ttl(&a.ttl)?,
        purpose: a.purpose.clone(),
        max_depth: a.max_depth,
    };
    print_credential(out, &rt.delegate(&req)?)
}

pub fn attenuate(rt: &Runtime, a: &AttenuateArgs, out: &Out) -> Result<()> {
    let parent = read_token(&a.token, &a.token_file)?;
    let req = AttenuateRequest {
        to: a.to.clone(),
        scopes: scopes(&a.scopes)?,
        ttl: ttl(&a.ttl)?,
        purpose: a.purpose.clone(),
        max_depth: a.max_depth,
    };
    let cred = match &a.key {
        Some(path) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Error::new(ErrorCode::KeyInvalid, format!("cannot read key file `{}`: {e}", path.display()))
            })?);
            let key = PrivateKey::from_secret_json(&text)?;
            rt.attenuate_with_key(&parent, &req, &key)?
        }
        None => rt.attenuate(&parent, &req)?,
    };
    print_credential(out, &cred)
}

pub fn revoke(rt: &Runtime, a: &RevokeArgs, out: &Out) -> Result<()> {
    let revoked = rt.revoke(&a.grant_id)?;
    out.value(&serde_json::json!({"grant_id": a.grant_id, "revoked": revoked}), |v| {
        let n = v["revoked"].as_array().map(Vec::len).unwrap_or(0);
        match n {
            0 => format!("grant {} was already revoked", a.grant_id),
            n => format!(
                "revoked {n} grant(s): {}",
                v["revoked"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    })
}

fn describe_chain(v: &serde_json::Value) -> String {
    let mut s =
        format!("on behalf of {}, valid until {}", v["on_behalf_of"].as_str().unwrap_or("-"), when(&v["expires_at"]));
    for link in v["links"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "\n  link {}: {} -> {}  grant {}  {} .. {}  max_depth {}",
            link["depth"],
            link["issuer"].as_str().unwrap_or("-"),
            link["actor"].as_str().unwrap_or("-"),
            link["grant_id"].as_str().unwrap_or("-"),
            when(&link["not_before"]),
            when(&link["expires_at"]),
            link["max_depth"],
        ));
        if let Some(p) = link["purpose"].as_str() {
            s.push_str(&format!("  purpose {p:?}"));
        }
        for scope in link["scopes"].as_array().into_iter().flatten() {
            s.push_str(&format!("\n      scope {scope}"));
        }
    }
    s
}

pub fn run(cli: &Cli, cmd: &TokenCommand, out: &Out) -> Result<()> {
    match cmd {
        TokenCommand::Inspect { token } => {
            let token = read_token(token, &None)?;
            let links = runtime_identity::token::inspect(&token)?;
            let v: Vec<_> = links.into_iter().map(|(h, c)| serde_json::json!({"header": h, "claims": c})).collect();
            out.value(&v, |v| {
                let mut s = String::from("(decoded only, not verified)");
                for (i, link) in v.as_array().into_iter().flatten().enumerate() {
                    let c = &link["claims"];
                    s.push_str(&format!(
                        "\nlink {i}: alg {} kid {}\n  iss {}\n  sub {}\n  act {}\n  jti {}\n  iat {}  nbf {}  exp {}\n  rid {}",
                        link.pointer("/header/alg").unwrap_or(&serde_json::Value::Null), link.pointer("/header/kid").unwrap_or(&serde_json::Value::Null), c["iss"], c["sub"], c["act"], c["jti"],
                        when(&c["iat"]), when(&c["nbf"]), when(&c["exp"]), c["rid"]
                    ));
                    for d in c["authorization_details"].as_array().into_iter().flatten() {
                        s.push_str(&format!("\n  scope {d}"));
                    }
                }
                s
            })
        }
        TokenCommand::Verify { token } => {
            let token = read_token(token, &None)?;
            let rt = crate::open(cli, false, RuntimeOptions::default())?;
            let cred = rt.verify(&token)?;
            out.value(cred.chain(), |v| format!("valid: {}", describe_chain(v)))
        }
    }
}
