//! The `rid` command line, end to end, in text and `--json` modes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rid_in(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rid"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // A command refused before it reads its input (a usage error) has closed its end.
        match input.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = rid_in(home, args, None);
    assert!(out.status.success(), "rid {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(home, &all)).unwrap()
}

/// Runs a failing command; returns the error code from the `--json` error line, after checking
/// the text mode gives one line `error[code]: …` and a non-zero exit.
fn fails(home: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = rid_in(home, args, stdin);
    assert!(!out.status.success(), "rid {args:?} should fail");
    let text = String::from_utf8(out.stderr).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    assert!(text.starts_with("error["), "{text}");
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = rid_in(home, &all, stdin);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    v["error"]["code"].as_str().unwrap().to_owned()
}

#[test]
fn the_whole_flow_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    // Commands other than init refuse a folder that does not exist.
    assert_eq!(fails(&home, &["agent", "list"], None), "invalid_argument");
    let init = json(&home, &["init", "--issuer", "org:acme"]);
    assert_eq!(init["issuer"], "org:acme");
    assert_eq!(init["alg"], "ES256");
    assert!(ok(&home, &["init"]).contains("org:acme"));

    let bot = json(
        &home,
        &[
            "agent",
            "register",
            "agent:acme/support-bot",
            "--owner",
            "user:alice@acme",
            "--name",
            "Support bot",
            "--attributes",
            r#"{"pci_cleared": false}"#,
        ],
    );
    assert_eq!(bot["status"], "active");
    assert_eq!(bot["keys"][0]["private_in_store"], true);
    ok(&home, &["agent", "register", "agent:acme/sub-bot", "--owner", "user:alice@acme", "--alg", "EdDSA"]);
    assert_eq!(
        fails(&home, &["agent", "register", "agent:acme/sub-bot", "--owner", "user:alice@acme"], None),
        "agent_exists"
    );
    assert_eq!(
        fails(&home, &["agent", "register", "agent:acme/bad bot", "--owner", "user:alice@acme"], None),
        "principal_invalid"
    );
    assert_eq!(
        fails(&home, &["agent", "register", "agent:acme/x", "--owner", "user:alice", "--attributes", "[1]"], None),
        "invalid_argument"
    );

    let list = json(&home, &["agent", "list", "--owner", "user:alice@acme"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(ok(&home, &["agent", "list"]).contains("agent:acme/support-bot  status=active"));
    assert!(ok(&home, &["agent", "show", "agent:acme/support-bot"]).contains("(current), private key in store"));
    assert_eq!(fails(&home, &["agent", "show", "agent:acme/ghost"], None), "agent_unknown");

    // Delegate, then attenuate reading the parent token from standard input.
    let scope = r#"{"actions":["crm.*"],"resources":["customer/*"],"constraints":{"amount":{"max":100}}}"#;
    let cred = json(
        &home,
        &[
            "delegate",
            "--to",
            "agent:acme/support-bot",
            "--on-behalf-of",
            "user:alice@acme",
            "--scope",
            scope,
            "--ttl",
            "10m",
            "--purpose",
            "ticket 7",
        ],
    );
    let token = cred["token"].as_str().unwrap().to_owned();
    assert_eq!(cred["chain"]["links"][0]["purpose"], "ticket 7");
    let text_token = ok(
        &home,
        &["delegate", "--to", "agent:acme/support-bot", "--on-behalf-of", "user:alice@acme", "--scope", scope],
    );
    assert_eq!(text_token.trim().split('.').count(), 3);

    let narrow = r#"{"actions":["crm.read"],"resources":["customer/42"],"constraints":{"amount":{"max":50}}}"#;
    let out = rid_in(&home, &["--json", "attenuate", "--to", "agent:acme/sub-bot", "--scope", narrow], Some(&token));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let child: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let child_token = child["token"].as_str().unwrap().to_owned();
    assert_eq!(child["chain"]["links"].as_array().unwrap().len(), 2);
    let wide = r#"{"actions":["crm.*"],"resources":["*"]}"#;
    assert_eq!(
        fails(&home, &["attenuate", "--to", "agent:acme/sub-bot", "--scope", wide], Some(&token)),
        "scope_escalation"
    );

    // Inspect and verify.
    let shown = ok(&home, &["token", "inspect", &child_token]);
    assert!(shown.contains("not verified") && shown.contains("link 1") && shown.contains("agent:acme/sub-bot"));
    let verified = ok(&home, &["token", "verify", &child_token]);
    assert!(verified.starts_with("valid: on behalf of user:alice@acme"), "{verified}");
    let out = rid_in(&home, &["--json", "token", "verify"], Some(&child_token));
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["links"][1]["actor"], "agent:acme/sub-bot");
    assert_eq!(fails(&home, &["token", "verify", "not.a.token~AAAA"], None), "token_malformed");
    assert_eq!(fails(&home, &["token", "verify", "not.a.token"], None), "seal_invalid");

    // JWKS and authority rotation.
    let jwks = json(&home, &["jwks"]);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    let keys = json(&home, &["authority", "rotate-key", "--alg", "EdDSA"]);
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert_eq!(json(&home, &["jwks"])["keys"].as_array().unwrap().len(), 2);
    ok(&home, &["token", "verify", &child_token]);

    // Lifecycle: suspending the middle agent refuses the child; revoking the parent grant cascades.
    ok(&home, &["agent", "suspend", "agent:acme/support-bot"]);
    assert_eq!(fails(&home, &["token", "verify", &child_token], None), "agent_suspended");
    ok(&home, &["agent", "resume", "agent:acme/support-bot"]);
    let revoked = json(&home, &["revoke", cred["grant_id"].as_str().unwrap()]);
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 2);
    assert_eq!(fails(&home, &["token", "verify", &child_token], None), "grant_revoked");

    // Key rotation for an agent; revocation of an agent is final.
    let rotated = json(&home, &["agent", "rotate-key", "agent:acme/sub-bot"]);
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 2);
    // A compromised key: the grants bound to it are revoked with the rotation.
    let to_bot = ["delegate", "--to", "agent:acme/support-bot", "--on-behalf-of", "user:alice@acme", "--scope", scope];
    let fresh = ok(&home, &to_bot);
    ok(&home, &["token", "verify", fresh.trim()]);
    json(&home, &["agent", "rotate-key", "agent:acme/support-bot", "--compromised"]);
    assert_eq!(fails(&home, &["token", "verify", fresh.trim()], None), "grant_revoked");
    ok(&home, &["token", "verify", ok(&home, &to_bot).trim()]);
    ok(&home, &["agent", "revoke", "agent:acme/sub-bot"]);
    assert_eq!(fails(&home, &["agent", "resume", "agent:acme/sub-bot"], None), "agent_revoked");
    assert_eq!(json(&home, &["agent", "list", "--status", "revoked"]).as_array().unwrap().len(), 1);
    assert_eq!(fails(&home, &["agent", "list", "--status", "sleeping"], None), "invalid_argument");
    assert_eq!(
        fails(
            &home,
            &[
                "delegate",
                "--to",
                "agent:acme/support-bot",
                "--on-behalf-of",
                "user:alice@acme",
                "--scope",
                scope,
                "--ttl",
                "2w"
            ],
            None
        ),
        "ttl_invalid"
    );
    assert_eq!(
        fails(
            &home,
            &[
                "delegate",
                "--to",
                "agent:acme/support-bot",
                "--on-behalf-of",
                "user:alice@acme",
                "--scope",
                "{\"actions\":[]}"
            ],
            None
        ),
        "scope_invalid"
    );
}

