//! Matching a request against scopes.

use std::fmt;

use serde_json::{Map, Value};

use super::pattern::{self, Kind};
use super::{preview, Scope};

/// What a request asks for, as matched by [`Scope::permits`].
#[derive(Debug, Clone, Copy)]
pub struct ScopeRequest<'a> {
    /// The action name (`payments.refund`).
    pub action: &'a str,
    /// The resource name (`customer/42`).
    pub resource: &'a str,
    /// The data class the resource carries, if any.
    pub data_class: Option<&'a str>,
    /// The call's arguments, checked against the scope's constraints.
    pub args: &'a Map<String, Value>,
}

/// Why a scope does not permit a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialKind {
    /// No action pattern matches.
    ActionNotGranted,
    /// No resource pattern matches.
    ResourceNotGranted,
    /// The scope lists data classes and the resource's is not among them (or it has none).
    DataClassNotGranted,
    /// A constrained argument is absent (or `null`).
    ArgumentMissing {
        /// The argument's name.
        arg: String,
    },
    /// A constrained argument has the wrong type or is out of bounds.
    ConstraintViolated {
        /// The argument's name.
        arg: String,
        /// The bound that failed: `max`, `min`, `in` or `eq`.
        bound: String,
    },
}

impl DenialKind {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DenialKind::ActionNotGranted => "action_not_granted",
            DenialKind::ResourceNotGranted => "resource_not_granted",
            DenialKind::DataClassNotGranted => "data_class_not_granted",
            DenialKind::ArgumentMissing { .. } => "argument_missing",
            DenialKind::ConstraintViolated { .. } => "constraint_violated",
        }
    }

    /// How far the check got before this denial (action 0 … constraints 3).
    fn stage(&self) -> u8 {
        match self {
            DenialKind::ActionNotGranted => 0,
            DenialKind::ResourceNotGranted => 1,
            DenialKind::DataClassNotGranted => 2,
            DenialKind::ArgumentMissing { .. } | DenialKind::ConstraintViolated { .. } => 3,
        }
    }
}

/// A deny from a scope check: a kind with a stable code and a lowercase message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// What failed.
    pub kind: DenialKind,
    /// What failed, for people; names the request's values in backticks.
    pub message: String,
}

impl Denial {
    pub(crate) fn new(kind: DenialKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Denial {}

/// How far a check got: the stage, then how many constraints passed.
type Progress = (u8, usize);

impl Scope {
    /// Whether this scope permits `req`. Checks, in order: action, resource, data class (a
    /// scope listing data classes denies a resource without one), then each constraint by
    /// argument name. Limits are not checked here.
    pub fn permits(&self, req: &ScopeRequest<'_>) -> Result<(), Denial> {
        self.check(req, true).map_err(|(_, denial)| denial)
    }

    /// The first of the scope's action patterns that matches `action`: what a call of
    /// `action` is counted under for the scope's rate.
    pub fn matching_action(&self, action: &str) -> Option<&str> {
        self.actions.iter().map(String::as_str).find(|p| pattern::matches(Kind::Action, p, action))
    }

    /// Checks `req`; the denial's message is written only when `explain` is set (a scope
    /// passed over for a later one that permits needs none).
    fn check(&self, req: &ScopeRequest<'_>, explain: bool) -> Result<(), (Progress, Denial)> {
        let deny = |passed: usize, kind: DenialKind, message: &dyn Fn() -> String| {
            let progress = (kind.stage(), passed);
            Err((progress, Denial::new(kind, if explain { message() } else { String::new() })))
        };
        // The request's names as quoted in messages, built only for a denial.
        let action = || preview(req.action);
        let resource = || preview(req.resource);
        if self.matching_action(req.action).is_none() {
            return deny(0, DenialKind::ActionNotGranted, &|| format!("action `{}` is not granted", action()));
        }
        if !self.resources.iter().any(|p| pattern::matches(Kind::Resource, p, req.resource)) {
            return deny(0, DenialKind::ResourceNotGranted, &|| {
                format!("resource `{}` is not granted for action `{}`", resource(), action())
            });
        }
        if let Some(classes) = &self.data_classes {
            match req.data_class {
                None => {
                    return deny(0, DenialKind::DataClassNotGranted, &|| {
                        format!("resource `{}` has no data class; the scope allows only listed ones", resource())
                    })
                }
                Some(class) if !classes.iter().any(|c| c == class) => {
                    return deny(0, DenialKind::DataClassNotGranted, &|| {
                        format!("data class `{}` is not granted for resource `{}`", preview(class), resource())
                    })
                }
                Some(_) => {}
            }
        }
        for (passed, (arg, constraint)) in self.constraints.iter().enumerate() {
            match req.args.get(arg) {
                None | Some(Value::Null) => {
                    return deny(passed, DenialKind::ArgumentMissing { arg: arg.clone() }, &|| {
                        format!("argument `{arg}` is missing; the scope constrains it")
                    })
                }
                Some(value) => {
                    if let Err(denial) = constraint.check(arg, value) {
                        return Err(((denial.kind.stage(), passed), denial));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The index of the first scope that permits `req`; otherwise the most specific denial: the
/// one from the scope whose check got furthest (the first such scope on a tie).
pub fn permits_any(scopes: &[Scope], req: &ScopeRequest<'_>) -> Result<usize, Denial> {
    let mut best: Option<(Progress, usize)> = None;
    for (i, scope) in scopes.iter().enumerate() {
        match scope.check(req, false) {
            Ok(()) => return Ok(i),
            Err((progress, _)) => {
                if best.is_none_or(|(p, _)| progress > p) {
                    best = Some((progress, i));
                }
            }
        }
    }
    // The denial is explained once, for the scope that got furthest.
    let explained = best.and_then(|(_, i)| scopes.get(i)).and_then(|s| s.check(req, true).err());
    Err(explained.map_or_else(
        || {
            Denial::new(
                DenialKind::ActionNotGranted,
                format!("action `{}` is not granted: no scope", preview(req.action)),
            )
        },
        |(_, denial)| denial,
    ))
}
