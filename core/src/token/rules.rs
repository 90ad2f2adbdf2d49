//! The chain rules a link keeps towards its parent (docs/ARCHITECTURE.md § Tokens), stated once. Both sides apply
//! them: [`crate::Runtime::attenuate`] before it signs a link (a request that breaks one is
//! refused, nothing is minted), and verification for every link it checks (`check_link`,
//! and the runtime's state rules for an agent's own depth limit).
//!
//! Each rule is a predicate here; the callers word the refusal in their own terms (a
//! request's `max_depth` or `ttl` at mint time, `link {i}` at verify time) with the codes the
//! vectors hold: depth rules `depth_exceeded`, expiry `scope_escalation`, scopes the codes of
//! [`crate::scope::covers_all`].

use crate::error::Result;
use crate::scope::{covers_all, Scope};

use super::verify::{MAX_LINKS, MAX_PURPOSE_LEN};

/// The deepest a link may sit (and so the largest `max_depth`): one less than [`MAX_LINKS`].
pub(crate) fn hard_max_depth() -> u32 {
    u32::try_from(MAX_LINKS - 1).unwrap_or(u32::MAX)
}

/// A `max_depth` within the hard limit.
pub(crate) fn max_depth_allowed(max_depth: u32) -> bool {
    max_depth <= hard_max_depth()
}

/// A link at `depth` is within the `max_depth` it is under (its own, or its parent's when it
/// is being minted).
pub(crate) fn depth_within(depth: u32, max_depth: u32) -> bool {
    depth <= max_depth
}

/// A link never lets the chain grow deeper than its parent does.
pub(crate) fn max_depth_narrows(max_depth: u32, parent_max_depth: u32) -> bool {
    max_depth <= parent_max_depth
}

/// The agent a link is granted to allows `agent_max` more links below its own, at `depth`.
pub(crate) fn within_agent_depth(depth: u32, max_depth: u32, agent_max: u32) -> bool {
    max_depth <= depth.saturating_add(agent_max)
}

/// A link expires no later than its parent.
pub(crate) fn expires_within(exp: i64, parent_exp: i64) -> bool {
    exp <= parent_exp
}

/// Every scope of a link is covered by one of its parent's (attenuation only narrows).
pub(crate) fn narrows(parent: &[Scope], scopes: &[Scope]) -> Result<()> {
    covers_all(parent, scopes)
}

/// A link's purpose fits [`MAX_PURPOSE_LEN`].
pub(crate) fn purpose_fits(purpose: Option<&str>) -> bool {
    purpose.is_none_or(|p| p.len() <= MAX_PURPOSE_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_hold_at_their_bounds() {
        let hard = hard_max_depth();
        assert_eq!(usize::try_from(hard).ok(), Some(MAX_LINKS - 1));
        assert!(max_depth_allowed(hard) && !max_depth_allowed(hard + 1));
        assert!(depth_within(2, 2) && !depth_within(3, 2));
        assert!(max_depth_narrows(2, 2) && !max_depth_narrows(3, 2));
        assert!(within_agent_depth(1, 3, 2) && !within_agent_depth(1, 4, 2));
        assert!(within_agent_depth(u32::MAX, u32::MAX, 1), "no overflow");
        assert!(expires_within(10, 10) && !expires_within(11, 10));
        let long = "x".repeat(MAX_PURPOSE_LEN + 1);
        let fits = "x".repeat(MAX_PURPOSE_LEN);
        assert!(purpose_fits(None) && purpose_fits(Some(&fits)) && !purpose_fits(Some(&long)));
        let crm = Scope::new(["crm.*"]);
        assert!(narrows(std::slice::from_ref(&crm), &[Scope::new(["crm.read"])]).is_ok());
        assert!(narrows(&[Scope::new(["crm.read"])], &[crm]).is_err());
    }
}