#[test]
fn an_agent_holding_its_own_key_attenuates_with_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init"]);
    let key = runtime_identity::PrivateKey::generate(runtime_identity::Algorithm::EdDsa).unwrap();
    let jwk = serde_json::to_string(&key.public_key().to_jwk()).unwrap();
    let reg = json(&home, &["agent", "register", "agent:x/own", "--owner", "user:alice", "--public-key", &jwk]);
    assert_eq!(reg["keys"][0]["private_in_store"], false);
    ok(&home, &["agent", "register", "agent:x/sub", "--owner", "user:alice"]);
    let token = ok(
        &home,
        &["delegate", "--to", "agent:x/own", "--on-behalf-of", "user:alice", "--scope", r#"{"actions":["*"]}"#],
    );
    let scope = r#"{"actions":["a.b"]}"#;
    assert_eq!(
        fails(&home, &["attenuate", "--token", token.trim(), "--to", "agent:x/sub", "--scope", scope], None),
        "key_invalid"
    );
    let key_path = dir.path().join("own.key");
    std::fs::write(&key_path, key.to_secret_json().unwrap().as_bytes()).unwrap();
    let child = ok(
        &home,
        &[
            "attenuate",
            "--token",
            token.trim(),
            "--to",
            "agent:x/sub",
            "--scope",
            scope,
            "--key",
            key_path.to_str().unwrap(),
        ],
    );
    // Two links and the seal.
    assert_eq!(child.trim().split('~').count(), 3);
}

