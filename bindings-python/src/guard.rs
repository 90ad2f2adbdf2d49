//! The guarded call's arguments, bound natively: a tool's signature, resource template and
//! checked-argument selection worked out once (`_GuardPlan`), with the rules of `guard.py`'s
//! `_Spec` for plain signatures (positional-or-keyword and keyword-only parameters). A call it
//! cannot bind exactly as Python would (too many arguments, an unknown or repeated keyword, a
//! missing argument) is left to `_Spec`, which raises Python's own error; nothing is checked
//! then.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use serde_json::{Map, Value};

use crate::convert::member_to_json;

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
    /// `args=[names]`: the parameters checked; `None`: every JSON-like one but receivers.
    selected: Option<Vec<usize>>,
    receivers: Vec<usize>,
    template: Option<Vec<Part>>,
    pub(crate) func: Py<PyAny>,
    format: Py<PyAny>,
}

/// A call's arguments by parameter, defaults applied.
pub(crate) struct BoundArgs<'py>(Vec<pyo3::Bound<'py, PyAny>>);

#[pymethods]
impl PyGuardPlan {
    /// `template`: literal text and parameter names alternating (`["customer/", "id", ""]`),
    /// or None for no resource; `args`: the names checked, or None for every JSON-like one.
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
        let selected = args.map(|names| names.iter().map(|n| index(n)).collect::<PyResult<Vec<_>>>()).transpose()?;
        let receivers = all.iter().enumerate().filter(|(_, n)| matches!(n.as_str(), "self" | "cls")).map(|(i, _)| i);
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
            selected,
            receivers: receivers.collect(),
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

    /// The resource the template names, filled like `format(value)` for each argument.
    pub(crate) fn resource(&self, py: Python<'_>, bound: &BoundArgs<'_>) -> PyResult<Option<String>> {
        let Some(parts) = &self.template else { return Ok(None) };
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Arg(i) => {
                    let Some(v) = bound.0.get(*i) else { continue };
                    if v.is_exact_instance_of::<PyString>() {
                        out.push_str(v.cast::<PyString>()?.to_str()?);
                    } else {
                        out.push_str(self.format.bind(py).call1((v,))?.cast::<PyString>()?.to_str()?);
                    }
                }
            }
        }
        Ok(Some(out))
    }

    /// The arguments checked against the scope's constraints, as JSON.
    pub(crate) fn args(&self, bound: &BoundArgs<'_>) -> PyResult<Map<String, Value>> {
        let mut out = Map::new();
        let mut put = |i: usize| -> PyResult<()> {
            if let (Some(name), Some(v)) = (self.names.get(i), bound.0.get(i)) {
                out.insert(name.clone(), member_to_json(v)?);
            }
            Ok(())
        };
        match &self.selected {
            Some(names) => names.iter().try_for_each(|&i| put(i))?,
            None => {
                for (i, v) in bound.0.iter().enumerate() {
                    if json_like(v) && !self.receivers.contains(&i) {
                        put(i)?;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// `isinstance(v, (str, int, float, bool, None, list, tuple, dict))`: what the guard checks
/// when it is not told which arguments to check.
fn json_like(v: &pyo3::Bound<'_, PyAny>) -> bool {
    v.is_none()
        || v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyInt>()
        || v.is_instance_of::<PyFloat>()
        || v.is_instance_of::<PyBool>()
        || v.is_instance_of::<PyList>()
        || v.is_instance_of::<PyTuple>()
        || v.is_instance_of::<PyDict>()
}
