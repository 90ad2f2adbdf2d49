//! `Runtime`: argument conversion around the core's `Runtime` (its audit view is `audit.rs`).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use runtime_identity::audit::Outcome;
use runtime_identity::scope::Scope;
use runtime_identity::token::Credential;
use runtime_identity::CheckRequest;
use runtime_identity::{
    AgentFilter, AgentSpec, Algorithm, Approver, AttenuateRequest, DelegateRequest, FixedClock, Jwk, PrivateKey,
    Runtime,
};
use serde_json::Value;

use crate::audit::PyAudit;
use crate::check::{presented, CheckInputs, Presented};
use crate::convert::{opt_map, ser_to_py, to_json, IntoPy};
use crate::credential::{scopes_of, PyCredential, PyReceipt};
use crate::decision::PyDecision;
use crate::guard::PyGuardPlan;
use crate::options::{fixed, options, seconds};

/// One trust domain: the authority, the agent registry, delegation, the runtime check and the
/// audit log. Safe to share between threads; checks release the GIL.
#[pyclass(frozen, module = "runtime_identity._native", name = "Runtime")]
#[derive(Debug)]
pub struct PyRuntime {
    pub(crate) inner: Arc<Runtime>,
    /// The clock, when the runtime was made with `fixed_time` (tests, vectors, benchmarks).
    clock: Option<FixedClock>,
}

/// What `attenuate` needs, converted.
pub struct AttenuateArgs {
    request: AttenuateRequest,
    key: Option<PrivateKey>,
}

impl AttenuateArgs {
    pub fn new(
        to: String,
        scopes: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        purpose: Option<String>,
        max_depth: Option<u32>,
        key: Option<String>,
    ) -> PyResult<Self> {
        let scopes: Vec<Scope> = scopes_of(scopes)?;
        let key = key.map(|k| PrivateKey::from_secret_json(&k)).transpose().py()?;
        Ok(Self { request: AttenuateRequest { to, scopes, ttl: seconds(ttl)?, purpose, max_depth }, key })
    }
}

impl PyRuntime {
    pub(crate) fn attenuate_token(
        &self,
        py: Python<'_>,
        me: Py<PyRuntime>,
        parent: &str,
        args: AttenuateArgs,
    ) -> PyResult<PyCredential> {
        let rt = &self.inner;
        let cred = py
            .detach(|| match &args.key {
                Some(k) => rt.attenuate_with_key(parent, &args.request, k),
                None => rt.attenuate(parent, &args.request),
            })
            .py()?;
        Ok(PyCredential { inner: cred, runtime: Some(me) })
    }

    fn credential(&self, slf: &Bound<'_, Self>, inner: Credential) -> PyCredential {
        PyCredential { inner, runtime: Some(slf.clone().unbind()) }
    }
}

#[pymethods]
impl PyRuntime {
    /// Opens the runtime folder (`path`, else `$RUNTIME_IDENTITY_HOME`, else
    /// `./.runtime-identity`), creating it on first use.
    #[staticmethod]
    #[pyo3(signature = (path=None, *, issuer=None, durability="sync", alg=None, default_ttl=None, max_ttl=None,
        require_permit=false, require_proof=false, checkpoint_every=None, record_args=None, fixed_time=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per runtime option")]
    fn open(
        py: Python<'_>,
        path: Option<PathBuf>,
        issuer: Option<String>,
        durability: &str,
        alg: Option<&str>,
        default_ttl: Option<&Bound<'_, PyAny>>,
        max_ttl: Option<&Bound<'_, PyAny>>,
        require_permit: bool,
        require_proof: bool,
        checkpoint_every: Option<u64>,
        record_args: Option<Vec<String>>,
        fixed_time: Option<i64>,
    ) -> PyResult<Self> {
        let clock = fixed(fixed_time);
        let o = options(
            issuer,
            durability,
            alg,
            default_ttl,
            max_ttl,
            require_permit,
            require_proof,
            checkpoint_every,
            record_args,
            clock.as_ref(),
        )?;
        let rt = py.detach(|| Runtime::open(path.as_deref(), o)).py()?;
        Ok(Self { inner: Arc::new(rt), clock })
    }

