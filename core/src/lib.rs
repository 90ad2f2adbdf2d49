//! # runtime-identity
//!
//! An identity layer for AI agents: every agent is registered with an accountable owner and a
//! lifecycle; authority reaches it only through short-lived, signed, narrowing delegation
//! chains; and every presented chain is verified against signatures, scopes, revocation and
//! agent status.
//!
//! ```
//! use runtime_identity::{Runtime, RuntimeOptions, AgentSpec, DelegateRequest, Scope};
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

pub mod agent;
pub mod approval;
pub mod audit;
mod bounded;
pub mod check;
pub mod clock;
pub mod duration;
pub mod error;
pub mod ids;
pub mod json;
pub mod keys;
pub mod policy;
pub mod principal;
pub mod proof;
pub mod runtime;
pub mod scope;
pub mod store;
pub mod token;

pub use agent::{AgentFilter, AgentRecord, AgentSpec, AgentStatus};
pub use check::{CheckRequest, Decision, Effect, ReasonCode};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorCode, Result};
pub use keys::{Algorithm, Jwk, Jwks, PrivateKey, PublicKey};
pub use principal::PrincipalId;
pub use runtime::{
    Approver, AttenuateRequest, DelegateRequest, Presented, Receipt, RotateKey, Runtime, RuntimeOptions,
};
pub use scope::Scope;
pub use token::{Credential, VerifiedChain, VerifiedLink};

/// The README's Rust quickstart, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
