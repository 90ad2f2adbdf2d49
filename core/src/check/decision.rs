//! The result of a check: an effect, stable reason codes, and the provenance of the call.

use serde::{Deserialize, Serialize};

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// Why a check decided as it did. The string form never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ReasonCode {
            $($(#[$doc])* $variant,)+
        }

        impl ReasonCode {
            /// Every reason code, in declaration order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant,)+];

            /// The snake_case string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $code,)+
                }
            }

            /// Parses a code from its string form.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(ReasonCode::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// A scope of the credential grants the call (allow).
    Granted => "granted",
    /// A valid approval receipt was consumed for the call (allow).
    Approved => "approved",
    /// The credential is malformed, badly signed, or breaks a chain rule.
    CredentialInvalid => "credential_invalid",
    /// The credential has expired (or is not valid yet).
    CredentialExpired => "credential_expired",
    /// A grant in the chain has been revoked.
    GrantRevoked => "grant_revoked",
    /// An agent in the chain is suspended.
    AgentSuspended => "agent_suspended",
    /// An agent in the chain is revoked.
    AgentRevoked => "agent_revoked",
    /// An agent in the chain is not registered.
    AgentUnknown => "agent_unknown",
    /// No scope grants the action.
    ActionNotGranted => "action_not_granted",
    /// No scope grants the resource.
    ResourceNotGranted => "resource_not_granted",
    /// The resource's data class is not granted.
    DataClassNotGranted => "data_class_not_granted",
    /// An argument is out of its constraint's bound.
    ConstraintViolated => "constraint_violated",
    /// A constrained argument is missing.
    ArgumentMissing => "argument_missing",
    /// A Cedar `forbid` policy applies.
    PolicyForbid => "policy_forbid",
    /// `require_permit` is on and no Cedar `permit` applies.
    NoPermit => "no_permit",
    /// The grant's `max_uses` is used up.
    LimitMaxUses => "limit_max_uses",
    /// The `rate` limit of a grant (per granted action, sub-grants included) is reached.
    LimitRate => "limit_rate",
    /// The `budget` would be exceeded.
    LimitBudget => "limit_budget",
    /// The call needs approval and its grant already has the most pending requests allowed.
    LimitPendingApprovals => "limit_pending_approvals",
    /// An `@approval` policy applies and no receipt was given.
    ApprovalRequired => "approval_required",
    /// The approval receipt is invalid, expired, used, or for another call.
    ApprovalInvalid => "approval_invalid",
    /// A proof of possession is required and was not given.
    ProofRequired => "proof_required",
    /// The proof of possession is invalid, expired, replayed, or for another call.
    ProofInvalid => "proof_invalid",
    /// The request itself is malformed (bad action name, arguments, context).
    RequestInvalid => "request_invalid",
    /// Something failed inside the runtime; the call is denied.
    InternalError => "internal_error",
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason: a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// A lowercase explanation naming the input.
    pub message: String,
}

impl Reason {
    /// A new reason.
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// What the check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The call may run.
    Allow,
    /// The call may not run.
    Deny,
    /// The call may run once a person approves it.
    RequireApproval,
}

impl Effect {
    /// `allow`, `deny` or `require_approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        }
    }
}

/// A pending approval, bound to the exact call by `action_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The request id to approve or deny.
    pub id: String,
    /// SHA-256 (base64url) of the RFC 8785 form of `{action, resource, args, actor, on_behalf_of, grant_id}`.
    pub action_hash: String,
    /// When the request lapses (Unix seconds).
    pub expires_at: i64,
    /// The `@approval` reason(s).
    pub reason: String,
}

/// The decision of one check. A deny is a value, not an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// allow, deny or require_approval.
    pub effect: Effect,
    /// `effect == allow`.
    pub allowed: bool,
    /// Why, most important first.
    pub reasons: Vec<Reason>,
    /// UUIDv7 of this decision.
    pub decision_id: String,
    /// The acting agent, if the credential could be read.
    pub actor: Option<String>,
    /// The agents of the chain, the authority's grantee first.
    pub chain: Vec<String>,
    /// The principal on whose behalf the call is made.
    pub on_behalf_of: Option<String>,
    /// The leaf grant id.
    pub grant_id: Option<String>,
    /// Ids of the policies that decided (forbids, permits, approvals).
    pub policies: Vec<String>,
    /// The approval to ask for, when `effect == require_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_request: Option<ApprovalRequest>,
    /// The approval receipt this call consumed (`effect == allow` by approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_used: Option<String>,
    /// Whether the call came with a proof of possession that verified (signed by the leaf
    /// `cnf` key, for this exact call, unused); `false` without one or when it was refused.
    #[serde(default)]
    pub proof: bool,
    /// The action checked.
    pub action: String,
    /// The resource checked.
    pub resource: String,
    /// When it was decided (Unix milliseconds).
    pub decided_at_ms: i64,
}

impl Decision {
    /// The first reason's code.
    pub fn code(&self) -> Option<ReasonCode> {
        self.reasons.first().map(|r| r.code)
    }
}
