//! `Audit`: a runtime's audit log seen from JavaScript (verify, explain, events, PROV export).

use std::sync::Arc;

use napi_derive::napi;
use runtime_identity::Runtime as CoreRuntime;
use serde_json::Value;

use crate::convert::{json, json_camel, IntoJs, Result};
use crate::inputs::{filter, EventQuery};

/// The audit log of a runtime.
#[napi]
#[derive(Debug)]
pub struct Audit {
    pub(crate) inner: Arc<CoreRuntime>,
}

#[napi]
impl Audit {
    /// Recomputes the chain, checks every checkpoint signature and the store's checkpoint.
    #[napi(
        ts_return_type = "{ ok: boolean; events: number; checkpoints: number; lastSeq: number; head: string; storedCheckpoint?: number; firstBadSeq?: number; kind?: string; message?: string }"
    )]
    pub fn verify(&self) -> Result<Value> {
        json_camel(&self.inner.audit().verify().js()?)
    }

    /// The provenance of one decision (with `text`, a readable trail).
    #[napi(ts_return_type = "Record<string, any> & { text: string }")]
    pub fn explain(&self, decision_id: String) -> Result<Value> {
        let p = self.inner.audit().explain(&decision_id).js()?;
        let mut v = json(&p)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("text".into(), Value::String(p.to_string()));
        }
        Ok(v)
    }

    /// Events passing every filter given.
    #[napi(ts_return_type = "Array<Record<string, any>>")]
    pub fn events(&self, query: Option<EventQuery>) -> Result<Value> {
        json(&self.inner.audit().events(&filter(query)?).js()?)
    }

    /// The calls passing the filters as a W3C PROV-JSON document.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn export_prov(&self, query: Option<EventQuery>) -> Result<Value> {
        self.inner.audit().export_prov(&filter(query)?).js()
    }

    /// Writes everything queued now.
    #[napi]
    pub fn flush(&self) -> Result<()> {
        self.inner.audit().flush().js()
    }
}
