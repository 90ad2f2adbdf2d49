//! The guarded call's arguments, bound natively: a tool's signature, resource template and
//! checked-argument selection worked out once (`_GuardPlan`), with the rules of `guard.py`'s
//! `_Spec` for plain signatures (positional-or-keyword and keyword-only parameters). A call it
//! cannot bind exactly as Python would (too many arguments, an unknown or repeated keyword, a
//! missing argument) is left to `_Spec`, which raises Python's own error; nothing is checked
//! then.
//!
//! The arguments checked and the ones the resource template names are converted once
//! ([`snapshot`]): the check holds that conversion, the template is filled from it, and the
//! tool is called with it — the original objects where they are exactly what was checked
//! (`type(x) is int`, …), plain copies where they are not (subclasses, lists, dicts).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use serde_json::{Map, Value};

use crate::convert::{snapshot, snapshot_if_convertible};

/// One piece of a resource template: literal text or the value of an argument (by index).
#[derive(Debug)]
enum Part {
    Text(String),
    Arg(usize),
}

/// How one guarded tool's calls are bound. Built by `guard.py` for plain signatures only.
#[derive(Debug)]
#[pyclass(frozen, module = "runtime_identity._native", name = "_GuardPlan")]
pub struct PyGuardPlan {
    pub(crate) action: String,
    /// Every parameter: the positional-or-keyword ones first, in order, then keyword-only.
    names: Vec<String>,
    positional: usize,
    defaults: Vec<(usize, Py<PyAny>)>,
    /// The parameters checked: `args=[names]`, else every one but receivers (`self`, `cls`).
    checked: Vec<usize>,
    template: Option<Vec<Part>>,
    pub(crate) func: Py<PyAny>,
    format: Py<PyAny>,
}

/// A call's arguments by parameter, defaults applied.
pub(crate) struct BoundArgs<'py>(Vec<pyo3::Bound<'py, PyAny>>);

/// What one call checks, converted once: the resource, the arguments, and for each parameter
/// the copy the tool receives instead of the value given (`None`: the value itself).
pub(crate) struct Prepared<'py> {
    pub(crate) resource: Option<String>,
    pub(crate) args: Map<String, Value>,
    copies: Vec<Option<pyo3::Bound<'py, PyAny>>>,
}

impl<'py> Prepared<'py> {
    /// For each parameter, the copy the tool receives (`None`: the value given).
    pub(crate) fn copies(&self) -> &[Option<pyo3::Bound<'py, PyAny>>] {
        &self.copies
    }
}

#[pymethods]
impl PyGuardPlan {
    /// `template`: literal text and parameter names alternating (`["customer/", "id", ""]`),
    /// or None for no resource; `args`: the names checked, or None for every one but
    /// receivers.
    #[new]
    #[pyo3(signature = (action, func, positional, keyword_only, defaults, args, template))]
    #[allow(clippy::too_many_arguments, reason = "the parts of a signature")]
    fn new(
        py: Python<'_>,
        action: String,
        func: Py<PyAny>,
        positional: Vec<String>,
        keyword_only: Vec<String>,
        defaults: &pyo3::Bound<'_, PyDict>,
        args: Option<Vec<String>>,
        template: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let all: Vec<String> = positional.iter().chain(&keyword_only).cloned().collect();
        let index = |name: &str| {
            all.iter().position(|n| n == name).ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!("`{name}` is not a parameter of the guarded function"))
            })
        };
        let mut defaults_at = Vec::with_capacity(defaults.len());
        for (k, v) in defaults.iter() {
            defaults_at.push((index(k.cast::<PyString>()?.to_str()?)?, v.unbind()));
        }
        let checked = match args {
            Some(names) => names.iter().map(|n| index(n)).collect::<PyResult<Vec<_>>>()?,
            None => {
                (0..all.len()).filter(|&i| !matches!(all.get(i).map(String::as_str), Some("self" | "cls"))).collect()
            }
        };
        let template = template
            .map(|parts| {
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| if i % 2 == 1 { index(p).map(Part::Arg) } else { Ok(Part::Text(p.clone())) })
                    .collect::<PyResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(Self {
            action,
            positional: positional.len(),
            defaults: defaults_at,
            checked,
            template,
            func,
            format: py.import("builtins")?.getattr("format")?.unbind(),
            names: all,
        })
    }

    /// The Python objects it holds, for the cycle collector (a guarded method's function
    /// reaches its class, whose dict holds the wrapper that holds this plan).
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.func)?;
        visit.call(&self.format)?;
        for (_, d) in &self.defaults {
            visit.call(d)?;
        }
        Ok(())
    }
}

