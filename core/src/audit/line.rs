//! An event's line: the event as JSON with `hash` = SHA-256 (hex) of the RFC 8785 canonical
//! form of the event without `hash`; `prev` is the previous line's `hash` ([`GENESIS`] for the
//! first). Written field by field ([`Prepared`]) and checked from the parsed line
//! ([`line_hash`]).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::event::{AuditEvent, MAX_LINE_BYTES};
use crate::error::{Error, ErrorCode, Result};
use crate::jcs::{key_order, push_u64, write_canonical, write_members, write_number, write_object, write_string};

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        for nibble in [b >> 4, b & 15] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    out
}

/// `args_digest`: SHA-256 (hex) of the RFC 8785 form of the arguments.
pub fn args_digest(args: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(256);
    write_object(args, &mut out);
    sha256_hex(out.as_bytes())
}

/// The hash a parsed line should carry: SHA-256 of its canonical form without `hash`.
pub fn line_hash(line: &Map<String, Value>) -> String {
    sha256_hex(canonical_without_hash(line).as_bytes())
}

/// The canonical form of a parsed line without its `hash`: what the hash is taken over.
fn canonical_without_hash(line: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(1024);
    let mut members: Vec<(&String, &Value)> = line.iter().filter(|(k, _)| k.as_str() != "hash").collect();
    members.sort_by(|a, b| key_order(a.0, b.0));
    write_members(members.into_iter(), &mut out);
    out
}

/// A line (without its line break) as written: exactly the RFC 8785 canonical form of its
/// members other than `hash`, then `hash` (the SHA-256 of that form) as the last member;
/// `None` otherwise.
///
/// The bytes are compared, not only the parsed content: a line with a member repeated
/// (`"effect":"deny","effect":"allow"` parses as its last value, another reader may take the
/// first), reordered or re-spaced says something else to some reader than what was hashed, so
/// it is not intact.
pub(crate) fn intact_line(body: &[u8]) -> Option<Map<String, Value>> {
    let map: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let hash = map.get("hash")?.as_str()?;
    let canonical = canonical_without_hash(&map);
    let open = canonical.strip_suffix('}')?;
    let sep = if open.len() > 1 { "," } else { "" };
    let written = format!("{open}{sep}\"hash\":\"{hash}\"}}");
    (written.as_bytes() == body && sha256_hex(canonical.as_bytes()) == hash).then_some(map)
}

/// An event serialised ahead of time, waiting for its `seq` and `prev`: the canonical
/// members, sorted, so that appending costs one concatenation and one hash. Written field by
/// field (no intermediate JSON tree); `verify` recomputes every hash from the parsed line, so
/// any difference from RFC 8785 would show at once.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The canonical members, sorted and joined: those before `prev`, those between `prev`
    /// and `seq`, and those after `seq`.
    text: String,
    /// Where the members after `prev` start in `text`.
    after_prev: usize,
    /// Where the members after `seq` start in `text`.
    after_seq: usize,
}

/// Writes an object's members (given in canonical key order) into a buffer.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }
    fn str(&mut self, k: &str, v: &str) {
        write_string(v, self.key(k));
    }
    fn opt(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    fn int(&mut self, k: &str, v: i64) {
        push_int(self.key(k), v);
    }
    fn close(self) {
        self.out.push('}');
    }
}

/// Writes an `i64` or `u64` in decimal.
fn push_int(out: &mut String, v: impl Into<i128>) {
    let v: i128 = v.into();
    if v < 0 {
        out.push('-');
    }
    push_u64(out, u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX));
}

/// Writes an event's members, each as `,"key":value`, in the order they are given — which
/// must be the canonical (byte) order of the keys — noting where `prev` and `seq` go.
struct Members {
    text: String,
    after_prev: Option<usize>,
    after_seq: Option<usize>,
    #[cfg(debug_assertions)]
    last: &'static str,
}

impl Members {
    fn put(&mut self, k: &'static str, f: impl FnOnce(&mut String)) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(k > self.last, "audit member `{k}` written after `{}`", self.last);
            self.last = k;
        }
        if self.after_prev.is_none() && k > "prev" {
            self.after_prev = Some(self.text.len());
        }
        if self.after_seq.is_none() && k > "seq" {
            self.after_seq = Some(self.text.len());
        }
        self.text.push_str(",\"");
        self.text.push_str(k);
        self.text.push_str("\":");
        f(&mut self.text);
    }
    fn str(&mut self, k: &'static str, v: &Option<String>) {
        if let Some(v) = v {
            self.put(k, |o| write_string(v, o));
        }
    }
    fn int(&mut self, k: &'static str, v: Option<impl Into<i128>>) {
        if let Some(v) = v {
            self.put(k, |o| push_int(o, v));
        }
    }
    fn array<T>(&mut self, k: &'static str, v: &[T], each: impl Fn(&T, &mut String)) {
        if v.is_empty() {
            return;
        }
        self.put(k, |o| {
            o.push('[');
            for (i, item) in v.iter().enumerate() {
                if i > 0 {
                    o.push(',');
                }
                each(item, o);
            }
            o.push(']');
        });
    }
    fn list(&mut self, k: &'static str, v: &[String]) {
        self.array(k, v, |s, o| write_string(s, o));
    }
}

