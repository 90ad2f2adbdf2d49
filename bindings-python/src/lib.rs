//! `runtime_identity._native`: the Python face of the core. Only conversions live here; every
//! rule, default and validation is the core's.

mod convert;
mod credential;
mod decision;
mod runtime;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<runtime::PyRuntime>()?;
    m.add_class::<runtime::PyAudit>()?;
    m.add_class::<credential::PyCredential>()?;
    m.add_class::<credential::PyScope>()?;
    m.add_class::<credential::PyReceipt>()?;
    m.add_class::<decision::PyDecision>()?;
    m.add("ERROR_CODES", runtime_identity::ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
    m.add("REASON_CODES", runtime_identity::ReasonCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>())?;
    m.add("EVENT_TYPES", runtime_identity::audit::EventType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
