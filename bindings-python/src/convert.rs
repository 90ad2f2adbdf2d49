//! Conversions between Python values and the core's JSON values and errors. No rule lives
//! here: sizes and shapes are checked by the core once converted.
//!
//! A value a check holds is converted once, by [`snapshot`], which also says what a guarded
//! tool must receive in its place: the built-in JSON types exactly (`type(x) is int`, …) are
//! read as they are and passed as they are (`list` and `dict` are copied, since another thread
//! could change them while the check runs without the GIL); a subclass of `int`, `float`, `str`,
//! `list`, `tuple` or `dict` is read by the value it stores (never through a method it
//! overrides) and the tool receives a plain copy of that value; `Decimal`, `Enum`, `UUID`,
//! `datetime` and `date` are converted by `runtime_identity._values` and passed as they are;
//! anything else is refused with `invalid_argument`, naming where it sits. Nothing is left out.

use std::fmt::Write as _;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use runtime_identity::{Error, ErrorCode};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused before the core sees it (a Python object graph may be
/// cyclic; JSON cannot be).
const MAX_DEPTH: usize = 64;

/// A value converted for a check: its JSON, and the plain copy a guarded tool receives instead
/// of the original object (`None`: the original is exactly what was checked).
#[derive(Debug)]
pub struct Snapshot<'py> {
    /// What the check holds.
    pub json: Value,
    /// What the tool receives instead of the original, if anything.
    pub copy: Option<Bound<'py, PyAny>>,
}

/// One step into a value, for messages.
enum Step {
    Key(String),
    Index(usize),
}

/// Why a value cannot be converted, and where it sits (innermost step first).
struct Refusal {
    code: ErrorCode,
    reason: String,
    path: Vec<Step>,
}

/// A refused value, or a Python error raised while reading one.
enum Fail {
    Refused(Refusal),
    Py(PyErr),
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Self {
        Fail::Py(e)
    }
}

fn refuse(code: ErrorCode, reason: impl Into<String>) -> Fail {
    Fail::Refused(Refusal { code, reason: reason.into(), path: Vec::new() })
}

/// The same failure, one step further out.
fn within(step: Step) -> impl FnOnce(Fail) -> Fail {
    move |f| match f {
        Fail::Refused(mut r) => {
            r.path.push(step);
            Fail::Refused(r)
        }
        other => other,
    }
}

impl Fail {
    /// The Python exception: `InvalidArgument` naming `kind` `root.path` (or the error raised).
    fn into_py(self, kind: &str, root: Option<&str>) -> PyErr {
        match self {
            Fail::Py(e) => e,
            Fail::Refused(r) => {
                let mut at = String::new();
                if let Some(root) = root {
                    at.push_str(root);
                }
                for step in r.path.iter().rev() {
                    match step {
                        Step::Key(k) if at.is_empty() => at.push_str(k),
                        Step::Key(k) => {
                            at.push('.');
                            at.push_str(k);
                        }
                        Step::Index(i) => {
                            let _ = write!(at, "[{i}]");
                        }
                    }
                }
                let message =
                    if at.is_empty() { format!("{kind} {}", r.reason) } else { format!("{kind} `{at}` {}", r.reason) };
                err(Error::new(r.code, message))
            }
        }
    }
}

/// `runtime_identity._values._convert`: the conversions of `Decimal`, `Enum`, `UUID`,
/// `datetime` and `date` (Python code, called only for values of other types than the exact
/// built-in ones).
static EXTENDED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn extended<'py>(obj: &Bound<'py, PyAny>) -> Result<Option<Bound<'py, PyAny>>, Fail> {
    let py = obj.py();
    let f = EXTENDED.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("runtime_identity._values")?.getattr("_convert")?.unbind())
    })?;
    let out = f.bind(py).call1((obj,))?;
    if out.is_none() {
        return Ok(None);
    }
    if let Ok(reason) = out.cast::<PyString>() {
        return Err(refuse(ErrorCode::InvalidArgument, reason.to_str()?.to_owned()));
    }
    let value = out.cast::<PyTuple>().map_err(PyErr::from)?.get_item(0)?;
    Ok(Some(value))
}

fn string<'a>(s: &'a Bound<'_, PyString>) -> Result<&'a str, Fail> {
    // A lone surrogate has no UTF-8 form: the check could only hold another string.
    s.to_str()
        .map_err(|_| refuse(ErrorCode::InvalidArgument, "is a `str` with a lone surrogate, which a check cannot hold"))
}

