//! The folder store: persistence, sharing between processes, and refusing corrupt or foreign files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use common::*;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentFilter, AgentSpec, AgentStatus, DelegateRequest, ErrorCode, Runtime};

fn open(dir: &Path) -> runtime_identity::Result<Runtime> {
    Runtime::open(Some(dir), RuntimeOptions::with_issuer(ISSUER))
}

fn spec() -> AgentSpec {
    AgentSpec {
        owner: Some(ALICE.into()),
        attributes: Some(serde_json::json!({"pci_cleared": true})),
        ..Default::default()
    }
}

/// A narrow grant to the bot on alice's behalf.
fn delegated(rt: &Runtime) -> runtime_identity::token::Credential {
    rt.delegate(&DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes: narrow_scopes(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn state_survives_reopening_and_keys_are_private_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let rt = open(dir.path()).unwrap();
        rt.register_agent(BOT, spec()).unwrap();
        rt.register_agent(SUB, spec()).unwrap();
        rt.suspend_agent(SUB).unwrap();
        delegated(&rt).token().to_owned()
    };
    let rt = open(dir.path()).unwrap();
    rt.verify(&token).unwrap();
    let bot = rt.get_agent(BOT).unwrap();
    assert_eq!(bot.attributes["pci_cleared"], true);
    assert_eq!(rt.get_agent(SUB).unwrap().status, AgentStatus::Suspended);
    let suspended =
        rt.list_agents(&AgentFilter { status: Some(AgentStatus::Suspended), ..Default::default() }).unwrap();
    assert_eq!(suspended.len(), 1);
    let by_owner = rt.list_agents(&AgentFilter { owner: Some(ALICE.parse().unwrap()), ..Default::default() }).unwrap();
    assert_eq!(by_owner.len(), 2);
    assert!(rt
        .list_agents(&AgentFilter { owner: Some("user:bob".parse().unwrap()), ..Default::default() })
        .unwrap()
        .is_empty());
    assert_eq!(code_of(rt.register_agent(BOT, spec())), ErrorCode::AgentExists);
    // Every key file is 0600, the folders 0700.
    let keys = dir.path().join("keys");
    assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o700);
    let mut n = 0;
    for entry in std::fs::read_dir(&keys).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        n += 1;
    }
    assert_eq!(n, 3, "one authority key and two agent keys");
    // A different issuer for the same folder is refused.
    assert_eq!(
        code_of(Runtime::open(Some(dir.path()), RuntimeOptions::with_issuer("org:other"))),
        ErrorCode::IssuerInvalid
    );
}

#[test]
fn corrupt_and_foreign_files_give_clear_errors_and_lose_nothing() {
    // Not a database at all.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.db"), b"this is not sqlite, it is somebody's notes").unwrap();
    let e = open(dir.path()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreCorrupt);
    assert!(e.message().contains("store.db"), "{e}");
    assert_eq!(std::fs::read(dir.path().join("store.db")).unwrap(), b"this is not sqlite, it is somebody's notes");

    // Another application's SQLite database.
    let dir = tempfile::tempdir().unwrap();
    make_foreign_db(dir.path());
    let e = open(dir.path()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreCorrupt);
    assert!(e.message().contains("another application"), "{e}");

    // A corrupted page inside our own database.
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = open(dir.path()).unwrap();
        for i in 0..50 {
            rt.register_agent(&format!("agent:acme/bot-{i}"), spec()).unwrap();
        }
    }
    let db = dir.path().join("store.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096.min(len)..len] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("store.db-wal"));
    let result = open(dir.path()).and_then(|rt| rt.list_agents(&AgentFilter::default()));
    assert_eq!(code_of(result), ErrorCode::StoreCorrupt);

    // A key file that was tampered with, or made readable by others.
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = open(dir.path()).unwrap();
        rt.register_agent(BOT, spec()).unwrap();
    }
    let rt = open(dir.path()).unwrap();
    let kid = rt.get_agent(BOT).unwrap().current_key().unwrap().kid.clone();
    let path = dir.path().join("keys").join(format!("agent-{kid}.key"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(code_of(rt.store().agent_private_key(&kid)), ErrorCode::StoreInsecure);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&path, b"{\"alg\":\"ES256\",\"kid\":\"x\",\"d\":\"not base64!\"}").unwrap();
    let e = rt.store().agent_private_key(&kid).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreCorrupt);
    assert!(e.message().contains(&kid), "{e}");
    // An agent row whose record is another agent's: refused, not filed under either id.
    let dir = tempfile::tempdir().unwrap();
    {
        let rt = open(dir.path()).unwrap();
        rt.register_agent(BOT, spec()).unwrap();
        rt.register_agent("agent:acme/other", spec()).unwrap();
    }
    {
        let db = rusqlite::Connection::open(dir.path().join("store.db")).unwrap();
        db.execute(
            "UPDATE agents SET record = (SELECT record FROM agents WHERE id = ?1) WHERE id = ?2",
            [BOT, "agent:acme/other"],
        )
        .unwrap();
    }
    let e = open(dir.path()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreCorrupt);
    assert!(e.message().contains("agent:acme/other"), "{e}");
    // A runtime folder path that is a file.
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(code_of(open(file.path())), ErrorCode::StoreCorrupt | ErrorCode::StoreUnavailable));
}

