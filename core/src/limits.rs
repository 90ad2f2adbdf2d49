//! Counting the stateful limits of scopes (`max_uses`, `rate`, `budget`; declared and
//! validated in [`crate::scope::Limits`]): the counters a call moves ([`CounterOp`], named by a
//! typed [`CounterKey`]), the one rule that plans them against their current values
//! (applied by every store inside its atomic [`crate::store::Store::consume`]) and the deny
//! reason when one would pass its limit.
//!
//! Every link of the chain counts: a child's use also counts against its ancestors' limits.
//! A counter belongs to the grant and scope that declare the limit, never to the presenting
//! agent, so attenuating to many sub-agents never multiplies a limit (docs/ARCHITECTURE.md § Scopes). A rate is
//! counted per granted action: the scope's action pattern the call matched (`crm.*` is one
//! counter for every `crm` action; a scope listing `a.read` and `a.write` counts each).

use std::fmt;

use crate::check::ReasonCode;
use crate::error::Result;
use crate::scope::{permits_any, ScopeRequest};
use crate::token::VerifiedChain;

/// Which counter: the limit, and the grant and scope (its index in the grant) that declare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterKey<'a> {
    /// The uses of scope `scope` of grant `grant_id`.
    Uses {
        /// The grant declaring the limit.
        grant_id: &'a str,
        /// The index of the scope in that grant.
        scope: usize,
    },
    /// The calls of one granted action (`action`, the scope's action pattern the call
    /// matched) in the current window.
    Rate {
        /// The grant declaring the limit.
        grant_id: &'a str,
        /// The index of the scope in that grant.
        scope: usize,
        /// The granted action pattern.
        action: &'a str,
    },
    /// The summed budget argument.
    Budget {
        /// The grant declaring the limit.
        grant_id: &'a str,
        /// The index of the scope in that grant.
        scope: usize,
    },
}

impl<'a> CounterKey<'a> {
    /// The grant declaring the limit.
    pub fn grant_id(&self) -> &'a str {
        match *self {
            Self::Uses { grant_id, .. } | Self::Rate { grant_id, .. } | Self::Budget { grant_id, .. } => grant_id,
        }
    }
}

/// The stored form of a key, the only place it is spelled: `u:{grant}:{scope}`,
/// `r:{grant}:{scope}:{action}`, `b:{grant}:{scope}` (the `counters` table of the folder
/// store keeps it as its primary key, so it must not change).
impl fmt::Display for CounterKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uses { grant_id, scope } => write!(f, "u:{grant_id}:{scope}"),
            Self::Rate { grant_id, scope, action } => write!(f, "r:{grant_id}:{scope}:{action}"),
            Self::Budget { grant_id, scope } => write!(f, "b:{grant_id}:{scope}"),
        }
    }
}

/// One counter a check must move, all-or-nothing with the others.
#[derive(Debug, Clone, PartialEq)]
pub enum CounterOp {
    /// Count one use against `max`.
    Uses {
        /// The grant declaring the limit.
        grant_id: String,
        /// The index of the scope in that grant.
        scope: usize,
        /// The most uses allowed.
        max: u64,
    },
    /// Count one call in the fixed window starting at `window` against `max`.
    Rate {
        /// The grant declaring the limit.
        grant_id: String,
        /// The index of the scope in that grant.
        scope: usize,
        /// The granted action pattern the call matched.
        action: String,
        /// Window start (Unix seconds, a multiple of the window length).
        window: i64,
        /// The most calls per window.
        max: u64,
    },
    /// Add `amount` against a total of `max`.
    Budget {
        /// The grant declaring the limit.
        grant_id: String,
        /// The index of the scope in that grant.
        scope: usize,
        /// This call's amount.
        amount: f64,
        /// The most in total.
        max: f64,
    },
}

impl CounterOp {
    /// The counter this op moves.
    pub fn key(&self) -> CounterKey<'_> {
        match self {
            Self::Uses { grant_id, scope, .. } => CounterKey::Uses { grant_id, scope: *scope },
            Self::Rate { grant_id, scope, action, .. } => CounterKey::Rate { grant_id, scope: *scope, action },
            Self::Budget { grant_id, scope, .. } => CounterKey::Budget { grant_id, scope: *scope },
        }
    }
}

/// Why counting refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsumeRefusal {
    /// The counter at this index of the ops would pass its limit.
    Limit(usize),
    /// The approval is not approved, expired, already used, or for another call.
    Approval(String),
}