/// The README's command-line quickstart runs as written (with the freshly built `rid`).
#[test]
fn the_readme_cli_quickstart_runs() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme.split("## Quickstart: the `rid` command line").nth(1).unwrap();
    let block = section.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let script: String = block.lines().filter(|l| !l.starts_with("cargo install")).map(|l| format!("{l}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rid")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "README quickstart failed:\n{stderr}");
    assert!(stderr.contains("error[agent_suspended]"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid: on behalf of user:alice@acme"), "{stdout}");
    assert!(stdout.contains("\"keys\""), "{stdout}");
}

#[test]
fn check_policies_and_approvals_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init", "--issuer", "org:acme"]);
    ok(&home, &["agent", "register", "agent:acme/bot", "--owner", "user:alice@acme"]);
    let cedar = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies/scenario.cedar");
    let v = json(&home, &["policy", "validate", cedar]);
    assert_eq!(v["valid"], true);
    let broken = dir.path().join("broken.cedar");
    std::fs::write(&broken, "permit (principal, action, resource) when { context.now > };").unwrap();
    assert_eq!(fails(&home, &["policy", "validate", broken.to_str().unwrap()], None), "policy_invalid");
    std::fs::create_dir_all(home.join("policies")).unwrap();
    std::fs::copy(cedar, home.join("policies/scenario.cedar")).unwrap();
    ok(&home, &["policy", "validate"]);
    ok(&home, &["resource", "upsert", "customer/77", "--data-class", "pci"]);
    let scope = r#"{"actions":["payments.refund"],"resources":["customer/*"],"constraints":{"amount":{"max":100}}}"#;
    let token =
        ok(&home, &["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", scope]);
    let token = token.trim();
    // `rid [--json] check` of a refund; returns the exit code and the printed decision.
    // Neither the token nor the receipt in the argument list: standard input and a file.
    let receipt_file = dir.path().join("receipt.jws");
    let receipt_path = receipt_file.to_str().unwrap();
    let check = |json_out: bool, resource: &str, args: &str, receipt: Option<&str>| {
        let mut argv = vec!["check", "--action", "payments.refund", "--resource", resource, "--args", args];
        if json_out {
            argv.insert(0, "--json");
        }
        if let Some(r) = receipt {
            std::fs::write(&receipt_file, r).unwrap();
            argv.extend(["--approval-file", receipt_path]);
        }
        let out = rid_in(&home, &argv, Some(token));
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let decision = |text: &str| -> serde_json::Value { serde_json::from_str(text).unwrap() };

    let (code, allowed) = check(true, "customer/42", r#"{"amount":10}"#, None);
    assert_eq!((code, decision(&allowed)["effect"].clone()), (Some(0), serde_json::json!("allow")));
    // A deny prints the decision and exits 3.
    let (code, text) = check(false, "customer/77", r#"{"amount":10}"#, None);
    assert_eq!(code, Some(3));
    assert!(text.starts_with("deny: payments.refund on customer/77") && text.contains("policy_forbid"), "{text}");
    // Approval: require → approve → allowed once.
    let args = r#"{"amount":90}"#;
    let (code, text) = check(true, "customer/42", args, None);
    assert_eq!(code, Some(3));
    let d = decision(&text);
    assert_eq!(d["effect"], "require_approval");
    let id = d["approval_request"]["id"].as_str().unwrap().to_owned();
    assert!(ok(&home, &["approval", "show", &id]).contains("[pending]"));
    assert_eq!(fails(&home, &["approve", &id, "--approver", "agent:acme/bot"], None), "approver_not_allowed");
    let receipt = ok(&home, &["approve", &id, "--approver", "user:alice@acme"]);
    let (code, text) = check(true, "customer/42", args, Some(receipt.trim()));
    assert_eq!((code, decision(&text)["reasons"][0]["code"].clone()), (Some(0), serde_json::json!("approved")));
    let (_, text) = check(true, "customer/42", args, Some(receipt.trim()));
    assert_eq!(decision(&text)["reasons"][0]["code"], "approval_invalid");
    // Deny through the CLI.
    let (_, text) = check(true, "customer/42", r#"{"amount":91}"#, None);
    let id = decision(&text)["approval_request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(json(&home, &["approval", "deny", &id, "--approver", "user:alice@acme"])["status"], "denied");

    // The audit log of all that.
    let v = json(&home, &["audit", "verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert!(ok(&home, &["audit", "verify"]).starts_with("audit log intact"));
    let tail = ok(&home, &["audit", "tail", "-n", "3"]);
    assert_eq!(tail.lines().count(), 3, "{tail}");
    assert!(tail.contains("approval.denied"), "{tail}");
    let jsonl = ok(&home, &["audit", "export", "--format", "jsonl", "--type", "decision", "--effect", "allow"]);
    let allowed: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(allowed.len(), 2, "{jsonl}");
    let approved = allowed.iter().find(|e| e["reasons"][0]["code"] == "approved").unwrap();
    let explain = ok(&home, &["audit", "explain", approved["decision_id"].as_str().unwrap()]);
    assert!(explain.contains("by user:alice@acme") && explain.contains("org:acme -> agent:acme/bot"), "{explain}");
    let p = json(&home, &["audit", "explain", approved["decision_id"].as_str().unwrap()]);
    assert_eq!(p["approval"]["status"], "consumed");
    let prov = json(&home, &["audit", "export", "--format", "prov-json", "--since", "1h"]);
    assert!(prov["activity"].as_object().unwrap().len() >= 5, "{prov}");
    assert!(ok(&home, &["audit", "export", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z"])
        .is_empty());
    assert_eq!(fails(&home, &["audit", "export", "--since", "yesterday"], None), "invalid_argument");
    assert_eq!(fails(&home, &["audit", "explain", "01890000-0000-7000-8000-000000000000"], None), "invalid_argument");
    // Tampering: exit status 4 with the kind and seq.
    let log = home.join("audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap().replacen("\"effect\":\"deny\"", "\"effect\":\"allow\"", 1);
    std::fs::write(&log, text).unwrap();
    let out = rid_in(&home, &["audit", "verify"], None);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stdout).contains("TAMPERED: edited at seq"));
    let out = rid_in(&home, &["--json", "audit", "verify"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), v["kind"].clone()), (Some(4), serde_json::json!("edited")));
}

#[test]
fn audit_tail_follows_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init", "--issuer", "org:acme"]);
    let mut follow = Command::new(env!("CARGO_BIN_EXE_rid"))
        .arg("--home")
        .arg(&home)
        .args(["audit", "tail", "-f", "-n", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ok(&home, &["agent", "register", "agent:acme/bot", "--owner", "user:alice@acme"]);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert!(first.contains("agent.registered") && first.contains("agent:acme/bot"), "{first}");
}

#[test]
fn json_inputs_are_strict_and_tokens_need_not_be_in_the_argument_list() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init", "--issuer", "org:acme"]);
    ok(&home, &["agent", "register", "agent:acme/bot", "--owner", "user:alice@acme"]);
    std::fs::create_dir_all(home.join("policies")).unwrap();
    let cedar = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/policies/scenario.cedar");
    std::fs::copy(cedar, home.join("policies/scenario.cedar")).unwrap();
    let scope = r#"{"actions":["payments.refund"],"resources":["customer/*"],"constraints":{"amount":{"max":100}}}"#;
    let token =
        ok(&home, &["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", scope]);
    let token_file = dir.path().join("token.jws");
    std::fs::write(&token_file, &token).unwrap();
    let tf = token_file.to_str().unwrap();
    let check = |args: &str| -> Output {
        let argv = ["--json", "check", "--token-file", tf, "--action", "payments.refund", "--resource", "customer/42"];
        rid_in(&home, &[&argv[..], &["--args", args]].concat(), None)
    };
    let effect = |out: &Output| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["effect"].clone()
    };
    assert_eq!(effect(&check(r#"{"amount":50}"#)), "allow");
    // A repeated key is refused, wherever it is, instead of the last one winning.
    let refund = ["check", "--token-file", tf, "--action", "payments.refund", "--args"];
    for args in [r#"{"amount":500,"amount":50}"#, r#"{"amount":50,"memo":{"a":1,"a":2}}"#] {
        let argv: Vec<&str> = refund.iter().copied().chain([args]).collect();
        assert_eq!(fails(&home, &argv, None), "invalid_argument", "{args}");
        let err = String::from_utf8(rid_in(&home, &argv, None).stderr).unwrap();
        assert!(err.contains("appears twice"), "{err}");
    }
    let widened = r#"{"actions":["crm.read"],"actions":["*"],"resources":["*"]}"#;
    let argv = ["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", widened];
    assert_eq!(fails(&home, &argv, None), "invalid_argument");
    let argv = ["agent", "register", "agent:acme/x", "--owner", "user:alice@acme", "--attributes", r#"{"t":1,"t":2}"#];
    assert_eq!(fails(&home, &argv, None), "invalid_argument");
    // Nesting: at the bound the call is decided (the scenario's policies convert every
    // argument), one level over it the text is refused with a typed error.
    let nested = |levels: usize| format!(r#"{{"amount":50,"x":{}1{}}}"#, "[".repeat(levels), "]".repeat(levels));
    let limit = runtime_identity::internal::json::MAX_DEPTH;
    assert_eq!(effect(&check(&nested(limit - 1))), "allow");
    for levels in [limit, 200] {
        let args = nested(levels);
        let argv: Vec<&str> = refund.iter().copied().chain([args.as_str()]).collect();
        assert_eq!(fails(&home, &argv, None), "invalid_argument");
        let err = String::from_utf8(rid_in(&home, &argv, None).stderr).unwrap();
        assert!(err.contains("nested more than 32 levels"), "{err}");
    }
    // The token from standard input, `--token-file -`, or a file; never needed in argv.
    let stdin_check = |extra: &[&str]| {
        let mut argv = vec!["--json", "check", "--action", "payments.refund", "--resource", "customer/42"];
        argv.extend(["--args", r#"{"amount":5}"#]);
        argv.extend_from_slice(extra);
        effect(&rid_in(&home, &argv, Some(&token)))
    };
    assert_eq!(stdin_check(&[]), "allow");
    assert_eq!(stdin_check(&["--token-file", "-"]), "allow");
    let argv = ["check", "--token-file", "/nonexistent/token", "--action", "payments.refund"];
    assert_eq!(fails(&home, &argv, None), "invalid_argument");
    let argv = ["attenuate", "--token-file", tf, "--to", "agent:acme/bot", "--scope", scope];
    assert!(ok(&home, &argv).trim().contains('.'));
}

/// Issue 16 item 13: stored strings (a grant's purpose, an agent's name, a policy's approval
/// reason) are printed with their control characters escaped, so that they cannot forge lines
/// or move the cursor in an auditor's terminal; `--json` keeps them exact.
#[test]
fn text_output_escapes_control_characters_and_json_stays_exact() {
    use runtime_identity::scope::Scope;
    use runtime_identity::CheckRequest;
    use runtime_identity::{AgentSpec, DelegateRequest, Runtime, RuntimeOptions};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    let (bot, alice) = ("agent:acme/support-bot", "user:alice@acme");
    let purpose = "ticket 1\n    1. org:acme -> agent:acme/forged  grant g\x1b[2J\u{9b}31m\u{7f}\r\u{202e}";
    let note = "a\u{9b}31m\u{7f}\u{202e}b\x1b]0;owned\x07";
    let (allowed, asked) = {
        let rt = Runtime::open(Some(&home), RuntimeOptions::with_issuer("org:acme")).unwrap();
        rt.register_agent(
            bot,
            AgentSpec {
                owner: Some(alice.into()),
                attributes: Some(serde_json::json!({ "note": note })),
                ..Default::default()
            },
        )
        .unwrap();
        rt.load_policy_text(
            r#"@id("A1") @approval("a person\n  outcome   ok\u{1b}[32m")
               permit(principal, action == Action::"crm.read", resource) when { resource.path == "customer/2" };"#,
        )
        .unwrap();
        let cred = rt
            .delegate(&DelegateRequest {
                to: bot.into(),
                on_behalf_of: alice.into(),
                scopes: vec![Scope::from_api_value(
                    &serde_json::json!({"actions": ["crm.read"], "resources": ["customer/*"]}),
                )
                .unwrap()],
                purpose: Some(purpose.into()),
                ..Default::default()
            })
            .unwrap();
        let read = |r| rt.check(&cred, &CheckRequest { action: "crm.read", resource: Some(r), ..Default::default() });
        let (a, b) = (read("customer/1"), read("customer/2"));
        assert!(a.allowed, "{a:?}");
        assert!(b.approval_request.is_some(), "{b:?}");
        rt.close().unwrap();
        (a.decision_id, b.decision_id)
    };
    let explained = ok(&home, &["audit", "explain", &allowed]);
    let asked_text = ok(&home, &["audit", "explain", &asked]);
    let texts = [
        explained.clone(),
        asked_text.clone(),
        ok(&home, &["audit", "tail", "-n", "50"]),
        ok(&home, &["agent", "show", bot]),
        ok(&home, &["agent", "list"]),
    ];
    for text in &texts {
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || ('\u{2066}'..='\u{2069}').contains(&c) || c == '\u{202e}')
            .collect();
        assert!(bad.is_empty(), "raw control characters {bad:?} in:\n{text}");
    }
    // The purpose stays on its line: no forged link line, the escapes are visible.
    assert!(!explained.lines().any(|l| l.trim_start().starts_with("1. org:acme")), "{explained}");
    assert!(explained.contains("purpose ticket 1\\n    1. org:acme -> agent:acme/forged"), "{explained}");
    assert!(explained.contains("\\u{1b}[2J\\u{9b}31m\\u{7f}\\r\\u{202e}"), "{explained}");
    // The approval reason does not forge an outcome line.
    assert_eq!(asked_text.lines().filter(|l| l.starts_with("  outcome")).count(), 1, "{asked_text}");
    assert!(texts[3].contains("u{9b}31m") && texts[3].contains("u{202e}b"), "{}", texts[3]);
    // JSON output is exact.
    let j = json(&home, &["audit", "explain", &allowed]);
    assert_eq!(j["chain"][0]["purpose"], purpose);
    assert_eq!(json(&home, &["agent", "show", bot])["attributes"]["note"], note);
    let raw = ok(&home, &["--json", "audit", "tail", "-n", "50"]);
    for line in raw.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert!(raw.contains(r"\u001b[2J"), "{raw}");
}

/// Issue 17 item 7: every command that reads a token takes it the same ways — the positional
/// argument, `--token`, `--token-file FILE`, `-` or nothing for standard input — and refuses
/// an empty one, an oversized one, or two sources at once.
#[test]
fn every_command_takes_a_token_the_same_ways() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init", "--issuer", "org:acme"]);
    ok(&home, &["agent", "register", "agent:acme/bot", "--owner", "user:alice@acme"]);
    ok(&home, &["agent", "register", "agent:acme/sub", "--owner", "user:alice@acme"]);
    let scope = r#"{"actions":["crm.*"],"resources":["customer/*"]}"#;
    let token =
        ok(&home, &["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", scope]);
    let token = token.trim();
    let file = dir.path().join("token.jws");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let file = file.to_str().unwrap();
    let narrow = r#"{"actions":["crm.read"],"resources":["customer/42"]}"#;
    let commands: [&[&str]; 4] = [
        &["token", "verify"],
        &["token", "inspect"],
        &["check", "--action", "crm.read", "--resource", "customer/42"],
        &["attenuate", "--to", "agent:acme/sub", "--scope", narrow],
    ];
    for command in commands {
        let with = |extra: &[&str], stdin: Option<&str>| {
            let argv: Vec<&str> = command.iter().chain(extra).copied().collect();
            let out = rid_in(&home, &argv, stdin);
            assert!(out.status.success(), "rid {argv:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        with(&[token], None);
        with(&["--token", token], None);
        with(&["--token-file", file], None);
        with(&["-"], Some(token));
        with(&["--token", "-"], Some(token));
        with(&["--token-file", "-"], Some(token));
        with(&[], Some(&format!("{token}\n")));

        fn join<'a>(command: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
            command.iter().chain(extra).copied().collect()
        }
        // Nothing on standard input, or only whitespace: a typed error naming where it looked.
        for stdin in ["", " \n\t\n"] {
            assert_eq!(fails(&home, &join(command, &[]), Some(stdin)), "invalid_argument", "{command:?}");
            let err = String::from_utf8(rid_in(&home, &join(command, &["-"]), Some(stdin)).stderr).unwrap();
            assert!(err.contains("no token in standard input"), "{err}");
        }
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let empty = empty.to_str().unwrap();
        assert_eq!(fails(&home, &join(command, &["--token-file", empty]), None), "invalid_argument");
        assert_eq!(fails(&home, &join(command, &["--token", " "]), None), "invalid_argument");
        // More than a token can be: refused before anything parses it.
        let huge = "a".repeat(runtime_identity::token::MAX_TOKEN_BYTES + 2048);
        assert_eq!(fails(&home, &join(command, &[]), Some(&huge)), "input_too_large");
        // Two sources at once: a usage error (exit 2) naming both, nothing read or done.
        for two in [
            vec![token, "--token", token],
            vec!["--token", token, "--token-file", file],
            vec!["-", "--token-file", file],
        ] {
            let out = rid_in(&home, &join(command, &two), Some(token));
            assert_eq!(out.status.code(), Some(2), "{command:?} {two:?}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(err.contains("cannot be used with"), "{err}");
            assert!(!err.contains(token), "the token is echoed: {err}");
        }
    }
    // `rid check` reads one thing from standard input: not the token and the receipt both.
    let argv = ["check", "--action", "crm.read", "--approval-file", "-"];
    assert_eq!(fails(&home, &argv, Some(token)), "invalid_argument");
}

/// Issue 17 item 7: `rid revoke` takes a grant id or a token (in any of the ways a token is
/// given), revokes the token's leaf grant and what was attenuated from it, and says so.
#[test]
fn revoke_takes_a_token_as_well_as_a_grant_id() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    ok(&home, &["init", "--issuer", "org:acme"]);
    for agent in ["agent:acme/bot", "agent:acme/sub", "agent:acme/leaf"] {
        ok(&home, &["agent", "register", agent, "--owner", "user:alice@acme"]);
    }
    let scope = r#"{"actions":["crm.*"],"resources":["customer/*"]}"#;
    let grant = || {
        let v =
            json(&home, &["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", scope]);
        (v["token"].as_str().unwrap().to_owned(), v["grant_id"].as_str().unwrap().to_owned())
    };
    let attenuate = |parent: &str, to: &str| {
        let v = json(&home, &["attenuate", "--token", parent, "--to", to, "--scope", scope]);
        (v["token"].as_str().unwrap().to_owned(), v["grant_id"].as_str().unwrap().to_owned())
    };

    // A token as the argument: its leaf grant, and the grants attenuated from that one.
    let (parent, parent_id) = grant();
    let (child, child_id) = attenuate(&parent, "agent:acme/sub");
    let (grandchild, grandchild_id) = attenuate(&child, "agent:acme/leaf");
    let v = json(&home, &["revoke", &child]);
    assert_eq!(v["grant_id"], child_id.as_str());
    assert_eq!(v["from_token"]["actor"], "agent:acme/sub");
    assert_eq!(v["from_token"]["on_behalf_of"], "user:alice@acme");
    let mut revoked: Vec<&str> = v["revoked"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    revoked.sort_unstable();
    let mut want = vec![child_id.as_str(), grandchild_id.as_str()];
    want.sort_unstable();
    assert_eq!(revoked, want);
    ok(&home, &["token", "verify", &parent]);
    assert_eq!(fails(&home, &["token", "verify", &grandchild], None), "grant_revoked");
    // Again, from standard input: nothing left to revoke, and the text says which grant.
    let out = rid_in(&home, &["revoke", "-"], Some(&child));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(&format!("the token's leaf grant {child_id}")) && text.contains("already revoked"), "{text}");
    assert!(!text.contains(&child), "the token is echoed: {text}");

    // `--token`, `--token-file`, standard input with no argument: the same.
    let (t1, id1) = grant();
    let text = ok(&home, &["revoke", "--token", &t1]);
    assert!(
        text.contains(&format!("revoked the token's leaf grant {id1} (agent:acme/bot for user:alice@acme)")),
        "{text}"
    );
    let (t2, id2) = grant();
    let file = dir.path().join("t2.jws");
    std::fs::write(&file, &t2).unwrap();
    assert_eq!(json(&home, &["revoke", "--token-file", file.to_str().unwrap()])["grant_id"], id2.as_str());
    let (t3, id3) = grant();
    let out = rid_in(&home, &["--json", "revoke"], Some(&t3));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["grant_id"], id3.as_str());
    for t in [&t1, &t2, &t3] {
        assert_eq!(fails(&home, &["token", "verify", t], None), "grant_revoked");
    }

    // A grant id still works, and says nothing of a token.
    let v = json(&home, &["revoke", &parent_id]);
    assert_eq!(v["revoked"], serde_json::json!([parent_id]));
    assert!(v.get("from_token").is_none());
    assert!(ok(&home, &["revoke", &parent_id]).contains(&format!("grant {parent_id} was already revoked")));

    // A token of another authority: refused, nothing revoked.
    let other = dir.path().join("other");
    ok(&other, &["init", "--issuer", "org:other"]);
    ok(&other, &["agent", "register", "agent:other/bot", "--owner", "user:bob@other"]);
    let foreign =
        ok(&other, &["delegate", "--to", "agent:other/bot", "--on-behalf-of", "user:bob@other", "--scope", scope]);
    assert_eq!(fails(&home, &["revoke", foreign.trim()], None), "invalid_argument");
    let err = String::from_utf8(rid_in(&home, &["revoke", foreign.trim()], None).stderr).unwrap();
    assert!(err.contains("issued by `org:other`") && err.contains("nothing revoked"), "{err}");
    ok(&other, &["token", "verify", foreign.trim()]);
    // A token naming this runtime's issuer but signed by another key (anyone can write one):
    // refused, nothing revoked, the grant it names still valid where it was issued.
    let twin = dir.path().join("twin");
    ok(&twin, &["init", "--issuer", "org:acme"]);
    ok(&twin, &["agent", "register", "agent:acme/bot", "--owner", "user:alice@acme"]);
    let forged =
        ok(&twin, &["delegate", "--to", "agent:acme/bot", "--on-behalf-of", "user:alice@acme", "--scope", scope]);
    assert_eq!(fails(&home, &["revoke", forged.trim()], None), "unknown_key");
    let err = String::from_utf8(rid_in(&home, &["revoke", forged.trim()], None).stderr).unwrap();
    assert!(err.contains("does not verify") && err.contains("nothing revoked"), "{err}");
    ok(&twin, &["token", "verify", forged.trim()]);
    // Not a token, too long to be a grant id; an empty one; two at once.
    assert_eq!(fails(&home, &["revoke", &"x".repeat(200)], None), "token_malformed");
    assert_eq!(fails(&home, &["revoke"], Some("")), "invalid_argument");
    let out = rid_in(&home, &["revoke", &parent_id, "--token", &t1], None);
    assert_eq!(out.status.code(), Some(2));
}