impl Prepared {
    /// The event's members in canonical order (RFC 8785: every key is ASCII, so byte order
    /// is UTF-16 order), written once.
    pub(crate) fn new(e: &AuditEvent) -> Result<Self> {
        let mut m = Members {
            text: String::with_capacity(1024),
            after_prev: None,
            after_seq: None,
            #[cfg(debug_assertions)]
            last: "",
        };
        m.str("action", &e.action);
        m.str("action_hash", &e.action_hash);
        m.str("actor", &e.actor);
        m.str("agent", &e.agent);
        m.str("approval_id", &e.approval_id);
        m.str("approver", &e.approver);
        if let Some(args) = &e.args {
            m.put("args", |o| write_object(args, o));
        }
        m.str("args_digest", &e.args_digest);
        m.int("bytes", e.bytes);
        m.list("chain", &e.chain);
        if let Some(c) = &e.checkpoint {
            m.put("checkpoint", |o| {
                let mut obj = Obj::open(o);
                obj.str("head", &c.head);
                obj.str("kid", &c.kid);
                push_int(obj.key("seq"), c.seq);
                obj.str("sig", &c.sig);
                obj.close();
            });
        }
        m.str("decision_id", &e.decision_id);
        m.str("digest", &e.digest);
        if let Some(effect) = e.effect {
            m.put("effect", |o| write_string(effect.as_str(), o));
        }
        m.int("expires_at", e.expires_at);
        m.str("file", &e.file);
        m.str("grant_id", &e.grant_id);
        m.int("issued_at", e.issued_at);
        m.str("issuer", &e.issuer);
        m.str("kid", &e.kid);
        m.array("links", &e.links, |l, o| {
            let mut obj = Obj::open(o);
            obj.str("actor", &l.actor);
            obj.int("expires_at", l.expires_at);
            obj.str("grant_id", &l.grant_id);
            obj.int("issued_at", l.issued_at);
            obj.str("issuer", &l.issuer);
            obj.close();
        });
        m.str("message", &e.message);
        m.str("on_behalf_of", &e.on_behalf_of);
        if let Some(out) = &e.outcome {
            m.put("outcome", |o| {
                let mut obj = Obj::open(o);
                if let Some(d) = out.duration_ms {
                    write_number(d, obj.key("duration_ms"));
                }
                obj.opt("error", &out.error);
                obj.opt("result_digest", &out.result_digest);
                obj.str("status", &out.status);
                obj.close();
            });
        }
        m.str("owner", &e.owner);
        m.str("parent_grant", &e.parent_grant);
        m.list("policies", &e.policies);
        if let Some(proof) = e.proof {
            m.put("proof", |o| o.push_str(if proof { "true" } else { "false" }));
        }
        m.str("purpose", &e.purpose);
        m.array("reasons", &e.reasons, |r, o| {
            let mut obj = Obj::open(o);
            obj.str("code", r.code.as_str());
            obj.str("message", &r.message);
            obj.close();
        });
        m.str("resource", &e.resource);
        m.list("revoked", &e.revoked);
        if let Some(scopes) = &e.scopes {
            m.put("scopes", |o| write_canonical(scopes, o));
        }
        m.put("ts", |o| write_string(&e.ts, o));
        m.str("txn", &e.txn);
        m.put("type", |o| write_string(&e.kind, o));
        m.int("v", Some(e.v));
        let len = m.text.len();
        if len + 200 > MAX_LINE_BYTES {
            return Err(Error::new(
                ErrorCode::InputTooLarge,
                format!("an audit event of {len} bytes is over the {MAX_LINE_BYTES}-byte line limit"),
            ));
        }
        Ok(Self { after_prev: m.after_prev.unwrap_or(len), after_seq: m.after_seq.unwrap_or(len), text: m.text })
    }