    /// A runtime whose state and audit log live in memory only (tests, notebooks).
    #[staticmethod]
    #[pyo3(signature = (issuer=None, *, durability="sync", alg=None, default_ttl=None, max_ttl=None,
        require_permit=false, require_proof=false, checkpoint_every=None, record_args=None, fixed_time=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per runtime option")]
    fn in_memory(
        issuer: Option<String>,
        durability: &str,
        alg: Option<&str>,
        default_ttl: Option<&Bound<'_, PyAny>>,
        max_ttl: Option<&Bound<'_, PyAny>>,
        require_permit: bool,
        require_proof: bool,
        checkpoint_every: Option<u64>,
        record_args: Option<Vec<String>>,
        fixed_time: Option<i64>,
    ) -> PyResult<Self> {
        let clock = fixed(fixed_time);
        let o = options(
            issuer,
            durability,
            alg,
            default_ttl,
            max_ttl,
            require_permit,
            require_proof,
            checkpoint_every,
            record_args,
            clock.as_ref(),
        )?;
        Ok(Self { inner: Arc::new(Runtime::in_memory(o).py()?), clock })
    }

    /// Sets the time of a runtime made with `fixed_time` (Unix seconds).
    fn set_time(&self, unix_seconds: i64) -> PyResult<()> {
        match &self.clock {
            Some(c) => {
                c.set(unix_seconds);
                Ok(())
            }
            None => Err(PyTypeError::new_err("set_time needs a runtime made with fixed_time=...")),
        }
    }

    /// The trust domain's issuer.
    #[getter]
    fn issuer(&self) -> &str {
        self.inner.issuer()
    }

    /// Registers an agent owned by `owner`. Without `public_key` (a JWK dict) a key is generated
    /// and kept in the runtime folder. Returns the agent record.
    #[pyo3(signature = (id, *, owner, attributes=None, max_delegation_depth=None, org=None, name=None,
        description=None, public_key=None, alg=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per agent field")]
    fn register_agent(
        &self,
        py: Python<'_>,
        id: &str,
        owner: String,
        attributes: Option<&Bound<'_, PyAny>>,
        max_delegation_depth: Option<u32>,
        org: Option<String>,
        name: Option<String>,
        description: Option<String>,
        public_key: Option<&Bound<'_, PyAny>>,
        alg: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let public_key: Option<Jwk> = match public_key.filter(|k| !k.is_none()) {
            Some(k) => Some(
                serde_json::from_value(to_json(k)?)
                    .map_err(|e| PyTypeError::new_err(format!("public_key is not a JWK: {e}")))?,
            ),
            None => None,
        };
        let spec = AgentSpec {
            owner: Some(owner),
            org,
            name,
            description,
            attributes: attributes.filter(|a| !a.is_none()).map(to_json).transpose()?,
            max_delegation_depth,
            public_key,
            alg: alg.map(Algorithm::parse).transpose().py()?,
        };
        let rec = py.detach(|| self.inner.register_agent(id, spec)).py()?;
        ser_to_py(py, &rec)
    }