impl PyGuardPlan {
    /// The call's arguments by parameter, or None when Python would refuse the call.
    pub(crate) fn bind<'py>(
        &self,
        py: Python<'py>,
        a: &pyo3::Bound<'py, PyTuple>,
        kw: Option<&pyo3::Bound<'py, PyDict>>,
    ) -> PyResult<Option<BoundArgs<'py>>> {
        if a.len() > self.positional {
            return Ok(None);
        }
        let mut slots: Vec<Option<pyo3::Bound<'py, PyAny>>> = vec![None; self.names.len()];
        for (slot, v) in slots.iter_mut().zip(a.iter()) {
            *slot = Some(v);
        }
        if let Some(kw) = kw {
            for (k, v) in kw.iter() {
                // Not a str, or not encodable (a lone surrogate): Python's binder says why.
                let Some(k) = k.cast::<PyString>().ok().and_then(|k| k.to_str().ok().map(str::to_owned)) else {
                    return Ok(None);
                };
                let k = k.as_str();
                let Some(i) = self.names.iter().position(|n| n == k) else {
                    return Ok(None);
                };
                match slots.get_mut(i) {
                    Some(slot @ None) => *slot = Some(v),
                    _ => return Ok(None),
                }
            }
        }
        for (i, d) in &self.defaults {
            if let Some(slot @ None) = slots.get_mut(*i) {
                *slot = Some(d.bind(py).clone());
            }
        }
        Ok(slots.into_iter().collect::<Option<Vec<_>>>().map(BoundArgs))
    }

    /// The call converted once: the arguments checked, the resource filled from the same
    /// values, and the copies the tool receives. An argument checked that cannot be converted
    /// is an `InvalidArgument` naming it; one only the template names is used as it is then
    /// (`{c}` of an object the template formats).
    pub(crate) fn prepare<'py>(&self, py: Python<'py>, bound: &BoundArgs<'py>) -> PyResult<Prepared<'py>> {
        let mut copies: Vec<Option<pyo3::Bound<'py, PyAny>>> = vec![None; bound.0.len()];
        let mut args = Map::new();
        for &i in &self.checked {
            if let (Some(name), Some(v), Some(slot)) = (self.names.get(i), bound.0.get(i), copies.get_mut(i)) {
                let s = snapshot(v, name)?;
                *slot = s.copy;
                args.insert(name.clone(), s.json);
            }
        }
        let Some(parts) = &self.template else { return Ok(Prepared { resource: None, args, copies }) };
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Arg(i) => {
                    let Some(given) = bound.0.get(*i) else { continue };
                    if !self.checked.contains(i) {
                        if let (Some(s), Some(slot)) = (snapshot_if_convertible(given)?, copies.get_mut(*i)) {
                            *slot = s.copy;
                        }
                    }
                    let v = copies.get(*i).and_then(Option::as_ref).unwrap_or(given);
                    if let Ok(s) = v.cast_exact::<PyString>() {
                        out.push_str(s.to_str()?);
                    } else {
                        out.push_str(self.format.bind(py).call1((v,))?.cast::<PyString>()?.to_str()?);
                    }
                }
            }
        }
        Ok(Prepared { resource: Some(out), args, copies })
    }

    /// The call's `(args, kwargs)` with the copies in place of the values given: the same
    /// objects when there is no copy (the common case), else a new tuple and dict (a default
    /// that was copied is passed by keyword).
    pub(crate) fn call_args<'py>(
        &self,
        py: Python<'py>,
        a: &pyo3::Bound<'py, PyTuple>,
        kw: Option<&pyo3::Bound<'py, PyDict>>,
        copies: &[Option<pyo3::Bound<'py, PyAny>>],
    ) -> PyResult<(pyo3::Bound<'py, PyTuple>, Option<pyo3::Bound<'py, PyDict>>)> {
        if copies.iter().all(Option::is_none) {
            return Ok((a.clone(), kw.cloned()));
        }
        let given = a.len();
        let positional = a.iter().enumerate().map(|(i, v)| copies.get(i).and_then(Option::clone).unwrap_or(v));
        let new_a = PyTuple::new(py, positional.collect::<Vec<_>>())?;
        let new_kw = PyDict::new(py);
        if let Some(kw) = kw {
            for (k, v) in kw.iter() {
                let i = k
                    .cast::<PyString>()
                    .ok()
                    .and_then(|k| k.to_str().ok())
                    .and_then(|k| self.names.iter().position(|n| n == k));
                new_kw.set_item(k, i.and_then(|i| copies.get(i).and_then(Option::clone)).unwrap_or(v))?;
            }
        }
        for (i, c) in copies.iter().enumerate().skip(given) {
            if let (Some(c), Some(name)) = (c, self.names.get(i)) {
                if !new_kw.contains(name)? {
                    new_kw.set_item(name, c)?;
                }
            }
        }
        Ok((new_a, Some(new_kw)))
    }
}
