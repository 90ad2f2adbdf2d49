//! Typed errors with stable snake_case codes.
//!
//! Every failure the crate reports is an [`Error`] carrying an [`ErrorCode`]. The codes cross
//! the language bindings unchanged and are listed at runtime by [`ErrorCode::ALL`]; a deny from
//! a check is not an error but a value.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// The stable code of an [`Error`]. The string form never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The snake_case string of the code.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// Parses a code from its string form.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(ErrorCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// A token is not a well-formed chain of JWS compact links with the expected claims.
    TokenMalformed => "token_malformed",
    /// A link's `exp` (plus leeway) has passed.
    TokenExpired => "token_expired",
    /// A link's `nbf` or `iat` lies in the future (beyond leeway).
    TokenNotYetValid => "token_not_yet_valid",
    /// A signature does not verify with the key it must be verified with.
    SignatureInvalid => "signature_invalid",
    /// A header names an algorithm other than `ES256` or `EdDSA`, or one that does not fit the key.
    AlgorithmNotAllowed => "algorithm_not_allowed",
    /// Link 0 names a `kid` the authority does not have.
    UnknownKey => "unknown_key",
    /// Links do not follow each other: `prf`, `sub`, `iss`/`act` or depth numbering differ.
    ChainBroken => "chain_broken",
    /// A token does not end with the seal of its last link (docs/ARCHITECTURE.md § Tokens): missing, malformed, or
    /// not the private half of the last link's `rid.nxt` (a link was stripped).
    SealInvalid => "seal_invalid",
    /// A link grants more than its parent (scopes, limits or lifetime).
    ScopeEscalation => "scope_escalation",
    /// A chain is deeper than a link's `max_depth` or the hard limit.
    DepthExceeded => "depth_exceeded",
    /// A grant in the chain has been revoked.
    GrantRevoked => "grant_revoked",
    /// An agent in the chain is suspended.
    AgentSuspended => "agent_suspended",
    /// An agent in the chain is revoked.
    AgentRevoked => "agent_revoked",
    /// An agent is not registered.
    AgentUnknown => "agent_unknown",
    /// An agent with this id is already registered.
    AgentExists => "agent_exists",
    /// A principal id is not valid.
    PrincipalInvalid => "principal_invalid",
    /// An input exceeds a size, depth or count bound.
    InputTooLarge => "input_too_large",
    /// The token's issuer is not this authority.
    IssuerInvalid => "issuer_invalid",
    /// The token's audience is not this trust domain.
    AudienceInvalid => "audience_invalid",
    /// A scope is not well formed (patterns, constraints, limits).
    ScopeInvalid => "scope_invalid",
    /// A duration (ttl) is not well formed or exceeds the configured maximum.
    TtlInvalid => "ttl_invalid",
    /// A key is not well formed, or a private key needed for signing is not available.
    KeyInvalid => "key_invalid",
    /// An argument to an API call is not valid.
    InvalidArgument => "invalid_argument",
    /// A policy file or text does not parse or validate.
    PolicyInvalid => "policy_invalid",
    /// An approval request is unknown, already decided, expired, or the approver is not a user.
    ApprovalInvalid => "approval_invalid",
    /// The person may not decide this approval request: the organisation's `rid.approve` rules
    /// do not permit it, or (with none loaded) they are neither the person the agent acts for
    /// nor the agent's owner.
    ApproverNotAllowed => "approver_not_allowed",
    /// An outcome for a decision that was not allowed by this runtime, or whose outcome is
    /// already recorded.
    OutcomeInvalid => "outcome_invalid",
    /// The store holds data this version cannot read, or a file in the runtime folder is not ours.
    StoreCorrupt => "store_corrupt",
    /// A folder or file of the runtime folder could be changed by someone else (owned by
    /// another user, writable by others, a symbolic or hard link); nothing was read from it.
    StoreInsecure => "store_insecure",
    /// The store could not be read or written (I/O, locking).
    StoreUnavailable => "store_unavailable",
    /// The audit log is unreadable or its last line is not a valid event; appends stop.
    AuditCorrupt => "audit_corrupt",
    /// The audit log could not be written (I/O error); the guarded call does not run.
    AuditUnavailable => "audit_unavailable",
    /// A bug or an unexpected state; the operation was refused.
    InternalError => "internal_error",
}

impl ErrorCode {
    /// The name of the exception class of this code in the language bindings, without the
    /// language's suffix: `InvalidCredential` is `InvalidCredential` in Python and
    /// `InvalidCredentialError` in Node. The bindings read this at import, so the table lives
    /// here once.
    pub const fn class_name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            TokenMalformed | TokenExpired | TokenNotYetValid | SignatureInvalid | AlgorithmNotAllowed | UnknownKey
            | ChainBroken | SealInvalid | GrantRevoked | AgentSuspended | AgentRevoked | AudienceInvalid => {
                "InvalidCredential"
            }
            ScopeEscalation | DepthExceeded => "Delegation",
            AgentUnknown | AgentExists => "Agent",
            PrincipalInvalid | InputTooLarge | IssuerInvalid | ScopeInvalid | TtlInvalid | KeyInvalid
            | InvalidArgument | OutcomeInvalid => "InvalidArgument",
            PolicyInvalid => "Policy",
            ApprovalInvalid | ApproverNotAllowed => "Approval",
            StoreCorrupt | StoreInsecure | StoreUnavailable => "Store",
            AuditCorrupt | AuditUnavailable => "Audit",
            InternalError => "Internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of this crate: a stable [`ErrorCode`] and a lowercase message naming the bad input.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Shorthand for `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Builds an [`Error`] with `format!` arguments: `err!(TokenMalformed, "bad `{x}`")`.
#[macro_export]
#[doc(hidden)]
macro_rules! err {
    ($code:ident, $($arg:tt)+) => {
        $crate::error::Error::new($crate::error::ErrorCode::$code, format!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert_eq!(ErrorCode::from_code(s), Some(*code));
        }
        assert_eq!(ErrorCode::from_code("nope"), None);
    }

    #[test]
    fn every_code_has_a_class_name() {
        for code in ErrorCode::ALL {
            let name = code.class_name();
            assert!(name.starts_with(|c: char| c.is_ascii_uppercase()), "{code}: {name}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{code}: {name}");
        }
    }
}
