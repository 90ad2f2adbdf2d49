//! [`PolicyOutcome`]: which policies held, flagged approval, or failed for one call.

use cedar_policy::{AuthorizationError, PolicyId, Response};

use super::load::Flags;

/// What the policies say about one call. Lists are sorted by policy id.
///
/// The caller decides, in this order: any `forbids` → deny (`policy_forbid`); any `errors`
/// → deny (`internal_error`: a restricting policy could not be evaluated, so it may have
/// applied); `require_permit` on and no `permits` → deny (`no_permit`); any `approvals` →
/// `require_approval`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// `forbid` policies whose conditions hold.
    pub forbids: Vec<String>,
    /// Plain `permit` policies whose conditions hold.
    pub permits: Vec<String>,
    /// `@approval` policies whose conditions hold: `(id, reason)`.
    pub approvals: Vec<(String, String)>,
    /// `@proof` policies whose conditions hold: `(id, reason)`; the call needs a proof of
    /// possession.
    pub proofs: Vec<(String, String)>,
    /// Restricting policies (`forbid`, `@approval`, `@proof`) whose evaluation failed:
    /// `(id, message)`. Each must be treated as if it applied.
    pub errors: Vec<(String, String)>,
    /// Plain `permit` policies whose evaluation failed: `(id, message)`. They do not permit;
    /// listed for diagnostics.
    pub permit_errors: Vec<(String, String)>,
}

fn failures(response: &Response) -> impl Iterator<Item = (&PolicyId, String)> + '_ {
    response.diagnostics().errors().map(|e| {
        let AuthorizationError::PolicyEvaluationError(e) = e;
        (e.policy_id(), e.inner().to_string())
    })
}

impl PolicyOutcome {
    /// Adds the response of a set of `forbid` policies.
    pub(crate) fn add_restrict(&mut self, response: &Response) {
        // With only forbids in the set, every policy in the reason is a satisfied forbid.
        self.forbids.extend(response.diagnostics().reason().map(ToString::to_string));
        self.errors.extend(failures(response).map(|(id, m)| (id.to_string(), m)));
    }

    /// Adds the response of a set of `permit` policies; `flags` tells which are `@approval`
    /// or `@proof` rules.
    pub(crate) fn add_allow<'r>(&mut self, response: &Response, flags: impl Fn(&PolicyId) -> Option<&'r Flags>) {
        for id in response.diagnostics().reason() {
            match flags(id) {
                Some(f) => {
                    if let Some(reason) = &f.approval {
                        self.approvals.push((id.to_string(), reason.clone()));
                    }
                    if let Some(reason) = &f.proof {
                        self.proofs.push((id.to_string(), reason.clone()));
                    }
                }
                None => self.permits.push(id.to_string()),
            }
        }
        for (id, message) in failures(response) {
            if flags(id).is_some() {
                self.errors.push((id.to_string(), message));
            } else {
                self.permit_errors.push((id.to_string(), message));
            }
        }
    }

    /// Sorts every list by policy id.
    pub(crate) fn sort(&mut self) {
        self.forbids.sort();
        self.permits.sort();
        self.approvals.sort();
        self.proofs.sort();
        self.errors.sort();
        self.permit_errors.sort();
    }
}
