//! The runtime folder is trusted only when nobody else could have changed it: folders and
//! files owned by this user, writable by nobody else, no symbolic or hard links (issue 16,
//! item 9). The tests run as root here: "another user" is uid 65534 (`nobody`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::os::unix::fs::{symlink, MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Command;

use common::*;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, ErrorCode, Runtime};

const NOBODY: u32 = 65534;

fn open(dir: &Path) -> runtime_identity::Result<Runtime> {
    Runtime::open(Some(dir), RuntimeOptions::with_issuer(ISSUER))
}

/// Opens the folder and signs a grant (which reads the authority's key file).
fn use_folder(dir: &Path) -> runtime_identity::Result<Runtime> {
    let rt = open(dir)?;
    rt.delegate(&runtime_identity::DelegateRequest {
        to: BOT.into(),
        on_behalf_of: ALICE.into(),
        scopes: narrow_scopes(),
        ..Default::default()
    })?;
    Ok(rt)
}

/// The authority's key file.
fn authority_key_file(home: &Path) -> std::path::PathBuf {
    std::fs::read_dir(home.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("authority-"))
        .unwrap()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn insecure(r: runtime_identity::Result<Runtime>, what: &str) {
    let e = r.unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreInsecure, "{e}");
    assert!(e.message().contains(what), "`{what}` not in: {e}");
}

fn mode(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

/// A folder made by `rid init`, with a registered agent (so `keys/` holds two files).
fn initialised() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rid"))
        .args(["--home", dir.path().join("rt").to_str().unwrap(), "init", "--issuer", ISSUER])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rt = open(&dir.path().join("rt")).unwrap();
    rt.register_agent(BOT, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    dir
}

#[test]
fn rid_init_makes_every_folder_and_file_with_private_modes() {
    let dir = initialised();
    let home = dir.path().join("rt");
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    for (path, want) in [
        (home.clone(), 0o700),
        (home.join("keys"), 0o700),
        (home.join("store.db"), 0o600),
        (home.join("store.rev"), 0o600),
        (home.join("audit.jsonl"), 0o600),
    ] {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.mode() & 0o777, meta.uid()), (want, me), "{}", path.display());
    }
    for entry in std::fs::read_dir(home.join("keys")).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!((meta.mode() & 0o777, meta.nlink()), (0o600, 1));
    }
    open(&home).unwrap();
}

#[test]
fn a_folder_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to give a folder to another user");
        return;
    }
    // The runtime folder, prepared by another user with that user's own authority key.
    let dir = initialised();
    let home = dir.path().join("rt");
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
    insecure(open(&home), "owned by uid 65534");
    std::os::unix::fs::chown(&home, Some(0), Some(0)).unwrap();
    open(&home).unwrap();
    // Its `keys/`, one key file, the database, the log.
    for name in ["keys", "store.db", "audit.jsonl", "store.rev"] {
        let path = home.join(name);
        std::os::unix::fs::chown(&path, Some(NOBODY), None).unwrap();
        insecure(open(&home), "owned by uid 65534");
        std::os::unix::fs::chown(&path, Some(0), None).unwrap();
    }
    let key = authority_key_file(&home);
    std::os::unix::fs::chown(&key, Some(NOBODY), None).unwrap();
    insecure(use_folder(&home), "owned by uid 65534");
    std::os::unix::fs::chown(&key, Some(0), None).unwrap();
    // `policies/` and a policy file.
    let policies = home.join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("a.cedar"), "permit (principal, action, resource);").unwrap();
    open(&home).unwrap();
    for path in [policies.clone(), policies.join("a.cedar")] {
        std::os::unix::fs::chown(&path, Some(NOBODY), None).unwrap();
        insecure(open(&home), "owned by uid 65534");
        std::os::unix::fs::chown(&path, Some(0), None).unwrap();
    }
    open(&home).unwrap();
}

