//! Writes the conformance vectors of `tests/vectors/` (see its README): every case gives the
//! inputs (clock, keys, agents, policies, resources, tokens, requests) and the expected result,
//! and the Rust, Python and Node suites each run them through their public API.
//!
//! The output is deterministic — fixed clock, keys from fixed seeds, sequential ids, and
//! deterministic signatures (RFC 6979 ECDSA, Ed25519) — so `make test` regenerates the files
//! and fails if they differ from the committed ones.
//!
//! Run: `cargo run -p runtime-identity --example gen_vectors -- tests/vectors`
// A fixture generator: it stops at the first surprise, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod audit_cases;
mod fixture;
mod policy_cases;
mod scope_cases;
mod token_cases;

use std::path::PathBuf;

use fixture::VectorFile;

fn main() {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("tests/vectors"));
    std::fs::create_dir_all(&dir).expect("create the vectors folder");
    let files: Vec<VectorFile> = vec![
        token_cases::tokens(runtime_identity::Algorithm::Es256),
        token_cases::tokens(runtime_identity::Algorithm::EdDsa),
        scope_cases::scopes(),
        scope_cases::attenuation(),
        scope_cases::limits(),
        policy_cases::lifecycle(),
        policy_cases::policies(),
        policy_cases::approvals(),
        policy_cases::proofs(),
        policy_cases::api_errors(),
        audit_cases::audit(),
    ];
    let mut total = 0;
    for f in files {
        total += f.cases.len();
        let path = dir.join(format!("{}.json", f.group));
        let text = f.to_json();
        std::fs::write(&path, text).expect("write a vector file");
        println!("{}: {} cases", path.display(), f.cases.len());
    }
    println!("{total} cases");
}
