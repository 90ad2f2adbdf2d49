//! # runtime-identity
//!
//! An identity layer for AI agents: every agent is registered with an accountable owner and a
//! lifecycle; authority reaches it only through short-lived, signed, narrowing delegation
//! chains; and every presented chain is verified against signatures, scopes, revocation and
//! agent status.
//!
//! ```
//! use runtime_identity::scope::Scope;
//! use runtime_identity::{Runtime, RuntimeOptions, AgentSpec, DelegateRequest};
//! # fn main() -> runtime_identity::Result<()> {
//! let rt = Runtime::in_memory(RuntimeOptions::with_issuer("org:acme"))?;
//! rt.register_agent("agent:acme/support-bot", AgentSpec { owner: Some("user:alice@acme".into()), ..Default::default() })?;
//! let cred = rt.delegate(&DelegateRequest {
//!     to: "agent:acme/support-bot".into(),
//!     on_behalf_of: "user:alice@acme".into(),
//!     scopes: vec![Scope::new(["crm.read"])],
//!     ..Default::default()
//! })?;
//! assert_eq!(rt.verify(cred.token())?.chain().actor().map(|a| a.as_str()), Some("agent:acme/support-bot"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![deny(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)]

// The public surface: each item has one path. The runtime's facade (the types of the
// quickstart, the check's request and decision, errors, keys, clocks, principals, agents) is
// re-exported at the root from private modules; the modules below that are `pub` are the
// ones whose items users name by module (scopes, tokens, policies, approvals, proofs, the
// audit log, stores and their counters). What only this workspace's tools need is in
// [`internal`], hidden and without a stability promise.
mod agent;
pub mod approval;
pub mod audit;
mod bounded;
mod check;
mod clock;
mod duration;
mod error;
mod ids;
mod jcs;
mod json;
mod keys;
pub mod limits;
pub mod policy;
mod principal;
pub mod proof;
mod runtime;
pub mod scope;
pub mod store;
pub mod token;

pub use agent::{
    AgentFilter, AgentKey, AgentRecord, AgentSpec, AgentStatus, DEFAULT_MAX_DELEGATION_DEPTH, MAX_ATTRIBUTES_BYTES,
    MAX_TEXT_LEN,
};
pub use check::{ApprovalRequest, CheckRequest, Decision, Effect, Reason, ReasonCode};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorCode, Result};
pub use ids::{IdSource, RandomIds, SequentialIds};
pub use keys::{Algorithm, Jwk, Jwks, PrivateKey, PublicKey};
pub use principal::{PrincipalId, PrincipalKind, MAX_PRINCIPAL_LEN};
pub use runtime::{
    resolve_home, Approver, AttenuateRequest, DelegateRequest, Presented, Receipt, RotateKey, Runtime, RuntimeOptions,
    DEFAULT_HOME, DEFAULT_ISSUER, DEFAULT_MAX_TTL_SECONDS, DEFAULT_TTL_SECONDS, HOME_ENV,
    MAX_PENDING_APPROVALS_PER_GRANT, MAX_PENDING_OUTCOMES, POLICY_DIR,
};

/// What the workspace's own tools need beyond the public surface: the vector generator
/// (`core/examples/gen_vectors`), the benchmarks, the `rid` binary, the tests and the
/// bindings. Not part of the API: anything here may change in any release.
#[doc(hidden)]
pub mod internal {
    pub use crate::clock::rfc3339;
    pub use crate::duration::{format_duration, parse_duration};
    /// The RFC 8785 writer.
    pub mod jcs {
        pub use crate::jcs::*;
    }
    /// Strict JSON text.
    pub mod json {
        pub use crate::json::*;
    }
    /// JWS links: signing and parsing one link, its digest.
    pub mod jws {
        pub use crate::token::jws::*;
    }
    /// A token's seal (the proof that a chain ends where its holder says).
    pub mod seal {
        pub use crate::token::seal::*;
    }
    pub use crate::runtime::policies::read_policy_files;
}

/// The README's Rust quickstart, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