#[test]
fn a_planted_store_rev_link_is_not_followed() {
    let dir = initialised();
    let home = dir.path().join("rt");
    let outside = dir.path().join("precious");
    std::fs::write(&outside, b"root's own file, not to be overwritten").unwrap();
    // Planted before the runtime opens: refused, the target untouched.
    std::fs::remove_file(home.join("store.rev")).unwrap();
    symlink(&outside, home.join("store.rev")).unwrap();
    insecure(open(&home), "symbolic link");
    assert_eq!(std::fs::read(&outside).unwrap(), b"root's own file, not to be overwritten");
    // Planted while a runtime runs: its next change is announced to no one, not written through.
    std::fs::remove_file(home.join("store.rev")).unwrap();
    let rt = open(&home).unwrap();
    std::fs::remove_file(home.join("store.rev")).unwrap();
    symlink(&outside, home.join("store.rev")).unwrap();
    rt.register_agent(SUB, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    assert_eq!(std::fs::read(&outside).unwrap(), b"root's own file, not to be overwritten");
    assert!(std::fs::symlink_metadata(home.join("store.rev")).unwrap().file_type().is_symlink());
}

#[test]
fn a_dangling_audit_link_creates_nothing_outside() {
    let dir = initialised();
    let home = dir.path().join("rt");
    let outside = dir.path().join("elsewhere.jsonl");
    // The log is set aside, not deleted: the store's anchor would refuse a log cut short.
    let kept = dir.path().join("audit.kept");
    std::fs::rename(home.join("audit.jsonl"), &kept).unwrap();
    symlink(&outside, home.join("audit.jsonl")).unwrap();
    insecure(open(&home), "symbolic link");
    assert!(!outside.exists(), "a file was created through the link");
    // The same for the database and a key file.
    std::fs::remove_file(home.join("audit.jsonl")).unwrap();
    std::fs::rename(&kept, home.join("audit.jsonl")).unwrap();
    open(&home).unwrap();
    let target = dir.path().join("db-elsewhere");
    std::fs::rename(home.join("store.db"), &target).unwrap();
    symlink(&target, home.join("store.db")).unwrap();
    insecure(open(&home), "symbolic link");
    std::fs::remove_file(home.join("store.db")).unwrap();
    std::fs::rename(&target, home.join("store.db")).unwrap();
    let wal = home.join("store.db-wal");
    let _ = std::fs::remove_file(&wal);
    symlink(dir.path().join("wal-elsewhere"), &wal).unwrap();
    insecure(open(&home), "symbolic link");
    assert!(!dir.path().join("wal-elsewhere").exists());
    std::fs::remove_file(&wal).unwrap();
    // The runtime folder or `keys/` itself as a link.
    let moved = dir.path().join("keys-elsewhere");
    std::fs::rename(home.join("keys"), &moved).unwrap();
    symlink(&moved, home.join("keys")).unwrap();
    insecure(open(&home), "symbolic link");
    std::fs::remove_file(home.join("keys")).unwrap();
    std::fs::rename(&moved, home.join("keys")).unwrap();
    let link = dir.path().join("rt-link");
    symlink(&home, &link).unwrap();
    insecure(open(&link), "symbolic link");
    open(&home).unwrap();
}

#[test]
fn a_hard_linked_file_is_refused() {
    let dir = initialised();
    let home = dir.path().join("rt");
    let key = authority_key_file(&home);
    for path in [home.join("audit.jsonl"), home.join("store.db"), home.join("store.rev"), key] {
        let other = dir.path().join("second-name");
        std::fs::hard_link(&path, &other).unwrap();
        insecure(use_folder(&home), "hard links");
        std::fs::remove_file(&other).unwrap();
        open(&home).unwrap();
    }
}

#[test]
fn policy_files_and_folders_others_can_write_are_refused() {
    let dir = initialised();
    let home = dir.path().join("rt");
    let policies = home.join("policies");
    std::fs::create_dir(&policies).unwrap();
    let file = policies.join("a.cedar");
    std::fs::write(&file, "forbid (principal, action, resource);").unwrap();
    mode(&file, 0o644);
    assert_eq!(open(&home).unwrap().policy_engine().unwrap().policy_count(), 1);
    mode(&file, 0o666);
    insecure(open(&home), "writable by others");
    mode(&file, 0o620);
    insecure(open(&home), "writable by others");
    mode(&file, 0o644);
    mode(&policies, 0o777);
    insecure(open(&home), "writable by others");
    mode(&policies, 0o755);
    // A policy file that is a link (to a permissive policy elsewhere), or a hard link.
    let elsewhere = dir.path().join("permit.cedar");
    std::fs::write(&elsewhere, "permit (principal, action, resource);").unwrap();
    symlink(&elsewhere, policies.join("b.cedar")).unwrap();
    insecure(open(&home), "symbolic link");
    std::fs::remove_file(policies.join("b.cedar")).unwrap();
    std::fs::hard_link(&elsewhere, policies.join("b.cedar")).unwrap();
    insecure(open(&home), "hard links");
    std::fs::remove_file(policies.join("b.cedar")).unwrap();
    // `store.db`, `audit.jsonl`, `store.rev` writable by others; a key file readable by others.
    open(&home).unwrap();
    for name in ["store.db", "audit.jsonl", "store.rev"] {
        mode(&home.join(name), 0o602);
        insecure(open(&home), "writable by others");
        mode(&home.join(name), 0o600);
    }
    let key = authority_key_file(&home);
    mode(&key, 0o640);
    insecure(use_folder(&home), "readable by others");
    mode(&key, 0o600);
    open(&home).unwrap();
}
