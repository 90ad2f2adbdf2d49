//! The call a check is asked about ([`Call`]): its action and resource validated, its
//! arguments and context bounded before anything reads them (Cedar, the audit digest, the
//! action hash), the context parsed, and the resource's registered attributes merged with
//! those passed — the part of a check between the credential and the scope step.

use std::borrow::Cow;

use serde::Deserialize as _;
use serde_json::{Map, Value};

use crate::check::request::{
    valid_action, valid_resource, valid_txn, Bounds, CallContext, ResourceContext, MAX_ARGS_BYTES, MAX_CONTEXT_BYTES,
    MAX_TXN_BYTES,
};
use crate::check::{CheckRequest, ReasonCode};
use crate::scope::{permits_any, DenialKind, ScopeRequest};
use crate::store::ResourceRecord;
use crate::token::VerifiedLink;

use super::refusal::Refusal;
use super::state::Loaded;

/// The call being checked, validated and bounded: its action and resource, arguments, parsed
/// context, the resource's registered record, and the receipt or proof it carries.
pub(super) struct Call<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    args: Option<&'a Map<String, Value>>,
    /// What `args` reads as when the call has none.
    empty: Map<String, Value>,
    pub ctx: CallContext,
    registered: Option<&'a ResourceRecord>,
    /// The runtime option `allow_resource_override`.
    overrides: bool,
    pub proof: Option<&'a str>,
    pub approval: Option<&'a str>,
    /// The time of the check (Unix seconds).
    pub now: i64,
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(ReasonCode::RequestInvalid, message)
}

impl<'a> Call<'a> {
    /// Validates the request, bounds its arguments and context before anything else reads
    /// them (Cedar, the audit digest, the hash), and refuses attributes passed for a
    /// registered resource that differ from the registered ones. `txn` is set as soon as the
    /// context is read (the decision records it even if a later check refuses).
    pub(crate) fn read(
        req: &CheckRequest<'a>,
        loaded: &'a Loaded,
        overrides: bool,
        now: i64,
        txn: &mut Option<String>,
    ) -> Result<Self, Refusal> {
        // The message names only the length of an invalid name (see `Draft::new` in `check.rs`).
        if !valid_action(req.action) {
            let n = req.action.len();
            return Err(invalid(format!("action ({n} bytes, recorded as its digest) is not a dotted name")));
        }
        let resource = req.resource.unwrap_or("*");
        if !valid_resource(resource) {
            let n = resource.len();
            return Err(invalid(format!("resource ({n} bytes, recorded as its digest) is not a valid resource id")));
        }
        let mut call = Self {
            action: req.action,
            resource,
            args: req.args,
            empty: Map::new(),
            ctx: CallContext::default(),
            registered: loaded.resources.get(resource).map(|r| &**r),
            overrides,
            proof: req.proof,
            approval: req.approval,
            now,
        };
        if json_len(call.args()) > MAX_ARGS_BYTES {
            return Err(invalid(format!("arguments are over {MAX_ARGS_BYTES} bytes")));
        }
        let mut bounds = Bounds::default();
        bounds.object("argument", call.args().iter(), true).map_err(invalid)?;
        call.ctx = context(req.context, &mut bounds)?;
        txn.clone_from(&call.ctx.txn);
        if let (Some(reg), Some(pass), false) = (call.registered, call.passed(), overrides) {
            if let Some(why) = overridden(resource, reg, pass) {
                return Err(invalid(why));
            }
        }
        Ok(call)
    }

    /// Step 3: the leaf grant's scopes permit the call; the index of the first that does.
    pub(crate) fn scope(&self, leaf: &VerifiedLink) -> Result<usize, Refusal> {
        permits_any(&leaf.scopes[..], &self.scope_request())
            .map_err(|denial| Refusal::new(denial_reason(&denial.kind), denial.message))
    }

