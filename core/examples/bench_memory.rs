//! Resident memory per registered agent and per cached verified chain, for an in-memory runtime
//! and a folder runtime (a temporary folder). Linux only: it reads `VmRSS` from
//! `/proc/self/status`.
//!
//! - **Per agent:** the resident-set growth while registering N agents (a key generated and
//!   kept in the store for each), divided by N. It includes everything the runtime keeps per
//!   agent: the store's record and private key, the record in the runtime's loaded view, the
//!   `agent.registered` audit event (kept in memory by an in-memory runtime), SQLite's page
//!   cache (folder runtime, bounded), and memory freed by the state reloads during registration
//!   but not returned to the system.
//! - **Per cached chain:** N distinct 2-link credentials (delegate, then attenuate) are minted by
//!   other runtimes over the same store, which stay alive so that none of the memory they used
//!   is freed and reused; the credentials are dropped and their token strings kept. A fresh
//!   runtime over that store then verifies one token (warm-up) and each of the N tokens once:
//!   the resident-set growth around that loop only, divided by N, is the cost of one entry in
//!   its verified-chain cache (the chain, its 32-byte key, the map slot). Every token grants
//!   the same scopes to the same agents, as repeated grants do: the chains share those.
//!
//! Each of the four figures is measured in a fresh process (this program run again with
//! `--only`), so that memory freed by one measurement cannot be reused by the next and hide
//! its cost.
//!
//! Run: `cargo run --release -p runtime-identity --example bench_memory -- [OUT.json] [--n N]
//! [--alg ES256|EdDSA]` (N = 10,000 and ES256, the default algorithm, unless given). Prints one
//! JSON object and writes it to OUT.json when given.
// A measurement program: a failed setup stops it loudly, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use runtime_identity::audit::{AuditOptions, Durability};
use runtime_identity::scope::Scope;
use runtime_identity::store::MemoryStore;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, Algorithm, AttenuateRequest, DelegateRequest, FixedClock, Runtime};
use serde_json::{json, Value};

const NOW: i64 = 1_796_000_000;
const ALICE: &str = "user:alice@acme";
const BOT: &str = "agent:acme/support-bot";
const SUB: &str = "agent:acme/sub-bot";
/// Credentials minted per minting runtime: each mint caches a 1- and a 2-link chain in the
/// minting runtime, which must stay under its cache's bound (16,384 chains) so that it never
/// clears (and frees) its cache.
const MINT_BATCH: usize = 5_000;
/// The bar of the performance issue.
const BAR_BYTES: f64 = 1024.0;

/// The resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status (Linux only)");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line in /proc/self/status");
    let kib: u64 = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().expect("VmRSS in kB");
    kib * 1024
}

fn options(alg: Algorithm) -> RuntimeOptions {
    RuntimeOptions {
        issuer: Some("org:acme".into()),
        alg,
        clock: Arc::new(FixedClock::at(NOW)),
        audit: AuditOptions { durability: Durability::Buffered, ..AuditOptions::default() },
        ..RuntimeOptions::default()
    }
}

/// Where a runtime keeps its state: memory, or a folder.
#[derive(Clone, Copy)]
enum Kind {
    InMemory,
    Folder,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::InMemory => "in_memory",
            Kind::Folder => "folder",
        }
    }
}

/// Opens runtimes of one kind over one shared state (one `MemoryStore`, or one folder).
struct Opener {
    kind: Kind,
    alg: Algorithm,
    store: Arc<MemoryStore>,
    dir: tempfile::TempDir,
}

impl Opener {
    fn new(kind: Kind, alg: Algorithm) -> Self {
        Self { kind, alg, store: Arc::new(MemoryStore::new()), dir: tempfile::tempdir().expect("a temporary folder") }
    }

    fn open(&self) -> Runtime {
        match self.kind {
            // What `Runtime::in_memory` builds, over a store that several runtimes can share.
            Kind::InMemory => Runtime::with_store(self.store.clone(), options(self.alg)).expect("in-memory runtime"),
            Kind::Folder => {
                Runtime::open(Some(&self.dir.path().join("rt")), options(self.alg)).expect("folder runtime")
            }
        }
    }
}

