//! One audit event: its fields (docs/ARCHITECTURE.md § Audit log) and its type. Its line — canonical form
//! and hash — is written by [`super::line`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::{Effect, Reason};

/// The format version written in `v`.
pub const FORMAT_VERSION: u32 = 1;
/// `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The longest line the log accepts or reads (bytes).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

macro_rules! event_types {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What an event records. The string form never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $($(#[$doc])* $variant,)+
        }

        impl EventType {
            /// Every event type, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            /// The `type` string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)+
                }
            }

            /// Parses a `type` string.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventType::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    /// A check decided (written before the guarded action runs).
    Decision => "decision",
    /// A guarded action finished.
    Outcome => "outcome",
    /// An agent was registered.
    AgentRegistered => "agent.registered",
    /// An agent was suspended.
    AgentSuspended => "agent.suspended",
    /// An agent was resumed.
    AgentResumed => "agent.resumed",
    /// An agent was revoked.
    AgentRevoked => "agent.revoked",
    /// An agent's key was rotated.
    AgentKeyRotated => "agent.key_rotated",
    /// The authority delegated a grant.
    GrantIssued => "grant.issued",
    /// A grant was attenuated to a sub-agent.
    GrantAttenuated => "grant.attenuated",
    /// A grant (and its descendants) was revoked.
    GrantRevoked => "grant.revoked",
    /// A check opened an approval request.
    ApprovalRequested => "approval.requested",
    /// A person approved a request.
    ApprovalGranted => "approval.granted",
    /// A person denied a request.
    ApprovalDenied => "approval.denied",
    /// A check consumed an approval receipt.
    ApprovalConsumed => "approval.consumed",
    /// A person was refused the decision of a request (not an approver of it).
    ApprovalRefused => "approval.refused",
    /// Policies were loaded.
    PolicyLoaded => "policy.loaded",
    /// A policy set was rejected (the previous one stays in force).
    PolicyRejected => "policy.rejected",
    /// A signed commitment to the head of the log.
    Checkpoint => "checkpoint",
    /// A torn last line (a crash during a write) was set aside.
    TornLine => "audit.torn_line",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One link of the chain behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLink {
    /// Who signed the link (the issuer, or the parent agent).
    pub issuer: Arc<str>,
    /// Who it grants to.
    pub actor: Arc<str>,
    /// The link's grant id (`jti`).
    pub grant_id: Arc<str>,
    /// Issued at (Unix seconds).
    pub issued_at: i64,
    /// Expires at (Unix seconds).
    pub expires_at: i64,
}

/// What happened when the guarded action ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditOutcome {
    /// `ok` or `error`.
    pub status: String,
    /// The error type, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the action ran (milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// A digest of the result, if the application gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_digest: Option<String>,
}

/// The body of a `checkpoint` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBody {
    /// The `seq` of the checkpoint event itself.
    pub seq: u64,
    /// The hash of the event before it (its `prev`).
    pub head: String,
    /// The authority key that signed.
    pub kid: String,
    /// Compact JWS over `{head, iss, seq}`.
    pub sig: String,
}

/// One event of the audit log. Fields a type does not use are absent from its line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditEvent {
    /// Format version.
    pub v: u32,
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it was recorded (RFC 3339, UTC, milliseconds).
    pub ts: String,
    /// The event type (see [`EventType`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// The decision this event belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// The decision's effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// The decision's reasons (messages that could carry argument values are withheld).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    /// The acting agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The chain's agents, the authority's grantee first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// The links of the chain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AuditLink>,
    /// On whose behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// The (leaf) grant id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The policies that decided, or that were loaded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Whether the call came with a proof of possession that verified (`decision` events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<bool>,
    /// The action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The approval requested or consumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The call's `action_hash` (approvals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_hash: Option<String>,
    /// The workflow or agent-run id from the call's context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
    /// SHA-256 (hex) of the RFC 8785 form of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_digest: Option<String>,
    /// The values of allow-listed arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuditOutcome>,
    /// The agent a lifecycle event is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The agent's owner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A key id (never a key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Who approved or denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// The grant a grant was attenuated from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_grant: Option<String>,
    /// Who signed a grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// When a grant was issued (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    /// When a grant, request or receipt expires (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// A grant's scopes (wire form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Value>,
    /// A grant's purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Grants a revocation reached.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<String>,
    /// A message (why policies were rejected; what was set aside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// SHA-256 (hex) of a loaded policy set's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A file the event refers to (a torn line set aside).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A byte count (of a torn line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The signed commitment of a `checkpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointBody>,
    /// The previous line's hash.
    pub prev: String,
    /// SHA-256 (hex) of this event's canonical form without `hash`.
    pub hash: String,
}

