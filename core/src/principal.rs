//! Principal ids: `kind:name` (kind `user`, `agent`, `service`, `org`) or a `spiffe://` URI.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, ErrorCode, Result};

/// The maximum length of a principal id, in bytes.
pub const MAX_PRINCIPAL_LEN: usize = 256;

/// The kind of a principal, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `user:…` — a person.
    User,
    /// `agent:…` — an AI agent registered with the runtime.
    Agent,
    /// `service:…` — a non-agent workload.
    Service,
    /// `org:…` — an organisation or team.
    Org,
    /// `spiffe://…` — a SPIFFE id.
    Spiffe,
}

impl PrincipalKind {
    /// The prefix string (`user`, `agent`, …, `spiffe`).
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Agent => "agent",
            PrincipalKind::Service => "service",
            PrincipalKind::Org => "org",
            PrincipalKind::Spiffe => "spiffe",
        }
    }
}

/// A validated principal id. Construct with [`PrincipalId::parse`] or `str::parse`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalId(Arc<str>);

fn allowed_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'/' | b'+' | b':' | b'-')
}

impl PrincipalId {
    /// Validates `s` as a principal id.
    pub fn parse(s: &str) -> Result<Self> {
        let shown = preview(s);
        if s.is_empty() || s.len() > MAX_PRINCIPAL_LEN {
            return Err(Error::new(
                ErrorCode::PrincipalInvalid,
                format!("principal id `{shown}` must be 1 to {MAX_PRINCIPAL_LEN} bytes"),
            ));
        }
        if let Some(bad) = s.bytes().find(|b| !allowed_char(*b)) {
            let what = if bad.is_ascii() {
                format!("character `{}`", char::from(bad).escape_default())
            } else {
                "non-ascii characters".to_owned()
            };
            return Err(Error::new(
                ErrorCode::PrincipalInvalid,
                format!("principal id `{shown}` contains {what}; allowed are A-Z a-z 0-9 . _ @ / + : -"),
            ));
        }
        if let Some(rest) = s.strip_prefix("spiffe://") {
            if rest.is_empty() || rest.starts_with('/') {
                return Err(Error::new(
                    ErrorCode::PrincipalInvalid,
                    format!("spiffe id `{shown}` has no trust domain"),
                ));
            }
            return Ok(Self(Arc::from(s)));
        }
        let Some((kind, name)) = s.split_once(':') else {
            return Err(Error::new(
                ErrorCode::PrincipalInvalid,
                format!("principal id `{shown}` must be `kind:name` with kind user, agent, service or org, or a spiffe:// uri"),
            ));
        };
        if !matches!(kind, "user" | "agent" | "service" | "org") {
            return Err(Error::new(
                ErrorCode::PrincipalInvalid,
                format!("principal id `{shown}` has unknown kind `{kind}`; expected user, agent, service or org"),
            ));
        }
        if name.is_empty() {
            return Err(Error::new(ErrorCode::PrincipalInvalid, format!("principal id `{shown}` has an empty name")));
        }
        Ok(Self(Arc::from(s)))
    }

    /// How many holders share this id's text (for bounded tables of shared ids).
    pub(crate) fn shares(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// The id's text, shared with this id (no copy).
    pub fn shared_str(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind, from the prefix.
    pub fn kind(&self) -> PrincipalKind {
        match self.0.split_once(':').map(|(k, _)| k) {
            Some("user") => PrincipalKind::User,
            Some("agent") => PrincipalKind::Agent,
            Some("service") => PrincipalKind::Service,
            Some("org") => PrincipalKind::Org,
            _ => PrincipalKind::Spiffe,
        }
    }

    /// Validates that this is an `agent:` id.
    pub fn expect_agent(self) -> Result<Self> {
        if self.kind() == PrincipalKind::Agent {
            Ok(self)
        } else {
            Err(Error::new(ErrorCode::PrincipalInvalid, format!("`{}` is not an agent id (`agent:…`)", self.0)))
        }
    }
}

/// Validates an issuer (the `iss` of tokens, receipts and audit checkpoints): a principal id
/// such as `org:acme`, or an `https://` URL.
pub(crate) fn validate_issuer(issuer: &str) -> Result<()> {
    let url_ok = issuer
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && issuer.len() <= 256 && issuer.bytes().all(|b| b.is_ascii_graphic()));
    if url_ok || PrincipalId::parse(issuer).is_ok() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::IssuerInvalid,
            format!("issuer `{}` must be a principal id like `org:acme` or an https url", preview(issuer)),
        ))
    }
}

/// A short, printable form of untrusted input for error messages.
pub(crate) fn preview(s: &str) -> String {
    let mut out: String = s.chars().take(64).flat_map(char::escape_default).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

impl fmt::Display for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PrincipalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrincipalId({})", self.0)
    }
}

impl std::str::FromStr for PrincipalId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

// Hash and Eq are the inner string's, so a set of ids can be searched by `&str`.
impl std::borrow::Borrow<str> for PrincipalId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PrincipalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for PrincipalId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PrincipalId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PrincipalId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_forms() {
        for ok in [
            "user:alice@acme",
            "agent:acme/support-bot",
            "service:billing",
            "org:acme",
            "spiffe://acme.example/ns/prod/sa/bot",
            "user:a+b_c.d-e",
        ] {
            let p = PrincipalId::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(p.as_str(), ok);
        }
        assert_eq!(PrincipalId::parse("agent:x").map(|p| p.kind()).ok(), Some(PrincipalKind::Agent));
    }

    #[test]
    fn rejects_everything_else_with_principal_invalid() {
        let long = format!("user:{}", "a".repeat(252));
        for bad in [
            "",
            "alice",
            "robot:x",
            "user:",
            "user:al ice",
            "user:alicé",
            "agent:bot\u{0}",
            "user:\u{202e}evil",
            "spiffe://",
            "spiffe:///path",
            "user:a#b",
            long.as_str(),
        ] {
            let e = PrincipalId::parse(bad).err().unwrap_or_else(|| panic!("accepted {bad:?}"));
            assert_eq!(e.code(), ErrorCode::PrincipalInvalid, "{bad:?}");
        }
        assert!(PrincipalId::parse(&format!("user:{}", "a".repeat(251))).is_ok());
    }

    #[test]
    fn non_agent_is_refused_where_an_agent_is_needed() {
        let user = PrincipalId::parse("user:alice").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(user.expect_agent().err().map(|e| e.code()), Some(ErrorCode::PrincipalInvalid));
    }
}
