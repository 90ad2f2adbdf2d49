//! `rid delegate`, `rid attenuate`, `rid revoke`, `rid token inspect|verify`.

use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

use runtime_identity::internal::parse_duration;
use runtime_identity::scope::Scope;
use runtime_identity::token::{AuthorityKeys, Credential};
use runtime_identity::RuntimeOptions;
use runtime_identity::{AttenuateRequest, DelegateRequest, Error, ErrorCode, PrivateKey, PublicKey, Result, Runtime};

use crate::args::{AttenuateArgs, Cli, DelegateArgs, RevokeArgs, TokenCommand, TokenInput};
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

/// The token a command was given ([`TokenInput`]: the positional argument, `--token` or
/// `--token-file`; `-` or none of them: standard input), trimmed. A file or standard input is
/// read bounded; an empty token is refused here, naming where it was looked for. Every
/// command that takes a token reads it through this function.
pub fn read_token(input: &TokenInput) -> Result<String> {
    let arg = match (input.positional.as_deref(), input.flag.as_deref(), input.token_file.as_deref()) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            // clap's `token_source` group refuses this first; kept so that it cannot slip by.
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "give the token once: as an argument, with `--token`, or with `--token-file`",
            ));
        }
        (positional, flag, _) => positional.or(flag),
    };
    read_secret(arg, input.token_file.as_deref(), "token")
}

/// Whether [`read_token`] would read standard input for `input`.
pub fn reads_stdin(input: &TokenInput) -> bool {
    secret_from_stdin(input.positional.as_deref().or(input.flag.as_deref()), input.token_file.as_deref())
}

fn secret_from_stdin(arg: Option<&str>, file: Option<&Path>) -> bool {
    match (arg, file) {
        (Some(t), _) => t == "-",
        (None, Some(path)) => path.as_os_str() == "-",
        (None, None) => true,
    }
}

/// [`read_token`] for an optional credential given as `--NAME` or `--NAME-file` (an approval
/// receipt): `None` when neither is given.
pub fn read_optional_token(arg: Option<&str>, file: Option<&Path>, what: &str) -> Result<Option<String>> {
    if arg.is_none() && file.is_none() {
        return Ok(None);
    }
    read_secret(arg, file, what).map(Some)
}

/// Whether [`read_optional_token`] would read standard input.
pub fn optional_reads_stdin(arg: Option<&str>, file: Option<&Path>) -> bool {
    (arg.is_some() || file.is_some()) && secret_from_stdin(arg, file)
}

fn read_secret(arg: Option<&str>, file: Option<&Path>, what: &str) -> Result<String> {
    let limit = runtime_identity::token::MAX_TOKEN_BYTES as u64 + 1024;
    let mut buf = String::new();
    let source = match (arg, file) {
        (Some(t), _) if t != "-" => {
            let t = t.trim();
            if t.is_empty() {
                return Err(Error::new(ErrorCode::InvalidArgument, format!("the {what} given is empty")));
            }
            return Ok(t.to_owned());
        }
        (None, Some(path)) if path.as_os_str() != "-" => {
            std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut buf)).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read the {what} from `{}`: {e}", path.display()))
            })?;
            format!("`{}`", path.display())
        }
        _ => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("reading the {what} from standard input (end with Ctrl-D) ...");
            }
            stdin.by_ref().take(limit).read_to_string(&mut buf).map_err(|e| {
                Error::new(ErrorCode::InvalidArgument, format!("cannot read the {what} from standard input: {e}"))
            })?;
            "standard input".to_owned()
        }
    };
    if buf.len() as u64 >= limit {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("the {what} in {source} is over {} bytes", runtime_identity::token::MAX_TOKEN_BYTES),
        ));
    }
    let text = buf.trim();
    if text.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "no {what} in {source}: pass it as an argument, with `--token`, with `--token-file FILE`, or on standard input"
            ),
        ));
    }
    Ok(text.to_owned())
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
    let parent = read_token(&a.token)?;
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

/// The grant a token ends with, from a chain whose signatures and chain rules verify with
/// the authority's keys (retired ones included). Times, revocations and agents' status are not
/// checked: a token that no longer verifies for use — expired, its agent suspended — must still
/// be revocable. A token that does not verify is refused (a forged token could name anyone's
/// grant); its grant can still be revoked by id.
struct Leaf {
    grant_id: String,
    actor: String,
    on_behalf_of: String,
}

