//! Limits from the scopes (`max_uses`, `rate`, `budget`) turned into counter operations.
//! Every link of the chain counts: a child's use also counts against its ancestors' limits.
//! A counter belongs to the grant and scope that declare the limit, never to the presenting
//! agent, so attenuating to many sub-agents never multiplies a limit (DESIGN §1). A rate is
//! counted per granted action: the scope's action pattern the call matched (`crm.*` is one
//! counter for every `crm` action; a scope listing `a.read` and `a.write` counts each).

use crate::check::ReasonCode;
use crate::scope::{permits_any, ScopeRequest};
use crate::store::{ConsumeRefusal, CounterOp};
use crate::token::VerifiedChain;

/// The counters one allowed call moves, or the deny reason if an argument a budget needs is
/// missing.
pub(super) fn counter_ops(
    chain: &VerifiedChain,
    req: &ScopeRequest<'_>,
    now: i64,
) -> Result<Vec<CounterOp>, (ReasonCode, String)> {
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
        let base = format!("{}:{index}", link.grant_id);
        if let Some(max) = limits.max_uses {
            ops.push(CounterOp::Uses { key: format!("u:{base}"), max });
        }
        if let Some(rate) = &limits.rate {
            let per = i64::try_from(rate.per_seconds.max(1)).unwrap_or(i64::MAX);
            let window = now.div_euclid(per).saturating_mul(per);
            // The first pattern of the scope that matches: the same one for every call of
            // that action, whoever makes it.
            let granted = scope.matching_action(req.action).unwrap_or(req.action);
            ops.push(CounterOp::Rate { key: format!("r:{base}:{granted}"), window, max: rate.count });
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
            ops.push(CounterOp::Budget { key: format!("b:{base}"), amount, max });
        }
    }
    Ok(ops)
}

/// The deny reason for a refused consumption.
pub(super) fn refusal_reason(ops: &[CounterOp], refusal: &ConsumeRefusal) -> (ReasonCode, String) {
    match refusal {
        ConsumeRefusal::Approval(why) => (ReasonCode::ApprovalInvalid, why.clone()),
        ConsumeRefusal::Limit(i) => match ops.get(*i) {
            Some(CounterOp::Uses { key, max }) => {
                (ReasonCode::LimitMaxUses, format!("grant `{}` is used up ({max} uses)", grant_of(key)))
            }
            Some(CounterOp::Rate { key, max, .. }) => {
                (ReasonCode::LimitRate, format!("rate limit of grant `{}` reached ({max} per window)", grant_of(key)))
            }
            Some(CounterOp::Budget { key, max, amount }) => (
                ReasonCode::LimitBudget,
                format!("budget of grant `{}` ({max}) would be exceeded by {amount}", grant_of(key)),
            ),
            None => (ReasonCode::InternalError, "a limit refused an unknown counter".to_owned()),
        },
    }
}

fn grant_of(key: &str) -> &str {
    key.split(':').nth(1).unwrap_or(key)
}