fn int(obj: &Bound<'_, PyAny>) -> Result<Number, Fail> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(i.into());
    }
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(u.into());
    }
    Err(refuse(ErrorCode::InvalidArgument, "is an integer out of the 64-bit range"))
}

fn float(f: f64) -> Result<Number, Fail> {
    Number::from_f64(f).ok_or_else(|| refuse(ErrorCode::InvalidArgument, format!("is `{f}`, not a finite number")))
}

/// The conversion. `copy`: build the copies a tool receives (a guarded call); without it (a
/// raw check) `Snapshot::copy` is always `None`.
fn convert<'py>(obj: &Bound<'py, PyAny>, depth: usize, copy: bool) -> Result<Snapshot<'py>, Fail> {
    let plain = |json| Ok(Snapshot { json, copy: None });
    if depth > MAX_DEPTH {
        return Err(refuse(ErrorCode::InputTooLarge, format!("is nested deeper than {MAX_DEPTH} levels")));
    }
    // The built-in types exactly: read and passed as they are.
    if obj.is_none() {
        return plain(Value::Null);
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return plain(Value::String(string(s)?.to_owned()));
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return plain(Value::Bool(obj.is_truthy()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return plain(Value::Number(int(obj)?));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return plain(Value::Number(float(obj.extract()?)?));
    }
    if let Ok(d) = obj.cast_exact::<PyDict>() {
        // A copy of its own to read (no one can change it meanwhile), which the tool gets.
        return dict(d.copy()?, depth, copy);
    }
    if let Ok(l) = obj.cast_exact::<PyList>() {
        return list(obj.py(), l.iter(), depth, copy);
    }
    if let Ok(t) = obj.cast_exact::<PyTuple>() {
        return tuple(t, depth, copy, false);
    }
    // Decimal, Enum, UUID, datetime, date: converted by `_values`, passed as they are.
    if let Some(value) = extended(obj)? {
        let inner = convert(&value, depth, true)?;
        if inner.copy.is_some() {
            return Err(refuse(
                ErrorCode::InvalidArgument,
                "is an Enum whose value is mutable, which a check cannot hold",
            ));
        }
        return plain(inner.json);
    }
    // Subclasses of the built-in types: the value they store, and a plain copy of it.
    let py = obj.py();
    let copied = |json, c: Bound<'py, PyAny>| Ok(Snapshot { json, copy: copy.then_some(c) });
    if let Ok(s) = obj.cast::<PyString>() {
        let s = string(s)?;
        return copied(Value::String(s.to_owned()), PyString::new(py, s).into_any());
    }
    if obj.is_instance_of::<PyInt>() {
        let n = int(obj)?;
        let c = match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => PyInt::new(py, i).into_any(),
            (None, Some(u)) => PyInt::new(py, u).into_any(),
            _ => return Err(refuse(ErrorCode::InvalidArgument, "is an integer out of the 64-bit range")),
        };
        return copied(Value::Number(n), c);
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return copied(Value::Number(float(f)?), PyFloat::new(py, f).into_any());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        // `items()` reads the stored entries (a subclass's `keys`/`__getitem__` are not called).
        let own = PyDict::new(py);
        for item in d.items().iter() {
            let (k, v) = item.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
            own.set_item(k, v)?;
        }
        return dict(own, depth, copy);
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return list(py, l.iter(), depth, copy);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return tuple(t, depth, copy, true);
    }
    Err(refuse(
        ErrorCode::InvalidArgument,
        format!(
            "is a `{}`, which a check cannot hold (it takes None, bool, int, float, str, list, tuple, dict, \
             Decimal, Enum, UUID, datetime and date; a guarded tool can leave an argument out with `args=`)",
            obj.get_type().name()?
        ),
    ))
}