struct Measured {
    bytes_before: u64,
    bytes_after: u64,
    count: usize,
    seconds: f64,
}

impl Measured {
    fn per_item(&self) -> f64 {
        (self.bytes_after.saturating_sub(self.bytes_before)) as f64 / self.count as f64
    }

    fn json(&self, extra: Value) -> Value {
        let per = self.per_item();
        let mut v = json!({
            "count": self.count,
            "rss_before_bytes": self.bytes_before,
            "rss_after_bytes": self.bytes_after,
            "rss_delta_bytes": self.bytes_after.saturating_sub(self.bytes_before),
            "bytes_per_item": (per * 10.0).round() / 10.0,
            "seconds": (self.seconds * 100.0).round() / 100.0,
            "bar_bytes": BAR_BYTES,
            "bar_met": per <= BAR_BYTES,
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }
}

/// RSS growth while registering `n` agents in a fresh runtime of `kind`.
fn per_agent(kind: Kind, alg: Algorithm, n: usize) -> Value {
    let opener = Opener::new(kind, alg);
    let rt = opener.open();
    // One agent first, so that lazily built state is not counted.
    rt.register_agent("agent:acme/warm-up", AgentSpec { owner: Some(ALICE.into()), ..Default::default() })
        .expect("register");
    let ids: Vec<String> = (0..n).map(|i| format!("agent:acme/bot-{i:05}")).collect();
    let started = Instant::now();
    let before = rss_bytes();
    for id in &ids {
        rt.register_agent(id, AgentSpec { owner: Some(ALICE.into()), org: Some("acme".into()), ..Default::default() })
            .expect("register");
    }
    let after = rss_bytes();
    let m = Measured { bytes_before: before, bytes_after: after, count: n, seconds: started.elapsed().as_secs_f64() };
    let registered = rt.list_agents(&Default::default()).expect("list agents").len();
    assert_eq!(registered, n + 1, "agents registered");
    eprintln!("{}: {n} agents, {:.0} bytes each ({:.1} s)", kind.name(), m.per_item(), m.seconds);
    let mut extra = json!({"agents_registered": registered});
    if let Kind::Folder = kind {
        // The same agents as a process that opens the folder finds them, without what the
        // registrations left behind.
        drop(rt);
        let exe = std::env::current_exe().expect("this program's path");
        let dir = opener.dir.path().join("rt");
        let output = std::process::Command::new(exe)
            .args(["--only", "reopen", "--store", "folder", "--n", &n.to_string(), "--dir"])
            .arg(&dir)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run the reopen measurement");
        assert!(output.status.success(), "the reopen measurement failed: {}", output.status);
        extra["reopened"] = serde_json::from_slice(&output.stdout).expect("the reopen measurement's JSON");
    }
    m.json(extra)
}

/// RSS growth of opening the folder `dir` (which holds `n` + 1 agents) and loading its state,
/// minus that of opening a folder holding one agent, divided by `n`.
fn reopen(dir: &Path, alg: Algorithm, n: usize) -> Value {
    let small = Opener::new(Kind::Folder, alg);
    let touch = |rt: &Runtime| {
        // The runtime's view of the store is loaded when it opens; a listing proves the agents are there.
        rt.list_agents(&Default::default()).expect("list agents").len()
    };
    // Kept open: its memory, freed, would be reused by the next open and hide that one's cost.
    let seed = small.open();
    seed.register_agent("agent:acme/warm-up", AgentSpec { owner: Some(ALICE.into()), ..Default::default() })
        .expect("register");
    let before_small = rss_bytes();
    let one = small.open();
    let after_small = rss_bytes();
    let started = Instant::now();
    let before = rss_bytes();
    let big = Runtime::open(Some(dir), options(alg)).expect("reopen the folder");
    let after = rss_bytes();
    let seconds = started.elapsed().as_secs_f64();
    let listed = touch(&big);
    assert_eq!(listed, n + 1, "agents in the reopened folder");
    assert_eq!(touch(&one), 1, "agents in the small folder");
    drop(seed);
    let fixed = after_small.saturating_sub(before_small);
    let delta = after.saturating_sub(before);
    let per = delta.saturating_sub(fixed) as f64 / n as f64;
    json!({
        "what": "open a folder holding N agents, minus opening one holding 1, divided by N",
        "rss_open_one_agent_bytes": fixed,
        "rss_open_n_agents_bytes": delta,
        "bytes_per_item": (per * 10.0).round() / 10.0,
        "seconds": (seconds * 100.0).round() / 100.0,
        "bar_met": per <= BAR_BYTES,
    })
}

fn scope() -> Scope {
    Scope::from_api_value(&json!({
        "actions": ["crm.*", "payments.refund"], "resources": ["customer/*"],
        "constraints": {"amount": {"max": 100}}
    }))
    .expect("scope")
}

/// RSS growth of a fresh runtime's verified-chain cache while it verifies `n` distinct 2-link
/// tokens once each.
fn per_cached_chain(kind: Kind, alg: Algorithm, n: usize) -> Value {
    let opener = Opener::new(kind, alg);
    let setup = opener.open();
    for id in [BOT, SUB] {
        setup
            .register_agent(
                id,
                AgentSpec { owner: Some(ALICE.into()), max_delegation_depth: Some(3), ..Default::default() },
            )
            .expect("register");
    }
    // Mint n + 1 credentials (one for the warm-up), keeping only their token strings. The
    // minting runtimes stay alive until the end: freeing their caches before the measurement
    // would hand their memory to the measured cache and hide its cost.
    let mut minters = vec![setup];
    let mut tokens: Vec<String> = Vec::with_capacity(n + 1);
    let started = Instant::now();
    while tokens.len() < n + 1 {
        if minters.last().map_or(0, Runtime::cached_chains) + 2 > 2 * MINT_BATCH {
            minters.push(opener.open());
        }
        let rt = minters.last().expect("a minting runtime");
        let c0 = rt
            .delegate(&DelegateRequest {
                to: BOT.into(),
                on_behalf_of: ALICE.into(),
                scopes: vec![scope()],
                ..Default::default()
            })
            .expect("delegate");
        let c1 = rt
            .attenuate(c0.token(), &AttenuateRequest { to: SUB.into(), scopes: vec![scope()], ..Default::default() })
            .expect("attenuate");
        assert_eq!(c1.chain().links.len(), 2, "a 2-link chain");
        tokens.push(c1.token().to_owned());
    }
    let mint_seconds = started.elapsed().as_secs_f64();
    let distinct: std::collections::HashSet<&str> = tokens.iter().map(String::as_str).collect();
    assert_eq!(distinct.len(), n + 1, "distinct tokens");
    drop(distinct);

    let rt = opener.open();
    let (warm, timed) = tokens.split_first().expect("tokens");
    rt.verify(warm).expect("verify the warm-up token");
    assert_eq!(rt.cached_chains(), 1, "a fresh cache holds the warm-up chain only");
    let started = Instant::now();
    let before = rss_bytes();
    for t in timed {
        // The credential is dropped at once: only the cache keeps the chain.
        rt.verify(t).expect("verify");
    }
    let after = rss_bytes();
    let m = Measured { bytes_before: before, bytes_after: after, count: n, seconds: started.elapsed().as_secs_f64() };
    let cached = rt.cached_chains();
    assert_eq!(cached, n + 1, "every verified chain is cached");
    let token_bytes = timed.iter().map(String::len).sum::<usize>() as f64 / n as f64;
    eprintln!("{}: {n} cached chains, {:.0} bytes each ({:.1} s)", kind.name(), m.per_item(), m.seconds);
    drop(minters);
    m.json(json!({
        "cached_chains": cached,
        "links": 2,
        "mean_token_bytes": token_bytes.round(),
        "mint_seconds": (mint_seconds * 100.0).round() / 100.0,
    }))
}

/// One measurement in this process: `agents` or `chains`, for one kind of runtime.
fn measure(what: &str, kind: Kind, alg: Algorithm, n: usize) -> Value {
    match what {
        "agents" => per_agent(kind, alg, n),
        "chains" => per_cached_chain(kind, alg, n),
        _ => panic!("--only agents|chains|reopen, not `{what}`"),
    }
}

/// Runs one measurement in a fresh process (this program with `--only`), so that memory freed
/// by an earlier measurement cannot be reused by a later one and hide its cost.
fn measure_in_child(what: &str, kind: Kind, alg: Algorithm, n: usize) -> Value {
    let exe = std::env::current_exe().expect("this program's path");
    let output = std::process::Command::new(exe)
        .args(["--only", what, "--store", kind.name(), "--alg", &alg.to_string(), "--n", &n.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run a measurement process");
    assert!(output.status.success(), "the {what}/{} measurement failed: {}", kind.name(), output.status);
    serde_json::from_slice(&output.stdout).expect("a measurement's JSON")
}

fn main() {
    let mut out: Option<String> = None;
    let mut n = 10_000usize;
    let mut alg = Algorithm::Es256;
    let mut only: Option<String> = None;
    let mut store = Kind::InMemory;
    let mut dir: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--n" => n = args.next().and_then(|v| v.parse().ok()).filter(|&v| v > 0).expect("--n COUNT"),
            "--alg" => {
                alg = match args.next().as_deref() {
                    Some("ES256") => Algorithm::Es256,
                    Some("EdDSA") => Algorithm::EdDsa,
                    _ => panic!("--alg ES256|EdDSA"),
                }
            }
            "--only" => only = Some(args.next().expect("--only agents|chains|reopen")),
            "--dir" => dir = Some(args.next().expect("--dir FOLDER").into()),
            "--store" => {
                store = match args.next().as_deref() {
                    Some("in_memory") => Kind::InMemory,
                    Some("folder") => Kind::Folder,
                    _ => panic!("--store in_memory|folder"),
                }
            }
            "-h" | "--help" => {
                println!("usage: bench_memory [OUT.json] [--n COUNT] [--alg ES256|EdDSA]");
                return;
            }
            _ if out.is_none() && !a.starts_with('-') => out = Some(a),
            _ => panic!("unknown argument `{a}`"),
        }
    }
    if !Path::new("/proc/self/status").exists() {
        panic!("bench_memory reads /proc/self/status: Linux only");
    }
    if let Some(what) = only {
        let v = match (what.as_str(), &dir) {
            ("reopen", Some(d)) => reopen(d, alg, n),
            ("reopen", None) => panic!("--only reopen needs --dir FOLDER"),
            _ => measure(&what, store, alg, n),
        };
        println!("{v}");
        return;
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let mut per_agent_json = serde_json::Map::new();
    let mut per_chain_json = serde_json::Map::new();
    for kind in [Kind::InMemory, Kind::Folder] {
        per_agent_json.insert(kind.name().into(), measure_in_child("agents", kind, alg, n));
        per_chain_json.insert(kind.name().into(), measure_in_child("chains", kind, alg, n));
    }
    let doc = json!({
        "what": "resident set (VmRSS) growth per registered agent and per cached verified 2-link chain",
        "method": "each figure in a fresh process: VmRSS from /proc/self/status read before and after \
                   the loop, delta / count. Agents: N registrations (a key generated for each) in a fresh \
                   runtime after one warm-up registration. Chains: N distinct 2-link tokens minted by \
                   other runtimes over the same store (kept alive), then verified once each by a fresh \
                   runtime after one warm-up verification; only that loop is measured. Every token grants the                    same scope set to the same two agents (as repeated grants do), which cached chains                    share.",
        "alg": alg.to_string(),
        "count": n,
        "profile": profile,
        "bar_bytes": BAR_BYTES,
        "per_agent": per_agent_json,
        "per_cached_chain": per_chain_json,
    });
    let text = serde_json::to_string_pretty(&doc).expect("json");
    println!("{text}");
    if let Some(path) = out {
        std::fs::write(&path, format!("{text}\n")).expect("write the JSON file");
        eprintln!("written to {path}");
    }
}
