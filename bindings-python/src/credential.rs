//! `Credential`, `Scope` and `Receipt`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use runtime_identity::scope::Scope;
use runtime_identity::token::Credential;
use runtime_identity::Receipt;

use serde_json::{json, Map, Value};

use crate::convert::{ser_to_py, to_json, to_py, IntoPy};
use crate::runtime::{AttenuateArgs, PyRuntime};

/// A verified delegation credential. `token` is a bearer secret: it never appears in `repr`,
/// and a credential cannot be pickled.
#[pyclass(frozen, module = "runtime_identity._native", name = "Credential")]
#[derive(Debug)]
pub struct PyCredential {
    pub(crate) inner: Credential,
    pub(crate) runtime: Option<Py<PyRuntime>>,
}

fn utc(py: Python<'_>, unix: i64) -> PyResult<Py<PyAny>> {
    let dt = py.import("datetime")?;
    let utc = dt.getattr("timezone")?.getattr("utc")?;
    Ok(dt.getattr("datetime")?.call_method1("fromtimestamp", (unix, utc))?.unbind())
}

#[pymethods]
impl PyCredential {
    /// The token to pass to a sub-agent or over the wire (a secret).
    #[getter]
    fn token(&self) -> &str {
        self.inner.token()
    }

    /// The Runtime that made or verified this credential (None if it has none).
    #[getter]
    fn runtime(&self, py: Python<'_>) -> Option<Py<PyRuntime>> {
        self.runtime.as_ref().map(|r| r.clone_ref(py))
    }

    /// The leaf grant id.
    #[getter]
    fn grant_id(&self) -> &str {
        self.inner.grant_id()
    }

    /// When the credential expires (aware `datetime`, UTC).
    #[getter]
    fn expires_at(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        utc(py, self.inner.expires_at())
    }

    /// When the credential expires (Unix seconds).
    #[getter]
    fn expires_at_unix(&self) -> i64 {
        self.inner.expires_at()
    }

    /// The acting agent (the leaf's).
    #[getter]
    fn actor(&self) -> Option<&str> {
        self.inner.chain().actor().map(|a| a.as_str())
    }

    /// On whose behalf every link acts.
    #[getter]
    fn on_behalf_of(&self) -> &str {
        self.inner.chain().on_behalf_of.as_str()
    }

    /// The agents of the chain, the authority's grantee first.
    #[getter]
    fn agents(&self) -> Vec<String> {
        self.inner.chain().agents().map(|a| a.as_str().to_owned()).collect()
    }

    /// The links, the authority's first: issuer, actor, grant id, times, depth, purpose, scopes.
    #[getter]
    fn chain(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let links: Vec<Value> = self
            .inner
            .chain()
            .links
            .iter()
            .map(|l| {
                json!({
                    "issuer": l.issuer,
                    "actor": l.actor.as_str(),
                    "grant_id": l.grant_id,
                    "issued_at": l.issued_at,
                    "expires_at": l.expires_at,
                    "depth": l.depth,
                    "max_depth": l.max_depth,
                    "purpose": l.purpose,
                    "scopes": l.scopes.iter().map(Scope::to_api_value).collect::<Vec<_>>(),
                })
            })
            .collect();
        to_py(py, &Value::Array(links))
    }

    /// The scopes of the leaf grant.
    #[getter]
    fn scopes(&self) -> Vec<PyScope> {
        self.inner.chain().scopes().iter().map(|s| PyScope { inner: s.clone() }).collect()
    }

    /// A narrower credential for sub-agent `to`, signed by this credential's agent (with its
    /// key from the store, or `key`: its private JWK as a JSON string).
    #[pyo3(signature = (*, to, scopes, ttl=None, purpose=None, max_depth=None, key=None))]
    fn attenuate(
        slf: &Bound<'_, Self>,
        to: String,
        scopes: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        purpose: Option<String>,
        max_depth: Option<u32>,
        key: Option<String>,
    ) -> PyResult<PyCredential> {
        let this = slf.get();
        let rt = this.runtime.as_ref().ok_or_else(|| {
            PyTypeError::new_err("this credential was not made by a Runtime; use rt.attenuate(token, ...)")
        })?;
        let args = AttenuateArgs::new(to, scopes, ttl, purpose, max_depth, key)?;
        rt.bind(slf.py()).get().attenuate_token(slf.py(), rt.clone_ref(slf.py()), this.inner.token(), args)
    }

