//! `Decision`: the result of a check, converted to Python values only when read.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use runtime_identity::Decision;

use crate::convert::{ser_to_py, to_py};

/// The decision of one check. `bool(decision)` is `decision.allowed`.
#[pyclass(frozen, module = "runtime_identity._native", name = "Decision")]
#[derive(Debug)]
pub struct PyDecision {
    pub(crate) inner: Decision,
}

#[pymethods]
impl PyDecision {
    /// `"allow"`, `"deny"` or `"require_approval"`.
    #[getter]
    fn effect(&self) -> &'static str {
        self.inner.effect.as_str()
    }

    /// The call may run.
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.allowed
    }

    /// The first reason's code (`"granted"`, `"constraint_violated"`, …).
    #[getter]
    fn code(&self) -> Option<&'static str> {
        self.inner.code().map(|c| c.as_str())
    }

    /// The first reason's message.
    #[getter]
    fn message(&self) -> Option<&str> {
        self.inner.reasons.first().map(|r| r.message.as_str())
    }

    /// Every reason as a `Reason(code, message)` named tuple, most important first.
    #[getter]
    fn reasons<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        static REASON: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        let reason = REASON.import(py, "runtime_identity._reason", "Reason")?;
        self.inner.reasons.iter().map(|r| reason.call1((r.code.as_str(), r.message.as_str()))).collect()
    }

    /// The decision's id (UUIDv7), the key of its audit events.
    #[getter]
    fn decision_id(&self) -> &str {
        &self.inner.decision_id
    }

    /// The acting agent.
    #[getter]
    fn actor(&self) -> Option<&str> {
        self.inner.actor.as_deref()
    }

    /// The chain's agents, the authority's grantee first.
    #[getter]
    fn chain(&self) -> Vec<String> {
        self.inner.chain.clone()
    }

    /// On whose behalf.
    #[getter]
    fn on_behalf_of(&self) -> Option<&str> {
        self.inner.on_behalf_of.as_deref()
    }

    /// The leaf grant id.
    #[getter]
    fn grant_id(&self) -> Option<&str> {
        self.inner.grant_id.as_deref()
    }

    /// Ids of the Cedar policies that decided.
    #[getter]
    fn policies(&self) -> Vec<String> {
        self.inner.policies.clone()
    }

    /// The approval to ask for (`id`, `action_hash`, `expires_at`, `reason`), when the effect
    /// is `require_approval`.
    #[getter]
    fn approval_request(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.inner.approval_request {
            Some(r) => ser_to_py(py, r),
            None => Ok(py.None()),
        }
    }

    /// Whether the call came with a proof of possession that verified.
    #[getter]
    fn proof(&self) -> bool {
        self.inner.proof
    }

    /// The action checked.
    #[getter]
    fn action(&self) -> &str {
        &self.inner.action
    }

    /// The resource checked.
    #[getter]
    fn resource(&self) -> &str {
        &self.inner.resource
    }

    /// When it was decided (Unix milliseconds).
    #[getter]
    fn decided_at_ms(&self) -> i64 {
        self.inner.decided_at_ms
    }

    /// The decision as a dict (the core's JSON form).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = serde_json::to_value(&self.inner).map_err(|e| pyo3::exceptions::PyTypeError::new_err(e.to_string()))?;
        to_py(py, &v)
    }

    fn __bool__(&self) -> bool {
        self.inner.allowed
    }

    fn __repr__(&self) -> String {
        let d = &self.inner;
        format!(
            "Decision({} {} on {} by {}: {})",
            d.effect.as_str(),
            d.action,
            d.resource,
            d.actor.as_deref().unwrap_or("-"),
            d.reasons.first().map(|r| format!("{} — {}", r.code, r.message)).unwrap_or_default()
        )
    }
}
