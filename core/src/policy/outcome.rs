//! [`PolicyOutcome`]: which policies held, flagged approval, or failed for one call.

use cedar_policy::{AuthorizationError, PolicySet, Response};

use super::load::APPROVAL_ANNOTATION;

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
    /// Restricting policies (`forbid` and `@approval`) whose evaluation failed:
    /// `(id, message)`. Each must be treated as if it applied.
    pub errors: Vec<(String, String)>,
    /// Plain `permit` policies whose evaluation failed: `(id, message)`. They do not permit;
    /// listed for diagnostics.
    pub permit_errors: Vec<(String, String)>,
}

fn failures(response: &Response) -> impl Iterator<Item = (String, String)> + '_ {
    response.diagnostics().errors().map(|e| match e {
        AuthorizationError::PolicyEvaluationError(e) => (e.policy_id().to_string(), e.inner().to_string()),
    })
}

impl PolicyOutcome {
    /// Adds the response of a set of `forbid` policies.
    pub(crate) fn add_restrict(&mut self, response: &Response) {
        // With only forbids in the set, every policy in the reason is a satisfied forbid.
        self.forbids.extend(response.diagnostics().reason().map(ToString::to_string));
        self.errors.extend(failures(response));
    }

    /// Adds the response of a set of `permit` policies (some of them `@approval`).
    pub(crate) fn add_allow(&mut self, response: &Response, set: &PolicySet) {
        for id in response.diagnostics().reason() {
            match set.annotation(id, APPROVAL_ANNOTATION) {
                Some(reason) => self.approvals.push((id.to_string(), reason.to_owned())),
                None => self.permits.push(id.to_string()),
            }
        }
        for e in response.diagnostics().errors() {
            let AuthorizationError::PolicyEvaluationError(inner) = e;
            let failure = (inner.policy_id().to_string(), inner.inner().to_string());
            if set.annotation(inner.policy_id(), APPROVAL_ANNOTATION).is_some() {
                self.errors.push(failure);
            } else {
                self.permit_errors.push(failure);
            }
        }
    }

    /// Sorts every list by policy id.
    pub(crate) fn sort(&mut self) {
        self.forbids.sort();
        self.permits.sort();
        self.approvals.sort();
        self.errors.sort();
        self.permit_errors.sort();
    }
}
