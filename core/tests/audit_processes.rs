//! The audit log across processes: SIGKILL during `sync` appends loses no returned decision
//! and leaves a verifiable log; four processes with two threads each keep one chain.
//!
//! The children are this test binary itself, re-run with `RID_AUDIT_CHILD` set, so that no
//! test-only command ships in `rid`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use runtime_identity::audit::{AuditOptions, Durability, EventFilter, Outcome, LOG_FILE};
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, DelegateRequest, Runtime};

const ROLE: &str = "RID_AUDIT_CHILD";
const HOME: &str = "RID_AUDIT_HOME";
const TOKEN: &str = "RID_AUDIT_TOKEN";
const THREADS: usize = 2;
const APPENDS: usize = 2000;

fn child_options() -> RuntimeOptions {
    RuntimeOptions {
        issuer: Some(ISSUER.into()),
        audit: AuditOptions { durability: Durability::Sync, checkpoint_every: 25, ..AuditOptions::default() },
        ..RuntimeOptions::default()
    }
}

/// The child's side. A no-op in a normal test run.
#[test]
fn child() {
    let Ok(role) = std::env::var(ROLE) else { return };
    let home = PathBuf::from(std::env::var(HOME).unwrap());
    let rt = Arc::new(Runtime::open(Some(&home), child_options()).unwrap());
    match role.as_str() {
        "crash" => {
            let token = std::env::var(TOKEN).unwrap();
            let read = CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
            let out = std::io::stdout();
            loop {
                let d = rt.check(token.as_str(), &read);
                assert!(d.allowed, "{d:?}");
                // Printed only after `check` returned: the decision must be on disk.
                let mut w = out.lock();
                writeln!(w, "DECIDED {}", d.decision_id).unwrap();
                w.flush().unwrap();
            }
        }
        "append" => {
            let token = std::env::var(TOKEN).unwrap();
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let rt = Arc::clone(&rt);
                    let token = token.clone();
                    std::thread::spawn(move || {
                        // A decision and its outcome: two appends per call.
                        let read =
                            CheckRequest { action: "crm.read", resource: Some("customer/42"), ..Default::default() };
                        for _ in 0..APPENDS / 2 {
                            let d = rt.check(token.as_str(), &read);
                            assert!(d.allowed, "{d:?}");
                            rt.record_outcome(&d.decision_id, &Outcome::ok()).unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

fn spawn(role: &str, home: &Path, token: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1", "--quiet"])
        .env(ROLE, role)
        .env(HOME, home)
        .env(TOKEN, token)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// A runtime folder with a registered bot and an hour-long token for it.
fn setup(home: &Path) -> String {
    let rt = Runtime::open(Some(home), child_options()).unwrap();
    rt.register_agent(BOT, AgentSpec { owner: Some(ALICE.into()), ..Default::default() }).unwrap();
    let cred = rt
        .delegate(&DelegateRequest {
            to: BOT.into(),
            on_behalf_of: ALICE.into(),
            scopes: narrow_scopes(),
            ttl: Some(3600),
            ..Default::default()
        })
        .unwrap();
    rt.close().unwrap();
    cred.token().to_owned()
}

/// A small deterministic generator for the kill moments (xorshift).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn logged_decisions(rt: &Runtime) -> HashSet<String> {
    rt.audit()
        .events(&EventFilter { kind: Some("decision".into()), ..Default::default() })
        .unwrap()
        .into_iter()
        .filter_map(|e| e.decision_id)
        .collect()
}

#[test]
fn sigkill_during_sync_appends_loses_no_returned_decision() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("rt");
    let token = setup(&home);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0usize;
    let mut torn_set_aside = 0usize;
    for round in 0..20 {
        let mut child = spawn("crash", &home, &token);
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let reader = {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(id) = line.strip_prefix("DECIDED ") {
                        seen.lock().unwrap().push(id.to_owned());
                    }
                }
            })
        };
        // Wait for the child to be deciding, then kill it at a random moment.
        let start = Instant::now();
        while seen.lock().unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "the child never decided");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_micros(rng.below(150_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let returned = seen.lock().unwrap().clone();
        total += returned.len();

        // Half the rounds also leave the torn tail a crash in the middle of a write leaves.
        let torn = if round % 2 == 1 {
            let log = std::fs::read(home.join(LOG_FILE)).unwrap();
            let last = log[..log.len() - 1].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let cut = last + 1 + rng.below((log.len() - last - 2) as u64) as usize;
            let fragment = log[last..cut].to_vec();
            std::fs::OpenOptions::new().append(true).open(home.join(LOG_FILE)).unwrap().write_all(&fragment).unwrap();
            Some(fragment)
        } else {
            None
        };

        let rt = Runtime::open(Some(&home), child_options()).unwrap();
        let report = rt.audit().verify().unwrap();
        assert!(report.ok, "round {round}: {report:?}");
        let logged = logged_decisions(&rt);
        for id in &returned {
            assert!(logged.contains(id), "round {round}: decision {id} returned but is not in the log");
        }
        if let Some(fragment) = torn {
            let aside: Vec<PathBuf> = std::fs::read_dir(&home)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("audit.jsonl.torn-"))
                .collect();
            assert!(aside.iter().any(|p| std::fs::read(p).unwrap() == fragment), "round {round}: torn line not kept");
            torn_set_aside += 1;
            for p in aside {
                std::fs::remove_file(p).unwrap();
            }
        }
        rt.close().unwrap();
    }
    assert!(total > 20, "the children decided only {total} times");
    assert_eq!(torn_set_aside, 10);
    eprintln!("{total} decisions returned before 20 kills; all in the log");
}

#[test]
fn four_processes_with_two_threads_keep_one_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("rt");
    let token = setup(&home);
    let before = {
        let rt = Runtime::open(Some(&home), child_options()).unwrap();
        rt.audit().verify().unwrap().last_seq
    };
    let start = Instant::now();
    let mut children: Vec<Child> = (0..4).map(|_| spawn("append", &home, &token)).collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let elapsed = start.elapsed();
    let rt = Runtime::open(Some(&home), child_options()).unwrap();
    let report = rt.audit().verify().unwrap();
    assert!(report.ok, "{report:?}");
    let outcomes = rt.audit().events(&EventFilter { kind: Some("outcome".into()), ..Default::default() }).unwrap();
    assert_eq!(outcomes.len(), 4 * THREADS * APPENDS / 2);
    let ids: HashSet<&str> = outcomes.iter().filter_map(|e| e.decision_id.as_deref()).collect();
    assert_eq!(ids.len(), 4 * THREADS * APPENDS / 2, "every outcome is there once");
    assert!(ids.is_subset(&logged_decisions(&rt).iter().map(String::as_str).collect()), "each of a decision");
    assert!(report.last_seq >= before + (4 * THREADS * APPENDS) as u64);
    assert_eq!(report.events, report.last_seq);
    eprintln!("16,000 sync appends from 4 processes x 2 threads in {elapsed:?}; {} checkpoints", report.checkpoints);
}
