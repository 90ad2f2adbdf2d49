//! `Audit`: a runtime's audit log seen from Python (verify, explain, events, PROV export),
//! argument conversion around the core's audit queries.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use runtime_identity::audit::EventFilter;
use runtime_identity::{Effect, Runtime};

use crate::convert::{ser_to_py, to_py, IntoPy};

/// The audit log of a runtime.
#[pyclass(frozen, module = "runtime_identity._native", name = "Audit")]
#[derive(Debug)]
pub struct PyAudit {
    inner: Arc<Runtime>,
}

impl PyAudit {
    /// The audit view of `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { inner: runtime }
    }
}

fn unix_ms(v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(v) = v.filter(|v| !v.is_none()) else { return Ok(None) };
    let secs: f64 = if v.hasattr("timestamp")? { v.call_method0("timestamp")?.extract()? } else { v.extract()? };
    Ok(Some((secs * 1000.0).round() as i64))
}

#[allow(clippy::too_many_arguments, reason = "one keyword argument per filter field")]
fn filter_of(
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    actor: Option<String>,
    on_behalf_of: Option<String>,
    action: Option<String>,
    effect: Option<&str>,
    decision_id: Option<String>,
    r#type: Option<String>,
    limit: Option<usize>,
) -> PyResult<EventFilter> {
    let effect = match effect {
        None => None,
        Some("allow") => Some(Effect::Allow),
        Some("deny") => Some(Effect::Deny),
        Some("require_approval") => Some(Effect::RequireApproval),
        Some(other) => {
            return Err(PyTypeError::new_err(format!("effect `{other}` is not allow, deny or require_approval")))
        }
    };
    Ok(EventFilter {
        since_ms: unix_ms(since)?,
        until_ms: unix_ms(until)?,
        actor,
        on_behalf_of,
        action,
        effect,
        decision_id,
        kind: r#type,
        limit,
    })
}

#[pymethods]
impl PyAudit {
    /// Recomputes the hash chain and checks every checkpoint signature and the store's
    /// checkpoint. Returns `{ok, events, checkpoints, last_seq, head, first_bad_seq, kind, message}`.
    fn verify(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let r = py.detach(|| self.inner.audit().verify()).py()?;
        ser_to_py(py, &r)
    }

    /// The provenance of one decision: chain (issuer, actor, grant id, times, scopes),
    /// reasons, policies, approval and outcome.
    fn explain(&self, py: Python<'_>, decision_id: &str) -> PyResult<Py<PyAny>> {
        let p = py.detach(|| self.inner.audit().explain(decision_id)).py()?;
        let d = ser_to_py(py, &p)?;
        d.bind(py).cast::<PyDict>()?.set_item("text", p.to_string())?;
        Ok(d)
    }

    /// Events passing every filter given (`since`/`until`: datetime or Unix seconds).
    #[pyo3(signature = (*, since=None, until=None, actor=None, on_behalf_of=None, action=None, effect=None,
        decision_id=None, r#type=None, limit=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per filter field")]
    fn events(
        &self,
        py: Python<'_>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        actor: Option<String>,
        on_behalf_of: Option<String>,
        action: Option<String>,
        effect: Option<&str>,
        decision_id: Option<String>,
        r#type: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let f = filter_of(since, until, actor, on_behalf_of, action, effect, decision_id, r#type, limit)?;
        let events = py.detach(|| self.inner.audit().events(&f)).py()?;
        ser_to_py(py, &events)
    }

    /// The calls passing the filters as a W3C PROV-JSON document.
    #[pyo3(signature = (*, since=None, until=None, actor=None, on_behalf_of=None, action=None, effect=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per filter field")]
    fn export_prov(
        &self,
        py: Python<'_>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        actor: Option<String>,
        on_behalf_of: Option<String>,
        action: Option<String>,
        effect: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let f = filter_of(since, until, actor, on_behalf_of, action, effect, None, None, None)?;
        let doc = py.detach(|| self.inner.audit().export_prov(&f)).py()?;
        to_py(py, &doc)
    }

    /// Writes everything queued to the log now.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.audit().flush()).py()
    }
}
