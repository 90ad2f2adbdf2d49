//! A check crossing from Python: the presented credential or token, the inputs converted, the
//! core's check run with the GIL released, and a guarded call's outcome recorded.

use pyo3::exceptions::{PyRuntimeWarning, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use runtime_identity::audit::Outcome;
use runtime_identity::token::Credential;
use runtime_identity::CheckRequest;
use serde_json::{Map, Value};

use crate::convert::to_json;
use crate::credential::PyCredential;
use crate::decision::PyDecision;
use crate::runtime::PyRuntime;

/// The token of a `Credential` or a token string.
pub(crate) enum Presented<'a> {
    Credential(&'a Credential),
    Token(String),
}

pub(crate) fn presented<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Presented<'a>> {
    if let Ok(c) = obj.cast::<PyCredential>() {
        // The credential lives as long as `obj`, which outlives the call.
        let cred: &'a PyCredential = c.get();
        return Ok(Presented::Credential(&cred.inner));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Presented::Token(s.to_str()?.to_owned()));
    }
    Err(PyTypeError::new_err("expected a Credential or a token string"))
}

/// What a check reads from Python, before conversion.
pub(crate) struct CheckInputs<'a, 'py> {
    pub(crate) cred: &'a Bound<'py, PyAny>,
    pub(crate) action: &'a str,
    pub(crate) resource: Option<&'a str>,
    pub(crate) args: Option<&'a Map<String, Value>>,
    pub(crate) context: Option<&'a Bound<'py, PyAny>>,
    pub(crate) approval: Option<&'a str>,
    pub(crate) proof: Option<&'a str>,
}

impl PyRuntime {
    /// Converts the inputs and runs the core's check with the GIL released.
    pub(crate) fn decide(&self, py: Python<'_>, i: CheckInputs<'_, '_>) -> PyResult<runtime_identity::Decision> {
        let presented = presented(i.cred)?;
        let context: Option<Value> = i.context.filter(|c| !c.is_none()).map(to_json).transpose()?;
        let req = CheckRequest {
            action: i.action,
            resource: i.resource,
            args: i.args,
            context: context.as_ref(),
            approval: i.approval,
            proof: i.proof,
        };
        let rt = &self.inner;
        Ok(py.detach(|| match &presented {
            Presented::Credential(c) => rt.check(*c, &req),
            Presented::Token(t) => rt.check(t.as_str(), &req),
        }))
    }

    /// After a check: `(False, decision)` when it did not allow; else runs `func(*a, **kw)`,
    /// records its outcome and returns `(True, result)` (or the function's exception).
    pub(crate) fn run_allowed(
        &self,
        py: Python<'_>,
        decision: runtime_identity::Decision,
        func: &Bound<'_, PyAny>,
        a: &Bound<'_, PyTuple>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(bool, Py<PyAny>)> {
        if !decision.allowed {
            return Ok((false, Py::new(py, PyDecision { inner: decision })?.into_any()));
        }
        let start = std::time::Instant::now();
        let result = func.call(a, kw);
        let duration = Some(start.elapsed());
        let outcome = match &result {
            Ok(_) => Outcome { ok: true, error: None, result_digest: None, duration },
            Err(e) => {
                let name = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "BaseException".to_owned());
                Outcome { ok: false, error: Some(name), result_digest: None, duration }
            }
        };
        let id = decision.decision_id.as_str();
        if let Err(e) = py.detach(|| self.inner.record_outcome(id, &outcome)) {
            // Like the Python path: the tool's result or error is what the caller gets.
            let msg = format!("the outcome of decision {id} was not recorded: {e}");
            let msg = std::ffi::CString::new(msg.replace('\0', " ")).unwrap_or_default();
            if let Err(warning) = PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), &msg, 2) {
                // Warnings raised as errors: the tool's own error stays attached, as in Python.
                if let Err(tool_error) = &result {
                    warning.value(py).setattr("__context__", tool_error.value(py))?;
                }
                return Err(warning);
            }
        }
        Ok((true, result?.unbind()))
    }
}