/// A dict the caller owns (a copy): its entries converted, and the tool's dict (this one, with
/// the values replaced that need a copy).
fn dict<'py>(d: Bound<'py, PyDict>, depth: usize, copy: bool) -> Result<Snapshot<'py>, Fail> {
    let mut m = Map::new();
    let mut replace = Vec::new();
    let mut rekeyed = false;
    for (k, v) in d.iter() {
        let Ok(key) = k.cast::<PyString>() else {
            return Err(refuse(
                ErrorCode::InvalidArgument,
                format!("has a key of type `{}`: the keys of a dict must be str", k.get_type().name()?),
            ));
        };
        let name = string(key)?.to_owned();
        rekeyed |= !key.is_exact_instance_of::<PyString>();
        let s = convert(&v, depth + 1, copy).map_err(within(Step::Key(name.clone())))?;
        if let Some(c) = s.copy {
            replace.push((k.clone(), c));
        }
        m.insert(name, s.json);
    }
    if !copy {
        return Ok(Snapshot { json: Value::Object(m), copy: None });
    }
    let out = if rekeyed {
        // A str subclass as a key: a new dict with plain keys, in the same order.
        let fresh = PyDict::new(d.py());
        let mut replace = replace.into_iter().peekable();
        for (k, v) in d.iter() {
            let v = match replace.peek() {
                Some((rk, _)) if rk.is(&k) => replace.next().map_or(v, |(_, c)| c),
                _ => v,
            };
            let key = k.cast::<PyString>().map_err(PyErr::from)?;
            fresh.set_item(PyString::new(d.py(), string(key)?), v)?;
        }
        fresh
    } else {
        for (k, c) in replace {
            d.set_item(k, c)?;
        }
        d
    };
    Ok(Snapshot { json: Value::Object(m), copy: Some(out.into_any()) })
}

/// A list's items (read by index, never through `__iter__`/`__getitem__`), and the tool's new
/// list when `copy`.
fn list<'py>(
    py: Python<'py>,
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    depth: usize,
    copy: bool,
) -> Result<Snapshot<'py>, Fail> {
    let mut json = Vec::new();
    let mut out = Vec::new();
    for (i, v) in items.enumerate() {
        let s = convert(&v, depth + 1, copy).map_err(within(Step::Index(i)))?;
        json.push(s.json);
        if copy {
            out.push(s.copy.unwrap_or(v));
        }
    }
    let json = Value::Array(json);
    if !copy {
        return Ok(Snapshot { json, copy: None });
    }
    Ok(Snapshot { json, copy: Some(PyList::new(py, out)?.into_any()) })
}

/// A tuple: passed as it is when exact and no item needs a copy, else a plain tuple of copies.
fn tuple<'py>(t: &Bound<'py, PyTuple>, depth: usize, copy: bool, subclass: bool) -> Result<Snapshot<'py>, Fail> {
    let mut json = Vec::with_capacity(t.len());
    let mut out: Option<Vec<Bound<'py, PyAny>>> = (copy && subclass).then(|| Vec::with_capacity(t.len()));
    for (i, v) in t.iter().enumerate() {
        let s = convert(&v, depth + 1, copy).map_err(within(Step::Index(i)))?;
        json.push(s.json);
        match (&mut out, s.copy) {
            (Some(out), c) => out.push(c.unwrap_or(v)),
            (None, Some(c)) => {
                // The first item that needs a copy: the items before it are kept as they are.
                let mut items: Vec<Bound<'py, PyAny>> = t.iter().take(i).collect();
                items.push(c);
                out = Some(items);
            }
            (None, None) => {}
        }
    }
    let copy = out.map(|items| PyTuple::new(t.py(), items).map(Bound::into_any)).transpose()?;
    Ok(Snapshot { json: Value::Array(json), copy })
}

/// A Python value as JSON: None, bool, int, float, str, list/tuple, dict with str keys, and
/// `Decimal`, `Enum`, `UUID`, `datetime`, `date` (see the module's comment).
pub fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    convert(obj, 0, false).map(|s| s.json).map_err(|f| f.into_py("value", None))
}

/// An argument of a check named `name`: its JSON and what a guarded tool receives.
pub fn snapshot<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Snapshot<'py>> {
    convert(obj, 1, true).map_err(|f| f.into_py("argument", Some(name)))
}

/// [`snapshot`] of a value a check does not hold (a field only a resource template names):
/// `None` when it cannot be converted, and is used as it is.
pub fn snapshot_if_convertible<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Snapshot<'py>>> {
    match convert(obj, 1, true) {
        Ok(s) => Ok(Some(s)),
        Err(Fail::Refused(_)) => Ok(None),
        Err(Fail::Py(e)) => Err(e),
    }
}

/// A dict of arguments (str keys) as a JSON object.
pub fn args_to_map(d: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    match convert(d.as_any(), 0, false) {
        Ok(Snapshot { json: Value::Object(m), .. }) => Ok(m),
        Ok(_) => Err(PyTypeError::new_err("expected a dict")),
        Err(f) => Err(f.into_py("argument", None)),
    }
}

/// An optional dict argument as a JSON object.
pub fn opt_map(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Map<String, Value>>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => match o.cast::<PyDict>() {
            Ok(d) => args_to_map(d).map(Some),
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