    /// Appends the line (with a trailing newline) for `seq` after `prev` (a hash: hex, no
    /// escaping needed) to `out`; returns its hash.
    pub(crate) fn write_line(&self, seq: u64, prev: &str, out: &mut String) -> String {
        let start = out.len();
        let part = |from: usize, to: usize| self.text.get(from..to).unwrap_or_default();
        out.reserve(self.text.len() + prev.len() + 120);
        // Each member in `text` starts with its comma, which the first one must drop.
        out.push('{');
        match part(0, self.after_prev).get(1..) {
            Some(before) if !before.is_empty() => {
                out.push_str(before);
                out.push_str(",\"prev\":\"");
            }
            _ => out.push_str("\"prev\":\""),
        }
        out.push_str(prev);
        out.push('"');
        out.push_str(part(self.after_prev, self.after_seq));
        out.push_str(",\"seq\":");
        push_int(out, seq);
        out.push_str(part(self.after_seq, self.text.len()));
        out.push('}');
        let hash = sha256_hex(out.get(start..).unwrap_or_default().as_bytes());
        out.pop();
        out.push_str(",\"hash\":\"");
        out.push_str(&hash);
        out.push_str("\"}\n");
        hash
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::audit::event::{timestamp, AuditLink, AuditOutcome, CheckpointBody, EventType, GENESIS};
    use crate::check::Effect;
    use crate::check::Reason;

    #[test]
    fn written_hash_is_the_canonical_hash() {
        let mut ev = AuditEvent::new(EventType::Decision, 1_764_000_000_123);
        ev.actor = Some("agent:acme/bot".into());
        ev.action = Some("crm.read".into());
        ev.reasons = vec![Reason::new(crate::check::ReasonCode::Granted, "ok \u{1f600} \"q\" \n")];
        let mut args = Map::new();
        args.insert("amount".into(), serde_json::json!(1.5e3));
        args.insert("z".into(), serde_json::json!({"b": 1, "a": [true, null]}));
        ev.args = Some(args);
        let p = Prepared::new(&ev).unwrap();
        let mut out = String::new();
        let hash = p.write_line(7, GENESIS, &mut out);
        assert!(out.ends_with('\n'));
        let parsed: Map<String, Value> = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(parsed["hash"], Value::String(hash.clone()));
        assert_eq!(parsed["seq"], 7);
        assert_eq!(parsed["prev"], GENESIS);
        assert_eq!(line_hash(&parsed), hash);
        let back: AuditEvent = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(back.seq, 7);
        assert_eq!(back.ts, "2025-11-24T16:00:00.123Z");
        assert_eq!(back.ts_ms(), Some(1_764_000_000_123));
    }

    /// Every field set: the written line must read back as the same event (a field added to
    /// the struct but not to `Prepared` fails here) and hash canonically.
    #[test]
    fn every_field_survives_the_line() {
        let ev = AuditEvent {
            v: 1,
            seq: 0,
            ts: timestamp(5),
            kind: "decision".into(),
            decision_id: Some("d".into()),
            effect: Some(Effect::RequireApproval),
            reasons: vec![Reason::new(crate::check::ReasonCode::ApprovalRequired, "tab\there \u{1}")],
            actor: Some("agent:a/b".into()),
            chain: vec!["agent:a/b".into(), "agent:a/c".into()],
            links: vec![AuditLink {
                issuer: "org:a".into(),
                actor: "agent:a/b".into(),
                grant_id: "g".into(),
                issued_at: 1,
                expires_at: 2,
            }],
            on_behalf_of: Some("user:u".into()),
            grant_id: Some("g".into()),
            policies: vec!["P1".into()],
            proof: Some(true),
            action: Some("x.y".into()),
            resource: Some("r/1".into()),
            approval_id: Some("ap".into()),
            action_hash: Some("h".into()),
            txn: Some("t".into()),
            args_digest: Some("ad".into()),
            args: Some(
                serde_json::json!({"b": [1, 2.5, -7, 1e21], "a": {"z": null, "y": true}}).as_object().unwrap().clone(),
            ),
            outcome: Some(AuditOutcome {
                status: "error".into(),
                error: Some("E".into()),
                duration_ms: Some(1.25),
                result_digest: Some("rd".into()),
            }),
            agent: Some("agent:a/c".into()),
            owner: Some("user:o".into()),
            kid: Some("k".into()),
            approver: Some("user:p".into()),
            parent_grant: Some("pg".into()),
            issuer: Some("org:a".into()),
            issued_at: Some(-3),
            expires_at: Some(4),
            scopes: Some(serde_json::json!([{"type": "rid_scope", "actions": ["x.*"]}])),
            purpose: Some("why".into()),
            revoked: vec!["g".into()],
            message: Some("m".into()),
            digest: Some("dg".into()),
            file: Some("f".into()),
            bytes: Some(9),
            checkpoint: Some(CheckpointBody { seq: 3, head: GENESIS.into(), kid: "k".into(), sig: "s".into() }),
            prev: String::new(),
            hash: String::new(),
        };
        let mut out = String::new();
        let hash = Prepared::new(&ev).unwrap().write_line(3, GENESIS, &mut out);
        let mut back: AuditEvent = serde_json::from_str(out.trim_end()).unwrap();
        let parsed: Map<String, Value> = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(line_hash(&parsed), hash);
        assert_eq!((back.seq, back.prev.as_str(), back.hash.as_str()), (3, GENESIS, hash.as_str()));
        back.seq = 0;
        back.prev.clear();
        back.hash.clear();
        assert_eq!(back, ev);
    }
}