    /// One agent's record.
    fn get_agent(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &self.inner.get_agent(id).py()?)
    }

    /// Agents, optionally of one owner and/or one status (`active`, `suspended`, `revoked`).
    #[pyo3(signature = (*, owner=None, status=None))]
    fn list_agents(&self, py: Python<'_>, owner: Option<&str>, status: Option<&str>) -> PyResult<Py<PyAny>> {
        let filter = AgentFilter {
            owner: owner.map(runtime_identity::PrincipalId::parse).transpose().py()?,
            status: status
                .map(|s| serde_json::from_value(Value::String(s.to_owned())))
                .transpose()
                .map_err(|_| PyTypeError::new_err("status is `active`, `suspended` or `revoked`"))?,
        };
        ser_to_py(py, &self.inner.list_agents(&filter).py()?)
    }

    /// Suspends an agent: every credential whose chain contains it is refused from the next
    /// check on.
    fn suspend_agent(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &py.detach(|| self.inner.suspend_agent(id)).py()?)
    }

    /// Resumes a suspended agent.
    fn resume_agent(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &py.detach(|| self.inner.resume_agent(id)).py()?)
    }

    /// Revokes an agent for good.
    fn revoke_agent(&self, py: Python<'_>, id: &str) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &py.detach(|| self.inner.revoke_agent(id)).py()?)
    }

    /// Replaces an agent's key (with `public_key`, a JWK dict, or a generated one); with
    /// `compromised`, also revokes every grant bound to the old key.
    #[pyo3(signature = (id, public_key=None, *, compromised=false))]
    fn rotate_agent_key(
        &self,
        py: Python<'_>,
        id: &str,
        public_key: Option<&Bound<'_, PyAny>>,
        compromised: bool,
    ) -> PyResult<Py<PyAny>> {
        let jwk: Option<Jwk> = match public_key.filter(|k| !k.is_none()) {
            Some(k) => Some(
                serde_json::from_value(to_json(k)?)
                    .map_err(|e| PyTypeError::new_err(format!("public_key is not a JWK: {e}")))?,
            ),
            None => None,
        };
        let opts = runtime_identity::RotateKey { public_key: jwk, compromised };
        ser_to_py(py, &py.detach(|| self.inner.rotate_agent_key_with(id, &opts)).py()?)
    }

    /// The authority grants `scopes` to agent `to` on behalf of `on_behalf_of`.
    #[pyo3(signature = (*, to, on_behalf_of, scopes, ttl=None, purpose=None, max_depth=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per grant field")]
    fn delegate(
        slf: &Bound<'_, Self>,
        to: String,
        on_behalf_of: String,
        scopes: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        purpose: Option<String>,
        max_depth: Option<u32>,
    ) -> PyResult<PyCredential> {
        let req =
            DelegateRequest { to, on_behalf_of, scopes: scopes_of(scopes)?, ttl: seconds(ttl)?, purpose, max_depth };
        let this = slf.get();
        let cred = slf.py().detach(|| this.inner.delegate(&req)).py()?;
        Ok(this.credential(slf, cred))
    }

    /// A narrower credential from `parent` (a Credential or token) for sub-agent `to`.
    #[pyo3(signature = (parent, *, to, scopes, ttl=None, purpose=None, max_depth=None, key=None))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per grant field")]
    fn attenuate(
        slf: &Bound<'_, Self>,
        parent: &Bound<'_, PyAny>,
        to: String,
        scopes: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
        purpose: Option<String>,
        max_depth: Option<u32>,
        key: Option<String>,
    ) -> PyResult<PyCredential> {
        let args = AttenuateArgs::new(to, scopes, ttl, purpose, max_depth, key)?;
        let token = match presented(parent)? {
            Presented::Credential(c) => c.token().to_owned(),
            Presented::Token(t) => t,
        };
        slf.get().attenuate_token(slf.py(), slf.clone().unbind(), &token, args)
    }

    /// Verifies a token completely and returns the credential.
    fn verify(slf: &Bound<'_, Self>, token: &str) -> PyResult<PyCredential> {
        let this = slf.get();
        let cred = slf.py().detach(|| this.inner.verify(token)).py()?;
        Ok(this.credential(slf, cred))
    }

    /// Revokes a grant (a Credential's leaf grant, or a grant id) and everything attenuated
    /// from it. Returns the grant ids revoked now.
    fn revoke(&self, py: Python<'_>, cred_or_grant_id: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let id = match cred_or_grant_id.cast::<PyCredential>() {
            Ok(c) => c.get().inner.grant_id().to_owned(),
            Err(_) => cred_or_grant_id
                .extract::<String>()
                .map_err(|_| PyTypeError::new_err("expected a Credential or a grant id"))?,
        };
        py.detach(|| self.inner.revoke(&id)).py()
    }

    /// Replaces the policies in force (all or nothing) with Cedar text, or the `*.cedar` files
    /// of a path (a file or a folder). Returns the number of policies.
    fn load_policies(&self, py: Python<'_>, text_or_path: &Bound<'_, PyAny>) -> PyResult<usize> {
        if let Ok(s) = text_or_path.cast::<PyString>() {
            let s = s.to_str()?;
            return py.detach(|| self.inner.load_policy_source(s)).py();
        }
        let path: PathBuf = text_or_path
            .extract()
            .map_err(|_| PyTypeError::new_err("expected Cedar text or a path to .cedar files"))?;
        py.detach(|| self.inner.load_policy_files(&[path.as_path()])).py()
    }

    /// Registers (or replaces) a resource's data class and attributes.
    #[pyo3(signature = (id, *, data_class=None, attributes=None))]
    fn upsert_resource(
        &self,
        py: Python<'_>,
        id: &str,
        data_class: Option<&str>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let attributes = attributes.filter(|a| !a.is_none()).map(to_json).transpose()?;
        ser_to_py(py, &py.detach(|| self.inner.upsert_resource(id, data_class, attributes)).py()?)
    }

    /// Checks one call before it runs (credential, scope, policies, limits, approval) and
    /// records the decision. Never raises for a deny: read `decision.allowed`.
    #[pyo3(signature = (cred, action, resource=None, args=None, context=None, approval=None, proof=None))]
    #[allow(clippy::too_many_arguments, reason = "the check's inputs")]
    fn check(
        &self,
        py: Python<'_>,
        cred: &Bound<'_, PyAny>,
        action: &str,
        resource: Option<&str>,
        args: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        approval: Option<&Bound<'_, PyAny>>,
        proof: Option<&str>,
    ) -> PyResult<PyDecision> {
        let approval: Option<String> = match approval.filter(|a| !a.is_none()) {
            Some(a) => Some(match a.cast::<PyReceipt>() {
                Ok(r) => r.get().inner.token.clone(),
                Err(_) => {
                    a.extract::<String>().map_err(|_| PyTypeError::new_err("approval is a Receipt or its token"))?
                }
            }),
            None => None,
        };
        let args = opt_map(args)?;
        let inputs =
            CheckInputs { cred, action, resource, args: args.as_ref(), context, approval: approval.as_deref(), proof };
        Ok(PyDecision { inner: self.decide(py, inputs)? })
    }

    /// A guarded call's fast path: checks (as `check` without approval or proof) and, when
    /// allowed, calls `func(*a, **kw)` and records its outcome (ok, or the exception's type,
    /// and the duration). Returns `(True, result)`; `(False, decision)` when the check did not
    /// allow (nothing ran). The function's exceptions propagate unchanged; a failure to record
    /// is a `RuntimeWarning`, never a replacement of the result or the error.
    #[pyo3(signature = (cred, action, resource, args, context, func, a, kw=None))]
    #[allow(clippy::too_many_arguments, reason = "the check's inputs and the call")]
    fn _guard_run(
        &self,
        py: Python<'_>,
        cred: &Bound<'_, PyAny>,
        action: &str,
        resource: Option<&str>,
        args: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        func: &Bound<'_, PyAny>,
        a: &Bound<'_, PyTuple>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(bool, Py<PyAny>)> {
        let args = opt_map(args)?;
        let inputs = CheckInputs { cred, action, resource, args: args.as_ref(), context, approval: None, proof: None };
        let decision = self.decide(py, inputs)?;
        self.run_allowed(py, decision, func, a, kw)
    }

    /// `_guard_run` with the call bound by `plan` (the tool's signature, resource template and
    /// checked arguments): `None` when the call does not bind as Python would bind it (nothing
    /// is checked; the caller binds it in Python and gets Python's error).
    #[pyo3(signature = (plan, cred, context, a, kw=None))]
    fn _guard_call(
        &self,
        py: Python<'_>,
        plan: &Bound<'_, PyGuardPlan>,
        cred: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
        a: &Bound<'_, PyTuple>,
        kw: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Option<(bool, Py<PyAny>)>> {
        let plan = plan.get();
        let Some(bound) = plan.bind(py, a, kw)? else { return Ok(None) };
        let prepared = plan.prepare(py, &bound)?;
        drop(bound);
        let inputs = CheckInputs {
            cred,
            action: &plan.action,
            resource: prepared.resource.as_deref(),
            args: Some(&prepared.args),
            context,
            approval: None,
            proof: None,
        };
        let decision = self.decide(py, inputs)?;
        if !decision.allowed {
            return self.run_allowed(py, decision, plan.func.bind(py), a, kw).map(Some);
        }
        // The tool receives what was checked.
        let (a, kw) = plan.call_args(py, a, kw, prepared.copies())?;
        self.run_allowed(py, decision, plan.func.bind(py), &a, kw.as_ref()).map(Some)
    }

    /// The `action_hash` a check binds approvals and proofs to.
    #[pyo3(signature = (cred, action, resource=None, args=None))]
    fn action_hash(
        &self,
        cred: &Bound<'_, PyAny>,
        action: &str,
        resource: Option<&str>,
        args: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let args = opt_map(args)?;
        let req = CheckRequest { action, resource, args: args.as_ref(), ..Default::default() };
        match presented(cred)? {
            Presented::Credential(c) => self.inner.action_hash(c, &req),
            Presented::Token(t) => self.inner.action_hash(t.as_str(), &req),
        }
        .py()
    }

    /// Records what the action allowed by `decision_id` did.
    #[pyo3(signature = (decision_id, ok, error=None, result_digest=None, duration=None))]
    fn record_outcome(
        &self,
        py: Python<'_>,
        decision_id: &str,
        ok: bool,
        error: Option<String>,
        result_digest: Option<String>,
        duration: Option<f64>,
    ) -> PyResult<()> {
        let outcome = Outcome {
            ok,
            error,
            result_digest,
            duration: duration.filter(|d| d.is_finite() && *d >= 0.0).map(std::time::Duration::from_secs_f64),
        };
        py.detach(|| self.inner.record_outcome(decision_id, &outcome)).py()
    }

    /// A person (a `user:` principal) approves a pending request; returns the single-use
    /// receipt. `attributes` are what the organisation's `rid.approve` rules read.
    #[pyo3(signature = (request_id, approver, *, attributes=None))]
    fn approve(
        &self,
        py: Python<'_>,
        request_id: &str,
        approver: &str,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyReceipt> {
        let attributes = opt_map(attributes)?;
        let person = Approver { id: approver, attributes: attributes.as_ref() };
        Ok(PyReceipt { inner: py.detach(|| self.inner.approve(request_id, person)).py()? })
    }

    /// A person denies a pending request.
    #[pyo3(signature = (request_id, approver, *, attributes=None))]
    fn deny_approval(
        &self,
        py: Python<'_>,
        request_id: &str,
        approver: &str,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let attributes = opt_map(attributes)?;
        let person = Approver { id: approver, attributes: attributes.as_ref() };
        ser_to_py(py, &py.detach(|| self.inner.deny_approval(request_id, person)).py()?)
    }

    /// One approval request.
    fn get_approval(&self, py: Python<'_>, request_id: &str) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &self.inner.get_approval(request_id).py()?)
    }

    /// The audit log: `verify()`, `explain(decision_id)`, `events(...)`, `export_prov(...)`.
    #[getter]
    fn audit(&self) -> PyAudit {
        PyAudit::new(Arc::clone(&self.inner))
    }

    /// The authority's public keys as a JWKS dict.
    fn jwks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &self.inner.jwks().py()?)
    }

    /// The authority's keys with their history.
    fn authority_keys(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        ser_to_py(py, &self.inner.authority_keys().py()?)
    }

    /// Starts signing with a new authority key; the old one keeps verifying.
    #[pyo3(signature = (alg=None))]
    fn rotate_authority_key(&self, py: Python<'_>, alg: Option<&str>) -> PyResult<Py<PyAny>> {
        let alg = alg.map(Algorithm::parse).transpose().py()?;
        ser_to_py(py, &py.detach(|| self.inner.rotate_authority_key(alg)).py()?)
    }

    /// Starts signing with an authority key held elsewhere: a key file's content
    /// (`{"alg", "kid", "d"}`) as a str or a dict. The previous key is retired.
    fn import_authority_key(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let text = match key.cast::<PyString>() {
            Ok(s) => s.to_str()?.to_owned(),
            Err(_) => to_json(key)?.to_string(),
        };
        ser_to_py(py, &py.detach(|| self.inner.import_authority_key(&text)).py()?)
    }

    /// Flushes the audit log and writes its closing checkpoint.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.audit().close()).py()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Runtime(issuer={:?})", self.inner.issuer())
    }
}
