//! `runtime_identity._native`: the Python face of the core. Only conversions live here; every
//! rule, default and validation is the core's.

mod audit;
mod check;
mod convert;
mod credential;
mod decision;
mod guard;
mod options;
mod runtime;

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::convert::{ser_to_py, snapshot, to_json, IntoPy};

/// What a guarded tool receives for argument `name` (`value` converted as a check converts
/// it): the value itself when it is exactly what a check holds, else a plain copy of it.
/// Raises `InvalidArgument` (naming `name`) for a value a check cannot hold. Internal (the
/// Python binder of `guard.py`).
#[pyfunction]
fn _snapshot<'py>(value: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    Ok(snapshot(value, name)?.copy.unwrap_or_else(|| value.clone()))
}

/// Verifies an audit log file without a runtime, as a third party does: with the issuer, the
/// authority's JWKS and the newest checkpoint the operator's store reports (`anchor`,
/// `{"seq", "hash"}`; without it a cut-off tail after the last checkpoint goes unnoticed).
#[pyfunction]
#[pyo3(signature = (path, *, issuer, jwks, anchor=None))]
fn verify_audit_log(
    py: Python<'_>,
    path: PathBuf,
    issuer: &str,
    jwks: &Bound<'_, PyAny>,
    anchor: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let jwks = to_json(jwks)?;
    let anchor = anchor.map(to_json).transpose()?;
    let report = py.detach(|| runtime_identity::audit::verify_log_file(&path, issuer, &jwks, anchor.as_ref())).py()?;
    ser_to_py(py, &report)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<runtime::PyRuntime>()?;
    m.add_class::<audit::PyAudit>()?;
    m.add_class::<credential::PyCredential>()?;
    m.add_class::<credential::PyScope>()?;
    m.add_class::<credential::PyReceipt>()?;
    m.add_class::<decision::PyDecision>()?;
    m.add_class::<guard::PyGuardPlan>()?;
    m.add_function(wrap_pyfunction!(verify_audit_log, m)?)?;
    m.add_function(wrap_pyfunction!(_snapshot, m)?)?;
    m.add("ERROR_CODES", runtime_identity::ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
    let classes = pyo3::types::PyDict::new(m.py());
    for code in runtime_identity::ErrorCode::ALL {
        classes.set_item(code.as_str(), code.class_name())?;
    }
    m.add("ERROR_CLASSES", classes)?;
    m.add("REASON_CODES", runtime_identity::ReasonCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
    m.add("EVENT_TYPES", runtime_identity::audit::EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