/// Makes `dir/store.db` an SQLite database of another application: a store created by
/// `rid init`, with its header's application id changed.
fn make_foreign_db(dir: &Path) {
    let status =
        Command::new(env!("CARGO_BIN_EXE_rid")).args(["--home", dir.to_str().unwrap(), "init"]).output().unwrap();
    assert!(status.status.success());
    // Rewrite its application id to look foreign: the id lives at byte offset 68 of the header.
    let db = dir.join("store.db");
    let mut bytes = std::fs::read(&db).unwrap();
    bytes[68..72].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    std::fs::write(&db, bytes).unwrap();
    let _ = std::fs::remove_file(dir.join("store.db-wal"));
    let _ = std::fs::remove_file(dir.join("store.db-shm"));
}

fn rid(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_rid"))
        .arg("--home")
        .arg(dir)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Two processes (and this one) register agents, delegate and revoke in one folder at once.
#[test]
fn several_processes_share_one_folder_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path()).unwrap();
    rt.register_agent(BOT, spec()).unwrap();
    let grants: Vec<String> = (0..20).map(|_| delegated(&rt).grant_id().to_owned()).collect();
    let script = |tag: &str, revoke: &[String]| -> Vec<Vec<String>> {
        let mut steps: Vec<Vec<String>> = Vec::new();
        for i in 0..15 {
            steps.push(vec![
                "agent".into(),
                "register".into(),
                format!("agent:acme/{tag}-{i}"),
                "--owner".into(),
                ALICE.into(),
            ]);
            if let Some(g) = revoke.get(i) {
                steps.push(vec!["revoke".into(), g.clone()]);
            }
        }
        steps
    };
    let a = script("a", &grants[..10]);
    let b = script("b", &grants[10..]);
    let dir_a = dir.path().to_path_buf();
    let dir_b = dir.path().to_path_buf();
    let run = |dir: std::path::PathBuf, steps: Vec<Vec<String>>| {
        std::thread::spawn(move || {
            for step in steps {
                let args: Vec<&str> = step.iter().map(String::as_str).collect();
                let out = rid(&dir, &args).wait_with_output().unwrap();
                assert!(out.status.success(), "{step:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
        })
    };
    let ta = run(dir_a, a);
    let tb = run(dir_b, b);
    // This process keeps writing too.
    for i in 0..15 {
        rt.register_agent(&format!("agent:acme/c-{i}"), spec()).unwrap();
    }
    ta.join().unwrap();
    tb.join().unwrap();
    let all = rt.list_agents(&AgentFilter::default()).unwrap();
    assert_eq!(all.len(), 1 + 3 * 15);
    // This process sees the other processes' revocations on its next verification.
    let snapshot = rt.store().snapshot().unwrap();
    for g in &grants {
        assert!(snapshot.revoked.contains(g), "grant {g} lost");
    }
    let reopened = open(dir.path()).unwrap();
    assert_eq!(reopened.list_agents(&AgentFilter::default()).unwrap().len(), 46);
}

#[test]
fn another_process_suspending_an_agent_is_seen_on_the_next_verification() {
    let dir = tempfile::tempdir().unwrap();
    let rt = open(dir.path()).unwrap();
    rt.register_agent(BOT, spec()).unwrap();
    let cred = delegated(&rt);
    rt.verify(cred.token()).unwrap();
    let out = rid(dir.path(), &["agent", "suspend", BOT]).wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(code_of(rt.verify(cred.token())), ErrorCode::AgentSuspended);
    let out = rid(dir.path(), &["revoke", cred.grant_id()]).wait_with_output().unwrap();
    assert!(out.status.success());
    let out = rid(dir.path(), &["agent", "resume", BOT]).wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(code_of(rt.verify(cred.token())), ErrorCode::GrantRevoked);
}

#[test]
fn a_folder_others_can_write_is_refused_and_new_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("rt");
    open(&home).unwrap();
    let db = std::fs::metadata(home.join("store.db")).unwrap();
    assert_eq!(db.permissions().mode() & 0o077, 0, "store.db must not be readable by others");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = open(&home).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreInsecure);
    assert!(e.message().contains("writable by others"), "{e}");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    open(&home).unwrap();
}

#[test]
fn a_change_by_another_runtime_on_the_folder_is_seen_by_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(dir.path()).unwrap();
    reader.register_agent(BOT, spec()).unwrap();
    let cred = delegated(&reader);
    let writer = open(dir.path()).unwrap();
    // Each change lands well within the time an unchanged signal is trusted: only the signal
    // can tell the reader.
    for round in 0..20 {
        reader.verify(cred.token()).unwrap();
        writer.suspend_agent(BOT).unwrap();
        assert_eq!(code_of(reader.verify(cred.token())), ErrorCode::AgentSuspended, "round {round}");
        writer.resume_agent(BOT).unwrap();
    }
    let mode = std::fs::metadata(dir.path().join(runtime_identity::store::SIGNAL_FILE)).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the signal file must be private");
}

#[test]
fn a_change_that_was_not_signalled_is_seen_within_the_recheck_time() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(dir.path()).unwrap();
    reader.register_agent(BOT, spec()).unwrap();
    let cred = delegated(&reader);
    let writer = open(dir.path()).unwrap();
    reader.verify(cred.token()).unwrap();
    // A writer that cannot signal (as one that died between its commit and the signal): the
    // signal file is no longer a file.
    let signal = dir.path().join(runtime_identity::store::SIGNAL_FILE);
    std::fs::remove_file(&signal).unwrap();
    std::fs::create_dir(&signal).unwrap();
    writer.suspend_agent(BOT).unwrap();
    std::thread::sleep(runtime_identity::store::RECHECK_EVERY + std::time::Duration::from_millis(20));
    assert_eq!(code_of(reader.verify(cred.token())), ErrorCode::AgentSuspended);
}
