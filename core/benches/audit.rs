//! The audit log: events appended per second to `audit.jsonl` in `buffered` and `sync` mode
//! with 1, 4 and 16 concurrent writers (one batch = 4,800 decision events, flushed at the
//! end), and verification throughput.
#![allow(clippy::panic, reason = "a benchmark whose setup fails must stop loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runtime_identity::audit::{AuditEvent, AuditOptions, Durability, EventFilter};
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, DelegateRequest, FixedClock, Runtime};

const NOW: i64 = 1_796_000_000;
const BATCH: usize = 4_800;

fn options(durability: Durability) -> RuntimeOptions {
    RuntimeOptions {
        issuer: Some("org:acme".into()),
        clock: Arc::new(FixedClock::at(NOW)),
        audit: AuditOptions { durability, ..AuditOptions::default() },
        ..RuntimeOptions::default()
    }
}

/// A real decision event (one-link chain, granted) to append again and again.
fn decision_event() -> AuditEvent {
    let rt = Runtime::in_memory(options(Durability::Sync)).unwrap_or_else(|e| panic!("{e}"));
    rt.register_agent(
        "agent:acme/support-bot",
        AgentSpec { owner: Some("user:alice@acme".into()), ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let scope = Scope::from_api_value(&serde_json::json!({"actions": ["crm.read"], "resources": ["customer/*"]}))
        .unwrap_or_else(|e| panic!("{e}"));
    let cred = rt
        .delegate(&DelegateRequest {
            to: "agent:acme/support-bot".into(),
            on_behalf_of: "user:alice@acme".into(),
            scopes: vec![scope],
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let args = serde_json::json!({"customer_id": "42", "fields": ["email", "name"]});
    let d = rt.check(
        &cred,
        &CheckRequest {
            action: "crm.read",
            resource: Some("customer/42"),
            args: args.as_object(),
            ..Default::default()
        },
    );
    let filter = EventFilter { decision_id: Some(d.decision_id), ..Default::default() };
    let mut ev = rt.audit().events(&filter).unwrap_or_else(|e| panic!("{e}")).remove(0);
    ev.seq = 0;
    ev.prev.clear();
    ev.hash.clear();
    ev
}

fn append(c: &mut Criterion) {
    let ev = decision_event();
    let mut g = c.benchmark_group("audit append");
    g.sample_size(10).measurement_time(Duration::from_secs(8)).throughput(Throughput::Elements(BATCH as u64));
    for (mode, durability) in [("buffered", Durability::Buffered), ("sync", Durability::Sync)] {
        for writers in [1usize, 4, 16] {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let rt = Runtime::open(Some(dir.path()), options(durability)).unwrap_or_else(|e| panic!("{e}"));
            g.bench_function(format!("{mode}/{writers} writers"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        std::thread::scope(|s| {
                            for _ in 0..writers {
                                s.spawn(|| {
                                    for _ in 0..BATCH / writers {
                                        rt.audit().append(&ev).unwrap_or_else(|e| panic!("{e}"));
                                    }
                                });
                            }
                        });
                        rt.audit().flush().unwrap_or_else(|e| panic!("{e}"));
                        total += start.elapsed();
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let ev = decision_event();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rt = Runtime::open(Some(dir.path()), options(Durability::Buffered)).unwrap_or_else(|e| panic!("{e}"));
    const EVENTS: usize = 20_000;
    for _ in 0..EVENTS {
        rt.audit().append(&ev).unwrap_or_else(|e| panic!("{e}"));
    }
    let mut g = c.benchmark_group("audit verify");
    g.sample_size(10).throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("20k events", |b| {
        b.iter(|| {
            let r = rt.audit().verify().unwrap_or_else(|e| panic!("{e}"));
            assert!(r.ok, "{r:?}");
        })
    });
    g.finish();
}

criterion_group!(benches, append, verify);
criterion_main!(benches);