/// The counters one allowed call moves, or the deny reason if an argument a budget needs is
/// missing.
pub(crate) fn counter_ops(
    chain: &VerifiedChain,
    req: &ScopeRequest<'_>,
    now: i64,
) -> std::result::Result<Vec<CounterOp>, (ReasonCode, String)> {
    let mut ops = Vec::new();
    for link in &chain.links {
        // Only a link with limits counts anything.
        if link.scopes.iter().all(|s| s.limits.is_empty()) {
            continue;
        }
        let index = permits_any(&link.scopes, req).map_err(|d| {
            (
                ReasonCode::InternalError,
                format!("link {} does not permit the call its child permits: {}", link.depth, d.message),
            )
        })?;
        let Some(scope) = link.scopes.get(index) else { continue };
        let limits = &scope.limits;
        let grant_id = &link.grant_id;
        if let Some(max) = limits.max_uses {
            ops.push(CounterOp::Uses { grant_id: grant_id.to_string(), scope: index, max });
        }
        if let Some(rate) = &limits.rate {
            let per = i64::try_from(rate.per_seconds.max(1)).unwrap_or(i64::MAX);
            let window = now.div_euclid(per).saturating_mul(per);
            // The first pattern of the scope that matches: the same one for every call of
            // that action, whoever makes it.
            let granted = scope.matching_action(req.action).unwrap_or(req.action);
            ops.push(CounterOp::Rate {
                grant_id: grant_id.to_string(),
                scope: index,
                action: granted.to_owned(),
                window,
                max: rate.count,
            });
        }
        if let Some(budget) = &limits.budget {
            let amount = req.args.get(&budget.arg).and_then(serde_json::Value::as_f64);
            let Some(amount) = amount.filter(|a| a.is_finite() && *a >= 0.0) else {
                return Err((
                    ReasonCode::LimitBudget,
                    format!("the budget argument `{}` is missing or not a non-negative number", budget.arg),
                ));
            };
            let max = budget.max_total.as_f64().unwrap_or(0.0);
            ops.push(CounterOp::Budget { grant_id: grant_id.to_string(), scope: index, amount, max });
        }
    }
    Ok(ops)
}

/// The deny reason for a refused consumption.
pub(crate) fn refusal_reason(ops: &[CounterOp], refusal: &ConsumeRefusal) -> (ReasonCode, String) {
    match refusal {
        ConsumeRefusal::Approval(why) => (ReasonCode::ApprovalInvalid, why.clone()),
        ConsumeRefusal::Limit(i) => match ops.get(*i) {
            Some(CounterOp::Uses { grant_id, max, .. }) => {
                (ReasonCode::LimitMaxUses, format!("grant `{grant_id}` is used up ({max} uses)"))
            }
            Some(CounterOp::Rate { grant_id, max, .. }) => {
                (ReasonCode::LimitRate, format!("rate limit of grant `{grant_id}` reached ({max} per window)"))
            }
            Some(CounterOp::Budget { grant_id, max, amount, .. }) => {
                (ReasonCode::LimitBudget, format!("budget of grant `{grant_id}` ({max}) would be exceeded by {amount}"))
            }
            None => (ReasonCode::InternalError, "a limit refused an unknown counter".to_owned()),
        },
    }
}

/// New `(stored key, value, window)` of every counter, or the index of the first op that would
/// pass its limit.
pub(crate) type CounterPlan = std::result::Result<Vec<(String, f64, i64)>, usize>;

/// The counters' new values if every op stays within its limit, else the first failing op.
/// `current(key)` gives a counter's value and window (`(0, 0)` for a counter not stored yet),
/// by the key's stored form. One rule for every store.
pub(crate) fn plan_counters(
    ops: &[CounterOp],
    current: &mut dyn FnMut(&str) -> Result<(f64, i64)>,
) -> Result<CounterPlan> {
    let mut out: Vec<(String, f64, i64)> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let key = op.key().to_string();
        // Two ops on one key (a chain repeating a scope) see each other's effect.
        let (value, window) = match out.iter().rev().find(|(k, _, _)| *k == key) {
            Some((_, v, w)) => (*v, *w),
            None => current(&key)?,
        };
        let next = match op {
            CounterOp::Uses { max, .. } => {
                let n = value + 1.0;
                if n > *max as f64 {
                    return Ok(Err(i));
                }
                (n, 0)
            }
            CounterOp::Rate { window: w, max, .. } => {
                let n = if window == *w { value + 1.0 } else { 1.0 };
                if n > *max as f64 {
                    return Ok(Err(i));
                }
                (n, *w)
            }
            CounterOp::Budget { amount, max, .. } => {
                let n = value + amount;
                if n > *max {
                    return Ok(Err(i));
                }
                (n, 0)
            }
        };
        out.push((key, next.0, next.1));
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folder store's `counters` rows are keyed by these strings: a store written by an
    /// earlier version keeps counting where it was.
    #[test]
    fn stored_keys_keep_their_form() {
        let ops = [
            CounterOp::Uses { grant_id: "g1".into(), scope: 0, max: 3 },
            CounterOp::Rate { grant_id: "g1".into(), scope: 2, action: "crm.*".into(), window: 60, max: 3 },
            CounterOp::Budget { grant_id: "g2".into(), scope: 1, amount: 1.5, max: 10.0 },
        ];
        let keys: Vec<String> = ops.iter().map(|op| op.key().to_string()).collect();
        assert_eq!(keys, ["u:g1:0", "r:g1:2:crm.*", "b:g2:1"]);
        assert_eq!(ops[1].key().grant_id(), "g1");
    }

    #[test]
    fn ops_on_one_counter_see_each_other() {
        let op = CounterOp::Uses { grant_id: "g".into(), scope: 0, max: 2 };
        let mut reads = Vec::new();
        let mut current = |k: &str| {
            reads.push(k.to_owned());
            Ok((1.0, 0))
        };
        let plan = plan_counters(&[op.clone(), op], &mut current).unwrap();
        assert_eq!(plan, Err(1));
        assert_eq!(reads, ["u:g:0"]);
    }
}
