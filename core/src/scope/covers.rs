//! Attenuation: whether a child scope is a narrowing of a parent scope.
//!
//! The rules are conservative: a child is accepted only if every request it permits is
//! permitted by the parent, and every parent limit is present in the child and no looser.
//! Some narrowings that are true in fact are refused (e.g. `{"max": 5}` under `{"in": […]}`).

use serde_json::Number;

use crate::error::{Error, ErrorCode, Result};

use super::constraint::list_preview;
use super::number::num_le;
use super::pattern::{self, Kind};
use super::{preview, Constraint, Limits, Scalar, Scope};

/// The stages of the check; a later stage means a closer match, for choosing which parent's
/// reason to report.
type Stage = u8;

/// Whether `child` is covered by `parent`; otherwise why not (lowercase, naming the first
/// part of the child that widens the parent).
pub fn covers(parent: &Scope, child: &Scope) -> std::result::Result<(), String> {
    covers_staged(parent, child).map_err(|(_, why)| why)
}

/// Whether every child scope is covered by some parent scope. Code `ScopeEscalation`,
/// naming the first uncovered child's index and the reason against the parent it came
/// closest to: `scope 1 widens its parent: action `payments.*` is not covered`.
pub fn covers_all(parents: &[Scope], children: &[Scope]) -> Result<()> {
    for (i, child) in children.iter().enumerate() {
        let mut best: Option<(Stage, String)> = None;
        for parent in parents {
            match covers_staged(parent, child) {
                Ok(()) => {
                    best = None;
                    break;
                }
                Err((stage, why)) => {
                    if best.as_ref().is_none_or(|(s, _)| stage > *s) {
                        best = Some((stage, why));
                    }
                }
            }
        }
        if parents.is_empty() {
            best = Some((0, "there is no parent scope".to_owned()));
        }
        if let Some((_, why)) = best {
            return Err(Error::new(ErrorCode::ScopeEscalation, format!("scope {i} widens its parent: {why}")));
        }
    }
    Ok(())
}

fn covers_staged(parent: &Scope, child: &Scope) -> std::result::Result<(), (Stage, String)> {
    patterns_covered(Kind::Action, &parent.actions, &child.actions).map_err(|why| (0, why))?;
    patterns_covered(Kind::Resource, &parent.resources, &child.resources).map_err(|why| (1, why))?;
    data_classes_covered(parent.data_classes.as_deref(), child.data_classes.as_deref()).map_err(|why| (2, why))?;
    for (arg, pc) in &parent.constraints {
        let Some(cc) = child.constraints.get(arg) else {
            return Err((3, format!("constraint on `{arg}` is missing")));
        };
        constraint_covered(pc, cc).map_err(|why| (3, format!("constraint on `{arg}` {why}")))?;
    }
    limits_covered(&parent.limits, &child.limits).map_err(|why| (4, why))
}

fn patterns_covered(kind: Kind, parent: &[String], child: &[String]) -> std::result::Result<(), String> {
    match child.iter().find(|c| !parent.iter().any(|p| pattern::subsumes(kind, p, c))) {
        Some(c) => Err(format!("{} `{}` is not covered", kind.noun(), preview(c))),
        None => Ok(()),
    }
}

fn data_classes_covered(parent: Option<&[String]>, child: Option<&[String]>) -> std::result::Result<(), String> {
    let Some(parent) = parent else { return Ok(()) };
    let Some(child) = child else {
        return Err("data classes are not restricted; the parent allows only listed ones".to_owned());
    };
    match child.iter().find(|c| !parent.contains(c)) {
        Some(c) => Err(format!("data class `{}` is not covered", preview(c))),
        None => Ok(()),
    }
}

/// The values a child constraint allows, if it lists them with `eq` or `in` (bounds are
/// conjunctive, so any other bound only narrows this further).
fn listed(c: &Constraint) -> Option<Vec<&Scalar>> {
    match (&c.eq, &c.one_of) {
        (Some(v), _) => Some(vec![v]),
        (None, Some(list)) => Some(list.iter().collect()),
        (None, None) => None,
    }
}

/// Whether the child keeps one of the parent's numeric bounds: its own bound on the same
/// side satisfies `ok`, or it lists only numbers and each satisfies `ok`. A listed
/// non-number fails: the parent's range would have refused it.
fn keeps_bound(child_bound: Option<&Number>, child: &Constraint, ok: impl Fn(&Number) -> bool) -> bool {
    match child_bound {
        Some(n) => ok(n),
        None => listed(child).is_some_and(|vs| vs.into_iter().all(|v| v.as_number().is_some_and(&ok))),
    }
}

fn constraint_covered(parent: &Constraint, child: &Constraint) -> std::result::Result<(), String> {
    if let Some(max) = &parent.max {
        if !keeps_bound(child.max.as_ref(), child, |n| num_le(n, max)) {
            return Err(format!("does not keep max {max}"));
        }
    }
    if let Some(min) = &parent.min {
        if !keeps_bound(child.min.as_ref(), child, |n| num_le(min, n)) {
            return Err(format!("does not keep min {min}"));
        }
    }
    if let Some(allowed) = &parent.one_of {
        let kept = listed(child).is_some_and(|vs| vs.iter().all(|v| allowed.iter().any(|a| a.same_value(v))));
        if !kept {
            return Err(format!("does not keep in {}", list_preview(allowed)));
        }
    }
    if let Some(eq) = &parent.eq {
        if !listed(child).is_some_and(|vs| vs.iter().all(|v| eq.same_value(v))) {
            return Err(format!("does not keep eq {eq}"));
        }
    }
    Ok(())
}

fn limits_covered(parent: &Limits, child: &Limits) -> std::result::Result<(), String> {
    if let Some(max) = parent.max_uses {
        match child.max_uses {
            None => return Err(format!("limit max_uses is missing; the parent allows {max}")),
            Some(n) if n > max => return Err(format!("max_uses {n} exceeds the parent's {max}")),
            Some(_) => {}
        }
    }
    if let Some(rate) = &parent.rate {
        match &child.rate {
            None => return Err(format!("limit rate is missing; the parent allows {rate}")),
            Some(r) if !r.within(rate) => return Err(format!("rate {r} is looser than the parent's {rate}")),
            Some(_) => {}
        }
    }
    if let Some(budget) = &parent.budget {
        match &child.budget {
            None => {
                return Err(format!(
                    "limit budget is missing; the parent allows {} of `{}`",
                    budget.max_total, budget.arg
                ))
            }
            Some(b) if b.arg != budget.arg => {
                return Err(format!("budget is on `{}`; the parent's is on `{}`", preview(&b.arg), budget.arg))
            }
            Some(b) if !num_le(&b.max_total, &budget.max_total) => {
                return Err(format!("budget max_total {} exceeds the parent's {}", b.max_total, budget.max_total))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
