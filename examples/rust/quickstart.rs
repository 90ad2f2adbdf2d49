//! The runtime-identity story from Rust: an agent owned by a user gets a short-lived scoped
//! grant, hands a narrower one to a sub-agent, cannot escalate, and loses its authority the
//! moment its owner suspends it or revokes the grant.
//!
//! Run with `make demo` or `cargo run --release -p runtime-identity-examples --bin quickstart`.

use runtime_identity::audit::Outcome;
use runtime_identity::scope::Scope;
use runtime_identity::CheckRequest;
use runtime_identity::RuntimeOptions;
use runtime_identity::{AgentSpec, AttenuateRequest, DelegateRequest, Result, Runtime};

fn scope(json: serde_json::Value) -> Result<Scope> {
    Scope::from_api_value(&json)
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() -> Result<()> {
    let home = std::env::temp_dir().join(format!("runtime-identity-demo-{}", std::process::id()));
    let rt = Runtime::open(Some(&home), RuntimeOptions::with_issuer("org:acme"))?;
    println!("runtime folder {} for issuer {}", home.display(), rt.issuer());

    step("register agents, each owned by an accountable person");
    for (id, name) in [("agent:acme/support-bot", "Support bot"), ("agent:acme/refund-helper", "Refund helper")] {
        let rec = rt.register_agent(
            id,
            AgentSpec {
                owner: Some("user:alice@acme".into()),
                name: Some(name.into()),
                attributes: Some(serde_json::json!({"team": "support"})),
                ..Default::default()
            },
        )?;
        println!(
            "{}  owner={}  status={}  key={}",
            rec.id,
            rec.owner,
            rec.status.as_str(),
            rec.current_key().map(|k| k.kid.as_str()).unwrap_or("-")
        );
    }

    step("alice delegates a 15-minute grant to support-bot");
    let grant = rt.delegate(&DelegateRequest {
        to: "agent:acme/support-bot".into(),
        on_behalf_of: "user:alice@acme".into(),
        scopes: vec![
            scope(serde_json::json!({"actions": ["crm.*"], "resources": ["customer/*"]}))?,
            scope(serde_json::json!({
                "actions": ["payments.refund"], "resources": ["customer/*"],
                "constraints": {"amount": {"max": 100}, "currency": {"eq": "USD"}},
                "limits": {"max_uses": 5, "budget": {"arg": "amount", "max_total": 300}}
            }))?,
        ],
        purpose: Some("ticket 4711: refund a double charge".into()),
        ..Default::default()
    })?;
    println!("grant {} expires at {}", grant.grant_id(), runtime_identity::internal::rfc3339(grant.expires_at()));
    println!(
        "token: {} links, {} bytes (a bearer secret: never logged)",
        grant.chain().links.len(),
        grant.token().len()
    );

    step("support-bot hands refund-helper a narrower grant");
    let narrow = scope(serde_json::json!({
        "actions": ["payments.refund"], "resources": ["customer/42"],
        "constraints": {"amount": {"max": 50}, "currency": {"eq": "USD"}},
        "limits": {"max_uses": 1, "budget": {"arg": "amount", "max_total": 50}}
    }))?;
    let sub = rt.attenuate(
        grant.token(),
        &AttenuateRequest { to: "agent:acme/refund-helper".into(), scopes: vec![narrow], ..Default::default() },
    )?;
    for link in &sub.chain().links {
        println!(
            "link {}: {} -> {}  grant {}  scopes {}",
            link.depth,
            link.issuer,
            link.actor,
            link.grant_id,
            serde_json::to_string(&link.scopes).unwrap_or_default()
        );
    }

    step("refund-helper tries to widen its grant: refused");
    let wider = scope(serde_json::json!({"actions": ["payments.*"], "resources": ["customer/*"]}))?;
    match rt.attenuate(
        sub.token(),
        &AttenuateRequest { to: "agent:acme/support-bot".into(), scopes: vec![wider], ..Default::default() },
    ) {
        Ok(_) => println!("UNEXPECTED: escalation accepted"),
        Err(e) => println!("refused: {} ({})", e.code(), e),
    }

    step("verify the sub-agent's credential");
    let verified = rt.verify(sub.token())?;
    println!(
        "valid: {} acts on behalf of {} via {}",
        verified.chain().actor().map(|a| a.as_str()).unwrap_or("-"),
        verified.chain().on_behalf_of,
        verified.chain().agents().map(|a| a.as_str()).collect::<Vec<_>>().join(" -> ")
    );

    step("refund-helper refunds 30 USD: checked before, recorded after");
    let args = serde_json::json!({"amount": 30, "currency": "USD"});
    let refund = CheckRequest {
        action: "payments.refund",
        resource: Some("customer/42"),
        args: args.as_object(),
        ..Default::default()
    };
    let decision = rt.check(&sub, &refund);
    println!("{}: {:?}", decision.effect.as_str(), decision.reasons.first().map(|r| &r.message));
    if decision.allowed {
        rt.record_outcome(&decision.decision_id, &Outcome::ok())?;
    }
    let again = rt.check(&sub, &refund);
    println!("again: {} ({})", again.effect.as_str(), again.code().map(|c| c.as_str()).unwrap_or("-"));

    step("alice suspends support-bot: the sub-agent's chain is refused at once");
    rt.suspend_agent("agent:acme/support-bot")?;
    match rt.verify(sub.token()) {
        Ok(_) => println!("UNEXPECTED: still valid"),
        Err(e) => println!("refused: {} ({})", e.code(), e),
    }
    rt.resume_agent("agent:acme/support-bot")?;
    println!("resumed: valid again = {}", rt.verify(sub.token()).is_ok());

    step("alice revokes her grant: it and everything delegated from it stop");
    let revoked = rt.revoke(grant.grant_id())?;
    println!("revoked {} grant(s)", revoked.len());
    match rt.verify(sub.token()) {
        Ok(_) => println!("UNEXPECTED: still valid"),
        Err(e) => println!("refused: {} ({})", e.code(), e),
    }

    step("the authority's public keys, for any JOSE library");
    println!("{}", serde_json::to_string_pretty(&rt.jwks()?).unwrap_or_default());

    step("the audit log: verify the chain, then explain the refund");
    let report = rt.audit().verify()?;
    println!("intact: {} ({} events, {} signed checkpoints)", report.ok, report.events, report.checkpoints);
    print!("{}", rt.audit().explain(&decision.decision_id)?);

    drop(rt);
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}
