//! The runtime: one trust domain's authority, agent registry, delegation and verification,
//! over a [`Store`].

mod agents;
mod approvals;
mod audit;
mod authority;
mod cache;
mod call;
mod check;
mod delegation;
pub(crate) mod policies;
mod refusal;
mod state;
mod verifier;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audit::{AuditLog, AuditOptions, Sink, LOG_FILE};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{IdSource, RandomIds};
use crate::keys::Algorithm;
use crate::principal::{preview, validate_issuer};
use crate::store::{MemoryStore, SqliteStore, Store};

pub use agents::RotateKey;
pub use approvals::{Approver, Receipt, MAX_PENDING_APPROVALS_PER_GRANT};
pub use audit::MAX_PENDING_OUTCOMES;
pub use check::Presented;
pub use delegation::{AttenuateRequest, DelegateRequest};

/// The environment variable naming the runtime folder.
pub const HOME_ENV: &str = "RUNTIME_IDENTITY_HOME";
/// The runtime folder used when neither a path nor [`HOME_ENV`] is given.
pub const DEFAULT_HOME: &str = ".runtime-identity";
/// The issuer of a new store when none is configured.
pub const DEFAULT_ISSUER: &str = "org:local";
/// The policy folder inside the runtime folder.
pub const POLICY_DIR: &str = "policies";
/// Default lifetime of a grant, in seconds (15 minutes).
pub const DEFAULT_TTL_SECONDS: u64 = 15 * 60;
/// Default hard maximum lifetime of a grant, in seconds (24 hours).
pub const DEFAULT_MAX_TTL_SECONDS: u64 = 24 * 3600;

/// How a runtime is set up.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The trust domain's issuer (`org:acme` or an `https://` URL). Must match the store's
    /// issuer when the store already has one; a new store gets this or [`DEFAULT_ISSUER`].
    pub issuer: Option<String>,
    /// Algorithm for new authority and agent keys.
    pub alg: Algorithm,
    /// Lifetime of grants that do not name one.
    pub default_ttl: u64,
    /// The longest lifetime any grant may have.
    pub max_ttl: u64,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Where grant, decision and approval ids come from (random UUIDv7 by default).
    pub ids: Arc<dyn IdSource>,
    /// Also require an explicit Cedar `permit` for every call (grants alone do not suffice).
    pub require_permit: bool,
    /// Require a proof of possession with every check.
    pub require_proof: bool,
    /// Let resource attributes passed with a call replace registered ones (off: a passed
    /// data class or attribute must equal the registered one or fill an unregistered one).
    pub allow_resource_override: bool,
    /// The audit log's durability, checkpoint interval and allow-listed arguments.
    pub audit: AuditOptions,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            issuer: None,
            alg: Algorithm::Es256,
            default_ttl: DEFAULT_TTL_SECONDS,
            max_ttl: DEFAULT_MAX_TTL_SECONDS,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            require_permit: false,
            require_proof: false,
            allow_resource_override: false,
            audit: AuditOptions::default(),
        }
    }
}

impl RuntimeOptions {
    /// Options with this issuer.
    pub fn with_issuer(issuer: impl Into<String>) -> Self {
        Self { issuer: Some(issuer.into()), ..Self::default() }
    }
}

/// The runtime folder: `path`, else `$RUNTIME_IDENTITY_HOME`, else `./.runtime-identity`.
pub fn resolve_home(path: Option<&Path>) -> PathBuf {
    match path {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os(HOME_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME)),
    }
}

/// One trust domain: the authority, the agent registry, delegation and verification.
/// Safe to share between threads.
pub struct Runtime {
    store: Arc<dyn Store>,
    issuer: String,
    options: RuntimeOptions,
    /// The store view and verification's caches.
    verifier: verifier::Verifier,
    policies: std::sync::RwLock<Arc<crate::policy::PolicyEngine>>,
    policy_dir: Option<PathBuf>,
    audit: AuditLog,
    /// Allowed decisions awaiting their outcome.
    outcomes: audit::PendingOutcomes,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("issuer", &self.issuer).field("store", &self.store).finish()
    }
}

impl Runtime {
    /// Opens the runtime folder (see [`resolve_home`]), creating it on first use.
    pub fn open(path: Option<&Path>, options: RuntimeOptions) -> Result<Self> {
        let home = resolve_home(path);
        let store = SqliteStore::open(&home)?;
        let sink = Sink::open_file(&home.join(LOG_FILE))?;
        let mut rt = Self::build(Arc::new(store), options, sink)?;
        rt.policy_dir = Some(home.join(POLICY_DIR));
        rt.reload_policies()?;
        Ok(rt)
    }

    /// A runtime whose state lives in memory only.
    pub fn in_memory(options: RuntimeOptions) -> Result<Self> {
        Self::with_store(Arc::new(MemoryStore::new()), options)
    }

    /// A runtime over any store, with its audit log in memory.
    pub fn with_store(store: Arc<dyn Store>, options: RuntimeOptions) -> Result<Self> {
        Self::build(store, options, Sink::memory())
    }

    fn build(store: Arc<dyn Store>, options: RuntimeOptions, sink: Sink) -> Result<Self> {
        if let Some(issuer) = &options.issuer {
            validate_issuer(issuer)?;
        }
        if options.default_ttl == 0 || options.default_ttl > options.max_ttl {
            return Err(Error::new(
                ErrorCode::TtlInvalid,
                "the default ttl must be positive and at most the maximum ttl",
            ));
        }
        let wanted = options.issuer.as_deref().unwrap_or(DEFAULT_ISSUER);
        let issuer = match store.issuer()? {
            Some(stored) => stored,
            None => store.init_issuer(wanted)?,
        };
        if let Some(requested) = &options.issuer {
            if requested != &issuer {
                return Err(Error::new(
                    ErrorCode::IssuerInvalid,
                    format!("this runtime folder belongs to issuer `{issuer}`, not `{}`", preview(requested)),
                ));
            }
        }
        let alg = options.alg;
        let now = options.clock.now();
        store.ensure_authority_key(&mut || crate::keys::PrivateKey::generate(alg), now)?;
        let verifier = verifier::Verifier::new(Arc::clone(&store))?;
        let audit =
            AuditLog::new(sink, Arc::clone(&store), issuer.clone(), Arc::clone(&options.clock), options.audit.clone())?;
        Ok(Self {
            store,
            issuer,
            options,
            verifier,
            policies: std::sync::RwLock::new(Arc::new(crate::policy::PolicyEngine::empty())),
            policy_dir: None,
            audit,
            outcomes: audit::PendingOutcomes::default(),
        })
    }

    /// The trust domain's issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The options the runtime was opened with.
    pub fn options(&self) -> &RuntimeOptions {
        &self.options
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn now(&self) -> i64 {
        self.options.clock.now()
    }
}
