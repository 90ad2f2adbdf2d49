//! Conversions between Python values and the core's JSON values and errors. No rule lives
//! here: sizes and shapes are checked by the core once converted.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use runtime_identity::Error;
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused before the core sees it (a Python object graph may be
/// cyclic; JSON cannot be).
const MAX_DEPTH: usize = 64;

/// A Python value as JSON: None, bool, int, float, str, list/tuple, dict with str keys.
pub fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_at(obj, 0)
}

fn to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyTypeError::new_err(format!("value nested deeper than {MAX_DEPTH} levels")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>()?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        let f: f64 = obj.extract()?;
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| PyTypeError::new_err("integer out of range"));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{f} is not a JSON number (NaN and infinities are refused)")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Ok(Value::Object(dict_to_map_at(d, depth)?));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| to_json_at(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| to_json_at(&v, depth + 1)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    Err(PyTypeError::new_err(format!(
        "a value of type `{}` cannot be passed as JSON (use None, bool, int, float, str, list, tuple or dict)",
        obj.get_type().name()?
    )))
}

/// A value as JSON as a member of an object (one level of nesting already used).
pub fn member_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_at(obj, 1)
}

/// A dict with str keys as a JSON object.
pub fn dict_to_map(d: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    dict_to_map_at(d, 0)
}

fn dict_to_map_at(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<Map<String, Value>> {
    let mut m = Map::new();
    for (k, v) in d.iter() {
        let key = k.cast::<PyString>().map_err(|_| PyTypeError::new_err("dict keys must be str"))?.to_str()?.to_owned();
        m.insert(key, to_json_at(&v, depth + 1)?);
    }
    Ok(m)
}

/// An optional dict argument as a JSON object.
pub fn opt_map(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Map<String, Value>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyDict>() {
            Ok(d) => dict_to_map(d).map(Some),
            Err(_) => Err(PyTypeError::new_err("expected a dict")),
        },
    }
}

/// A JSON value as Python objects.
pub fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
        },
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any().unbind()
        }
    })
}

/// Any serialisable core value as Python objects.
pub fn ser_to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let v = serde_json::to_value(value).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    to_py(py, &v)
}

/// The core's error as the Python exception of its code (`runtime_identity.exceptions`).
pub fn err(e: Error) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("runtime_identity.exceptions")
            .and_then(|m| m.getattr("_from_core"))
            .and_then(|f| f.call1((e.code().as_str(), e.message())));
        match made {
            Ok(exc) => PyErr::from_value(exc),
            Err(import_failed) => import_failed,
        }
    })
}

/// `Result<T, Error>` → `PyResult<T>`.
pub trait IntoPy<T> {
    /// Converts the error.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for runtime_identity::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(err)
    }
}
