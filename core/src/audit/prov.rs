//! Export as W3C PROV-JSON (<https://www.w3.org/submissions/prov-json/>): one `prov:Activity`
//! per checked call, `wasAssociatedWith` its agent (with the deciding policies as
//! `prov:plan`), `actedOnBehalfOf` the user, and `used` the grant.

use serde_json::{json, Map, Value};

use super::event::{AuditEvent, EventType};

/// Prefixes of the identifiers in the document.
const NS_RID: &str = "https://runtime-identity.dev/ns#";
const NS_PRINCIPAL: &str = "urn:runtime-identity:principal:";
const NS_GRANT: &str = "urn:runtime-identity:grant:";
const NS_CALL: &str = "urn:runtime-identity:decision:";
const NS_POLICY: &str = "urn:runtime-identity:policy:";

/// Builds a PROV-JSON document from decision and outcome events (others are ignored).
#[derive(Debug, Default)]
pub struct ProvBuilder {
    activity: Map<String, Value>,
    agent: Map<String, Value>,
    entity: Map<String, Value>,
    associated: Map<String, Value>,
    on_behalf: Map<String, Value>,
    used: Map<String, Value>,
    n: usize,
}

fn principal(id: &str) -> String {
    format!("principal:{id}")
}

impl ProvBuilder {
    fn relation_id(&mut self) -> String {
        self.n += 1;
        format!("_:r{}", self.n)
    }

    /// Adds one event.
    pub fn add(&mut self, ev: &AuditEvent) {
        match ev.event_type() {
            Some(EventType::Decision) => self.add_decision(ev),
            Some(EventType::Outcome) => {
                let Some(id) = &ev.decision_id else { return };
                if let Some(Value::Object(act)) = self.activity.get_mut(&format!("call:{id}")) {
                    act.insert("prov:endTime".into(), json!(ev.ts));
                    if let Some(o) = &ev.outcome {
                        act.insert("rid:outcome".into(), json!(o.status));
                        if let Some(e) = &o.error {
                            act.insert("rid:error".into(), json!(e));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn add_decision(&mut self, ev: &AuditEvent) {
        let Some(id) = &ev.decision_id else { return };
        let act_id = format!("call:{id}");
        let mut act = Map::new();
        act.insert("prov:type".into(), json!({"$": "rid:ToolCall", "type": "prov:QUALIFIED_NAME"}));
        act.insert("prov:startTime".into(), json!(ev.ts));
        for (k, v) in [("rid:action", &ev.action), ("rid:resource", &ev.resource), ("rid:txn", &ev.txn)] {
            if let Some(v) = v {
                act.insert(k.into(), json!(v));
            }
        }
        if let Some(e) = ev.effect {
            act.insert("rid:effect".into(), json!(e.as_str()));
        }
        if let Some(r) = ev.reasons.first() {
            act.insert("rid:reason".into(), json!(r.code.as_str()));
        }
        self.activity.insert(act_id.clone(), Value::Object(act));

        if let Some(actor) = &ev.actor {
            let agent = principal(actor);
            self.agent.insert(
                agent.clone(),
                json!({"prov:type": {"$": "prov:SoftwareAgent", "type": "prov:QUALIFIED_NAME"}}),
            );
            if ev.policies.is_empty() {
                let r = self.relation_id();
                self.associated.insert(r, json!({"prov:activity": act_id, "prov:agent": agent}));
            }
            for p in &ev.policies {
                let plan = format!("policy:{p}");
                self.entity
                    .insert(plan.clone(), json!({"prov:type": {"$": "prov:Plan", "type": "prov:QUALIFIED_NAME"}}));
                let r = self.relation_id();
                self.associated.insert(r, json!({"prov:activity": act_id, "prov:agent": agent, "prov:plan": plan}));
            }
            if let Some(user) = &ev.on_behalf_of {
                let responsible = principal(user);
                self.agent.insert(
                    responsible.clone(),
                    json!({"prov:type": {"$": "prov:Person", "type": "prov:QUALIFIED_NAME"}}),
                );
                let r = self.relation_id();
                self.on_behalf.insert(
                    r,
                    json!({"prov:delegate": agent, "prov:responsible": responsible, "prov:activity": act_id}),
                );
            }
        }
        if let Some(grant) = &ev.grant_id {
            let entity = format!("grant:{grant}");
            let mut attrs = Map::new();
            attrs.insert("prov:type".into(), json!({"$": "rid:Grant", "type": "prov:QUALIFIED_NAME"}));
            if let Some(link) = ev.links.iter().find(|l| *l.grant_id == **grant) {
                attrs.insert("rid:issuer".into(), json!(link.issuer));
                attrs.insert("rid:expiresAt".into(), json!(crate::clock::rfc3339(link.expires_at)));
            }
            self.entity.insert(entity.clone(), Value::Object(attrs));
            let r = self.relation_id();
            self.used.insert(r, json!({"prov:activity": act_id, "prov:entity": entity, "prov:time": ev.ts}));
        }
    }

    /// The document.
    pub fn finish(self) -> Value {
        let mut doc = Map::new();
        doc.insert(
            "prefix".into(),
            json!({
                "rid": NS_RID,
                "principal": NS_PRINCIPAL,
                "grant": NS_GRANT,
                "call": NS_CALL,
                "policy": NS_POLICY,
            }),
        );
        for (k, v) in [
            ("activity", self.activity),
            ("agent", self.agent),
            ("entity", self.entity),
            ("wasAssociatedWith", self.associated),
            ("actedOnBehalfOf", self.on_behalf),
            ("used", self.used),
        ] {
            if !v.is_empty() {
                doc.insert(k.into(), Value::Object(v));
            }
        }
        Value::Object(doc)
    }
}