/// The authority's public keys, for a verification of signatures only.
struct PublishedKeys {
    issuer: String,
    keys: std::collections::HashMap<String, PublicKey>,
}

impl AuthorityKeys for PublishedKeys {
    fn issuer(&self) -> &str {
        &self.issuer
    }
    fn key(&self, kid: &str) -> Option<PublicKey> {
        self.keys.get(kid).cloned()
    }
}

fn leaf_of(rt: &Runtime, token: &str) -> Result<Leaf> {
    let links = runtime_identity::token::inspect(token)?;
    let issuer = links
        .first()
        .and_then(|(_, claims)| claims.pointer("/iss"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    if issuer != rt.issuer() {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "the token was issued by `{}`, not by this runtime's issuer `{}`: nothing revoked",
                shorten(&issuer),
                rt.issuer()
            ),
        ));
    }
    let mut keys = std::collections::HashMap::new();
    for jwk in rt.jwks()?.keys {
        keys.insert(jwk.thumbprint(), PublicKey::from_jwk(&jwk)?);
    }
    let published = PublishedKeys { issuer, keys };
    let chain = runtime_identity::token::verify_chain(token, &published).map_err(|e| {
        Error::new(
            e.code(),
            format!("the token does not verify ({}): nothing revoked; revoke its grant by id", e.message()),
        )
    })?;
    let leaf = chain.leaf().ok_or_else(|| Error::new(ErrorCode::TokenMalformed, "the token has no links"))?;
    Ok(Leaf {
        grant_id: leaf.grant_id.to_string(),
        actor: leaf.actor.to_string(),
        on_behalf_of: chain.on_behalf_of.to_string(),
    })
}

/// `rid revoke`: a positional argument that could be a grant id (at most
/// [`runtime_identity::token::MAX_JTI_LEN`] bytes, not `-`) is one; anything else is a token
/// (read like every command's token), whose leaf grant is revoked.
pub fn revoke(rt: &Runtime, a: &RevokeArgs, out: &Out) -> Result<()> {
    let as_grant_id = a
        .target
        .positional
        .as_deref()
        .map(str::trim)
        .filter(|p| *p != "-" && p.len() <= runtime_identity::token::MAX_JTI_LEN);
    let leaf = match as_grant_id {
        Some(_) => None,
        None => Some(leaf_of(rt, &read_token(&a.target)?)?),
    };
    let grant_id = match (&leaf, as_grant_id) {
        (Some(leaf), _) => leaf.grant_id.as_str(),
        (None, Some(id)) => id,
        (None, None) => return Err(Error::new(ErrorCode::InternalError, "no grant to revoke")),
    };
    let revoked = rt.revoke(grant_id)?;
    let mut v = serde_json::json!({"grant_id": grant_id, "revoked": revoked});
    if let (Some(leaf), Some(m)) = (&leaf, v.as_object_mut()) {
        m.insert("from_token".into(), serde_json::json!({"actor": leaf.actor, "on_behalf_of": leaf.on_behalf_of}));
    }
    out.value(&v, |v| {
        let ids: Vec<&str> = v["revoked"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect();
        let what = match v.get("from_token") {
            Some(t) => format!(
                "the token's leaf grant {} ({} for {})",
                v["grant_id"].as_str().unwrap_or("-"),
                t["actor"].as_str().unwrap_or("-"),
                t["on_behalf_of"].as_str().unwrap_or("-")
            ),
            None => format!("grant {}", v["grant_id"].as_str().unwrap_or("-")),
        };
        match ids.len() {
            0 => format!("{what} was already revoked"),
            n => format!("revoked {what} and what was attenuated from it: {n} grant(s): {}", ids.join(", ")),
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
        TokenCommand::Inspect(input) => {
            let token = read_token(input)?;
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
        TokenCommand::Verify(input) => {
            let token = read_token(input)?;
            let rt = crate::open(cli, false, RuntimeOptions::default())?;
            let cred = rt.verify(&token)?;
            out.value(cred.chain(), |v| format!("valid: {}", describe_chain(v)))
        }
    }
}