    pub(crate) fn scope_request(&self) -> ScopeRequest<'_> {
        ScopeRequest { action: self.action, resource: self.resource, data_class: self.data_class(), args: self.args() }
    }

    pub(crate) fn args(&self) -> &Map<String, Value> {
        self.args.unwrap_or(&self.empty)
    }

    /// The resource attributes passed with the call.
    pub(crate) fn passed(&self) -> Option<&ResourceContext> {
        self.ctx.resource.as_ref()
    }

    /// Registered attributes win unless overriding is on; a passed value fills only what is
    /// unregistered (equal values were accepted by [`Call::read`]).
    pub(crate) fn data_class(&self) -> Option<&str> {
        let registered = self.registered.and_then(|r| r.data_class.as_deref());
        let passed = self.passed().and_then(|r| r.data_class.as_deref());
        if self.overrides {
            passed.or(registered)
        } else {
            registered.or(passed)
        }
    }

    /// The registered attributes with the passed ones over them.
    pub(crate) fn resource_attributes(&self) -> Cow<'_, Map<String, Value>> {
        match (self.registered.map(|r| &r.attributes), self.passed().and_then(|r| r.attributes.as_ref())) {
            (Some(base), Some(extra)) => {
                // Without overriding, every passed key is unregistered or equal (checked above).
                let mut m = base.clone();
                m.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                Cow::Owned(m)
            }
            (Some(base), None) => Cow::Borrowed(base),
            (None, Some(extra)) => Cow::Borrowed(extra),
            (None, None) => Cow::Borrowed(&self.empty),
        }
    }
}

/// The call context, bounded (with the arguments, by `bounds`) and parsed.
fn context(value: Option<&Value>, bounds: &mut Bounds) -> Result<CallContext, Refusal> {
    let ctx: CallContext = match value {
        None | Some(Value::Null) => CallContext::default(),
        Some(v @ Value::Object(m)) => {
            if json_len(m) > MAX_CONTEXT_BYTES {
                return Err(invalid(format!("context is over {MAX_CONTEXT_BYTES} bytes")));
            }
            bounds.object("context member", m.iter(), false).map_err(invalid)?;
            CallContext::deserialize(v).map_err(|e| invalid(format!("context is not valid: {e}")))?
        }
        Some(_) => return Err(invalid("context must be a JSON object")),
    };
    if ctx.txn.as_deref().is_some_and(|txn| !valid_txn(txn)) {
        return Err(invalid(format!("`txn` must be 1 to {MAX_TXN_BYTES} bytes of printable ascii")));
    }
    Ok(ctx)
}

fn denial_reason(kind: &DenialKind) -> ReasonCode {
    match kind {
        DenialKind::ActionNotGranted => ReasonCode::ActionNotGranted,
        DenialKind::ResourceNotGranted => ReasonCode::ResourceNotGranted,
        DenialKind::DataClassNotGranted => ReasonCode::DataClassNotGranted,
        DenialKind::ArgumentMissing { .. } => ReasonCode::ArgumentMissing,
        DenialKind::ConstraintViolated { .. } => ReasonCode::ConstraintViolated,
    }
}

/// Why the attributes passed with a call may not be used for a registered resource: a data
/// class or attribute that differs from the registered one. A per-call value may only fill
/// what is unregistered, so a caller cannot relabel a `pci` resource `public` to pass a
/// grant's `data_classes` or an organisation's `forbid`.
fn overridden(resource: &str, registered: &ResourceRecord, passed: &ResourceContext) -> Option<String> {
    let hint = "registered attributes cannot be overridden by a call (runtime option `allow_resource_override`)";
    if let (Some(reg), Some(pass)) = (registered.data_class.as_deref(), passed.data_class.as_deref()) {
        if reg != pass {
            return Some(format!(
                "the call passes data class `{}` for resource `{resource}`, registered as `{reg}`: {hint}",
                crate::principal::preview(pass)
            ));
        }
    }
    let extra = passed.attributes.as_ref()?;
    extra.iter().find(|(k, v)| registered.attributes.get(*k).is_some_and(|r| r != *v)).map(|(k, _)| {
        format!(
            "the call passes attribute `{}` of resource `{resource}` with another value than registered: {hint}",
            crate::principal::preview(k)
        )
    })
}

/// The length of `args` as compact JSON, counted without building the text.
pub(super) fn json_len(args: &serde_json::Map<String, serde_json::Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    match serde_json::to_writer(&mut n, args) {
        Ok(()) => n.0,
        Err(_) => usize::MAX,
    }
}