    fn __repr__(&self) -> String {
        format!(
            "Credential(grant_id={:?}, actor={:?}, on_behalf_of={:?}, links={}, expires_at={})",
            self.inner.grant_id(),
            self.actor().unwrap_or("-"),
            self.on_behalf_of(),
            self.inner.chain().links.len(),
            self.inner.expires_at()
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("a Credential holds a bearer token and cannot be pickled; pass `cred.token`"))
    }
}

/// What a grant allows: actions, resources, data classes, argument constraints and limits.
#[pyclass(frozen, module = "runtime_identity._native", name = "Scope", eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyScope {
    pub(crate) inner: Scope,
}

#[pymethods]
impl PyScope {
    /// `Scope(["crm.read"], resources=["customer/*"], data_classes=["internal"],
    /// constraints={"amount": {"max": 100}}, limits={"max_uses": 5, "rate": "10/min"})`.
    #[new]
    #[pyo3(signature = (actions, resources=None, data_classes=None, constraints=None, limits=None))]
    fn new(
        actions: &Bound<'_, PyAny>,
        resources: Option<&Bound<'_, PyAny>>,
        data_classes: Option<&Bound<'_, PyAny>>,
        constraints: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut m = Map::new();
        let actions = if actions.is_instance_of::<pyo3::types::PyString>() {
            PyList::new(actions.py(), [actions])?.into_any()
        } else {
            actions.clone()
        };
        m.insert("actions".into(), to_json(&actions)?);
        for (k, v) in
            [("resources", resources), ("data_classes", data_classes), ("constraints", constraints), ("limits", limits)]
        {
            if let Some(v) = v.filter(|v| !v.is_none()) {
                m.insert(k.into(), to_json(v)?);
            }
        }
        Ok(Self { inner: Scope::from_api_value(&Value::Object(m)).py()? })
    }

    /// A scope from its dict form (as `to_dict` gives).
    #[staticmethod]
    fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(Self { inner: Scope::from_api_value(&to_json(d.as_any())?).py()? })
    }

    /// The dict form.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.inner.to_api_value())
    }

    fn __repr__(&self) -> String {
        format!("Scope({})", self.inner.to_api_value())
    }
}

/// Scopes from a list of `Scope` or dicts (or one of either).
pub fn scopes_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Scope>> {
    let one = |o: &Bound<'_, PyAny>| -> PyResult<Scope> {
        if let Ok(s) = o.cast::<PyScope>() {
            return Ok(s.get().inner.clone());
        }
        if o.is_instance_of::<PyDict>() {
            return Scope::from_api_value(&to_json(o)?).py();
        }
        Err(PyTypeError::new_err("a scope must be a Scope or a dict"))
    };
    if obj.is_instance_of::<PyScope>() || obj.is_instance_of::<PyDict>() {
        return Ok(vec![one(obj)?]);
    }
    obj.try_iter()
        .map_err(|_| PyTypeError::new_err("scopes must be a list of Scope or dict"))?
        .map(|o| one(&o?))
        .collect()
}

/// A signed, single-use approval receipt: pass it as `approval=` to the check it approves.
#[pyclass(frozen, module = "runtime_identity._native", name = "Receipt")]
pub struct PyReceipt {
    pub(crate) inner: Receipt,
}

impl std::fmt::Debug for PyReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt").field("id", &self.inner.approval.id).finish_non_exhaustive()
    }
}

#[pymethods]
impl PyReceipt {
    /// The receipt JWS.
    #[getter]
    fn token(&self) -> &str {
        &self.inner.token
    }

    /// The approval as stored (id, status, approver, …).
    #[getter]
    fn approval(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &self.inner.approval)
    }

    /// The approval request id.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.approval.id
    }

    fn __str__(&self) -> &str {
        &self.inner.token
    }

    fn __repr__(&self) -> String {
        format!("Receipt(id={:?}, approver={:?})", self.inner.approval.id, self.inner.approval.decided_by)
    }
}
