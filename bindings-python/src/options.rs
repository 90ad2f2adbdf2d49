//! A runtime's options from `Runtime.open` / `Runtime.in_memory` keyword arguments: durations,
//! durability, algorithm, a fixed clock.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use runtime_identity::audit::{AuditOptions, Durability};
use runtime_identity::internal::parse_duration;
use runtime_identity::{Algorithm, FixedClock, RuntimeOptions, DEFAULT_MAX_TTL_SECONDS, DEFAULT_TTL_SECONDS};

use crate::convert::IntoPy;

/// Seconds from an int or a duration string (`"15m"`).
pub(crate) fn seconds(ttl: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    match ttl {
        None => Ok(None),
        Some(t) if t.is_none() => Ok(None),
        Some(t) => match t.cast::<PyString>() {
            Ok(s) => parse_duration(s.to_str()?).py().map(Some),
            Err(_) => t
                .extract::<u64>()
                .map(Some)
                .map_err(|_| PyTypeError::new_err("a ttl is a number of seconds or a string like \"15m\"")),
        },
    }
}

#[allow(clippy::too_many_arguments, reason = "one keyword argument per runtime option")]
pub(crate) fn options(
    issuer: Option<String>,
    durability: &str,
    alg: Option<&str>,
    default_ttl: Option<&Bound<'_, PyAny>>,
    max_ttl: Option<&Bound<'_, PyAny>>,
    require_permit: bool,
    require_proof: bool,
    checkpoint_every: Option<u64>,
    record_args: Option<Vec<String>>,
    clock: Option<&FixedClock>,
) -> PyResult<RuntimeOptions> {
    let mut audit = AuditOptions { durability: Durability::parse(durability).py()?, ..AuditOptions::default() };
    if let Some(n) = checkpoint_every {
        audit.checkpoint_every = n;
    }
    audit.record_args = record_args.unwrap_or_default();
    let mut o = RuntimeOptions {
        issuer,
        default_ttl: seconds(default_ttl)?.unwrap_or(DEFAULT_TTL_SECONDS),
        max_ttl: seconds(max_ttl)?.unwrap_or(DEFAULT_MAX_TTL_SECONDS),
        require_permit,
        require_proof,
        audit,
        ..RuntimeOptions::default()
    };
    if let Some(a) = alg {
        o.alg = Algorithm::parse(a).py()?;
    }
    if let Some(c) = clock {
        o.clock = Arc::new(c.clone());
    }
    Ok(o)
}

/// A fixed clock at `t` (Unix seconds), if given.
pub(crate) fn fixed(t: Option<i64>) -> Option<FixedClock> {
    t.map(FixedClock::at)
}