impl AuditEvent {
    /// A new event of `kind` at `now_ms` (Unix milliseconds); `seq`, `prev` and `hash` are set
    /// when it is appended.
    pub fn new(kind: EventType, now_ms: i64) -> Self {
        Self { v: FORMAT_VERSION, ts: timestamp(now_ms), kind: kind.as_str().to_owned(), ..Self::default() }
    }

    /// The event type, if this version knows it.
    pub fn event_type(&self) -> Option<EventType> {
        EventType::from_name(&self.kind)
    }

    /// `ts` as Unix milliseconds.
    pub fn ts_ms(&self) -> Option<i64> {
        parse_timestamp(&self.ts)
    }
}

/// RFC 3339 UTC with milliseconds, fixed width (so that strings sort as times).
pub fn timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        // RFC 3339 has four-digit years: outside them, what `clock::rfc3339` writes.
        let base = crate::clock::rfc3339(secs);
        return match base.strip_suffix('Z') {
            Some(stem) => format!("{stem}.{millis:03}Z"),
            None => base,
        };
    }
    // `YYYY-MM-DDTHH:MM:SS.mmmZ` written in one allocation (a line per decision needs one).
    let mut out = String::with_capacity(24);
    let mut digits = |n: i64, width: u32, sep: char| {
        for p in (0..width).rev() {
            out.push(char::from(b'0' + u8::try_from(n / 10_i64.pow(p) % 10).unwrap_or(0)));
        }
        out.push(sep);
    };
    digits(year, 4, '-');
    digits(month, 2, '-');
    digits(day, 2, 'T');
    digits(day_secs / 3600, 2, ':');
    digits(day_secs / 60 % 60, 2, ':');
    digits(day_secs % 60, 2, '.');
    digits(millis, 3, 'Z');
    out
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an RFC 3339 timestamp to Unix milliseconds.
pub fn parse_timestamp(ts: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn timestamps_are_what_the_time_crate_writes() {
        let by_time = |ms: i64| {
            let base = crate::clock::rfc3339(ms.div_euclid(1000));
            match base.strip_suffix('Z') {
                Some(stem) => format!("{stem}.{:03}Z", ms.rem_euclid(1000)),
                None => base,
            }
        };
        let mut ms: i64 = -62_167_219_200_000; // 0000-01-01
        let mut step: i64 = 1;
        // Days, leap days, year ends, both ends of the four-digit years, and a little beyond.
        while ms < 253_402_300_800_000 + 86_400_000 {
            assert_eq!(timestamp(ms), by_time(ms), "{ms}");
            assert_eq!(parse_timestamp(&timestamp(ms)), Some(ms).filter(|_| timestamp(ms).len() == 24), "{ms}");
            ms += step;
            step = (step * 7 + 86_399_999) % 9_876_543_211;
        }
        for ms in [0, -1, 999, 1_000, 951_782_400_000, 1_796_000_000_123, 4_107_542_399_999, -62_167_219_200_001] {
            assert_eq!(timestamp(ms), by_time(ms), "{ms}");
        }
    }

    #[test]
    fn event_type_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.as_str()), Some(*t));
        }
    }
}
