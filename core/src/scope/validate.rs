//! Validation of scopes: syntax (code `ScopeInvalid`) and size bounds (code `InputTooLarge`).

use crate::error::{Error, ErrorCode, Result};

use super::pattern::{self, Kind};
use super::{preview, Scope, MAX_CONSTRAINTS, MAX_CONSTRAINT_NAME_LEN, MAX_PATTERNS, MAX_PATTERN_LEN, MAX_SCOPES};

/// Checks the length of a list of patterns or data classes.
fn check_list(list: &[String], what: &str) -> Result<()> {
    if list.is_empty() {
        return Err(Error::new(ErrorCode::ScopeInvalid, format!("a scope must list at least one {what}")));
    }
    if list.len() > MAX_PATTERNS {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("a scope lists {} {what}s; at most {MAX_PATTERNS} are allowed", list.len()),
        ));
    }
    Ok(())
}

/// Checks a data class name: `[A-Za-z0-9_-]+`, at most [`MAX_PATTERN_LEN`] bytes.
fn validate_data_class(name: &str) -> Result<()> {
    if name.len() > MAX_PATTERN_LEN {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("data class `{}` is longer than {MAX_PATTERN_LEN} bytes", preview(name)),
        ));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::new(
            ErrorCode::ScopeInvalid,
            format!("data class `{}` must be 1 or more of A-Z a-z 0-9 _ -", preview(name)),
        ));
    }
    Ok(())
}

/// Checks an argument name (`[A-Za-z0-9_]`, 1 to [`MAX_CONSTRAINT_NAME_LEN`] bytes); `what`
/// names it in the message.
pub(crate) fn validate_arg_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > MAX_CONSTRAINT_NAME_LEN
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::new(
            ErrorCode::ScopeInvalid,
            format!("{what} `{}` must be 1 to {MAX_CONSTRAINT_NAME_LEN} of A-Z a-z 0-9 _", preview(name)),
        ));
    }
    Ok(())
}

impl Scope {
    /// Checks that the scope is well formed and within bounds.
    ///
    /// Code `ScopeInvalid` for a malformed pattern, data class, constraint or limit, or an
    /// empty list; `InputTooLarge` when a bound (`MAX_*`) is exceeded.
    pub fn validate(&self) -> Result<()> {
        check_list(&self.actions, "action")?;
        for p in &self.actions {
            pattern::validate(Kind::Action, p)?;
        }
        check_list(&self.resources, "resource")?;
        for p in &self.resources {
            pattern::validate(Kind::Resource, p)?;
        }
        if let Some(classes) = &self.data_classes {
            check_list(classes, "data class")?;
            for c in classes {
                validate_data_class(c)?;
            }
        }
        if self.constraints.len() > MAX_CONSTRAINTS {
            return Err(Error::new(
                ErrorCode::InputTooLarge,
                format!("a scope has {} constraints; at most {MAX_CONSTRAINTS} are allowed", self.constraints.len()),
            ));
        }
        for (arg, constraint) in &self.constraints {
            validate_arg_name(arg, "constrained argument")?;
            constraint.validate(arg)?;
        }
        self.limits.validate()
    }
}

/// Checks the number of scopes in a grant: 1 to [`MAX_SCOPES`].
pub(crate) fn check_scope_count(count: usize) -> Result<()> {
    if count == 0 {
        return Err(Error::new(ErrorCode::ScopeInvalid, "a grant must have at least one scope"));
    }
    if count > MAX_SCOPES {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("a grant has {count} scopes; at most {MAX_SCOPES} are allowed"),
        ));
    }
    Ok(())
}

/// Checks the scopes of a grant: 1 to [`MAX_SCOPES`] of them, each valid. Messages name the
/// failing scope's index.
pub fn validate_scopes(scopes: &[Scope]) -> Result<()> {
    check_scope_count(scopes.len())?;
    for (i, scope) in scopes.iter().enumerate() {
        scope.validate().map_err(|e| Error::new(e.code(), format!("scope {i}: {}", e.message())))?;
    }
    Ok(())
}
