//! The agent lifecycle at each chain position, Cedar policies (forbid, approval, require
//! permit, attributes and context), approvals bound to the exact call, proofs of possession,
//! and the typed errors of the API.

use runtime_identity::proof::sign_proof_with_id;
use runtime_identity::Algorithm;
use runtime_identity::CheckRequest;
use serde_json::{json, Value};

use crate::fixture::*;

fn read42() -> Value {
    req("crm.read", "customer/42", json!({}))
}

fn wide() -> Value {
    json!([{"actions": ["crm.*", "payments.refund"], "resources": ["*"]}])
}

pub fn lifecycle() -> VectorFile {
    let f = Fixture::new(
        "lifecycle",
        "Suspending, resuming and revoking agents takes effect on the very next check of any \
         chain that contains them, at every position.",
        Algorithm::Es256,
        &default_agents(),
        default_resources(),
        "",
        json!({}),
    );
    let t0 = f.delegate(BOT, wide(), 900, None);
    let t1 = f.attenuate(&t0, BOT, SUB, wide());
    let t2 = f.attenuate(&t1, SUB, LEAF, wide());
    let chain = [BOT, SUB, LEAF];
    for (i, agent) in chain.iter().enumerate() {
        f.case(
            &format!("suspending the agent at position {i} denies the chain"),
            &["agent_suspended"],
            vec![
                op("suspend_agent", json!({"id": agent})),
                check(&t2, read42(), "deny", &["agent_suspended"]),
                verify_err(&t2, "agent_suspended"),
            ],
        );
        f.case(
            &format!("resuming the agent at position {i} restores the chain"),
            &["granted"],
            vec![
                op("suspend_agent", json!({"id": agent})),
                check(&t2, read42(), "deny", &["agent_suspended"]),
                op("resume_agent", json!({"id": agent})),
                allow(&t2, read42(), &chain),
            ],
        );
        f.case(
            &format!("revoking the agent at position {i} denies the chain for good"),
            &["agent_revoked"],
            vec![
                op("revoke_agent", json!({"id": agent})),
                check(&t2, read42(), "deny", &["agent_revoked"]),
                op("resume_agent", json!({"id": agent, "expect": {"error": "agent_revoked"}})),
                check(&t2, read42(), "deny", &["agent_revoked"]),
            ],
        );
    }
    f.case(
        "suspending a sub-agent leaves its parent's credential usable",
        &["granted", "agent_suspended"],
        vec![
            op("suspend_agent", json!({"id": SUB})),
            allow(&t0, read42(), &[BOT]),
            check(&t1, read42(), "deny", &["agent_suspended"]),
        ],
    );
    f.case(
        "a suspended agent cannot delegate further",
        &["agent_suspended"],
        vec![
            op("suspend_agent", json!({"id": BOT})),
            op(
                "attenuate",
                json!({"parent": t0, "key": BOT, "to": SUB, "scopes": wide(), "expect": {"error": "agent_suspended"}}),
            ),
        ],
    );
    f.case(
        "no grant is made to a suspended agent",
        &["agent_suspended"],
        vec![
            op("suspend_agent", json!({"id": SUB})),
            op(
                "delegate",
                json!({"to": SUB, "on_behalf_of": ALICE, "scopes": wide(), "expect": {"error": "agent_suspended"}}),
            ),
        ],
    );
    f.case(
        "no grant is made to a revoked agent",
        &["agent_revoked"],
        vec![
            op("revoke_agent", json!({"id": SUB})),
            op(
                "delegate",
                json!({"to": SUB, "on_behalf_of": ALICE, "scopes": wide(), "expect": {"error": "agent_revoked"}}),
            ),
        ],
    );
    f.case("a delegated grant is used at once", &["granted"], vec![
        op("delegate", json!({"to": SUB, "on_behalf_of": ALICE, "scopes": wide(), "save": "g", "expect": {"chain": [SUB], "on_behalf_of": ALICE}})),
        allow("$g", read42(), &[SUB]),
    ]);
    f.case(
        "revoking a grant by id cascades to what was attenuated from it",
        &["grant_revoked"],
        vec![
            op("delegate", json!({"to": BOT, "on_behalf_of": ALICE, "scopes": wide(), "save": "g"})),
            op("attenuate", json!({"parent": "$g", "key": BOT, "to": SUB, "scopes": wide(), "save": "c"})),
            op("revoke", json!({"token": "$g"})),
            check("$c", read42(), "deny", &["grant_revoked"]),
        ],
    );
    f.finish()
}

const POLICIES: &str = r#"// F01: no PCI data unless the agent is cleared for it.
@id("F01")
forbid (principal, action, resource)
when { resource has data_class && resource.data_class == "pci" }
unless { principal has pci_cleared && principal.pci_cleared };

// A01: large refunds need a person.
@id("A01")
@approval("refunds over 80 need a second pair of eyes")
permit (principal, action == Action::"payments.refund", resource)
when { context.args has amount && context.args.amount > 80 };

// F02: nothing beyond the first sub-agent may write.
@id("F02")
forbid (principal, action == Action::"crm.write", resource)
when { context.delegation.depth > 1 };

// F03: no EU data when the caller reports a high risk score.
@id("F03")
forbid (principal, action, resource)
when { resource has region && resource.region == "eu" && context has risk && context.risk has score && context.risk.score > 7 };

// F04: the ticket tool is off on weekends (the caller's env says which day).
@id("F04")
forbid (principal, action == Action::"ticket.update", resource)
when { context has env && context.env has weekday && context.env.weekday == "sat" };

// P01: the payments team's agents may refund (matters only with require_permit).
@id("P01")
permit (principal, action == Action::"payments.refund", resource)
when { principal has team && principal.team == "payments" };
"#;

pub fn policies() -> VectorFile {
    let f = Fixture::new(
        "policies",
        "The organisation's Cedar policies after the grant: forbid overrides, @approval asks a \
         person, require_permit needs an explicit permit; agent attributes, resource attributes, \
         delegation depth and call context are visible to policies.",
        Algorithm::Es256,
        &default_agents(),
        default_resources(),
        POLICIES,
        json!({}),
    );
    let bot = f.delegate(BOT, wide(), 900, None);
    let cleared = f.delegate(CLEARED, wide(), 900, None);
    let t1 = f.attenuate(&bot, BOT, SUB, wide());
    let t2 = f.attenuate(&t1, SUB, LEAF, wide());
    let deny_by = |f: &Fixture, title: &str, token: &str, r: Value, policy: &str| {
        let mut s = check(token, r, "deny", &["policy_forbid"]);
        s["expect"]["policies"] = json!([policy]);
        f.case(title, &["policy_forbid"], vec![s]);
    };
    deny_by(&f, "a forbid on the resource's data class denies", &bot, req("crm.read", "customer/77", json!({})), "F01");
    f.case(
        "the forbid's unless clause reads the agent's attributes",
        &["granted"],
        vec![allow(&cleared, req("crm.read", "customer/77", json!({})), &[CLEARED])],
    );
    deny_by(
        &f,
        "a forbid on delegation depth denies the second sub-agent",
        &t2,
        req("crm.write", "customer/42", json!({})),
        "F02",
    );
    f.case(
        "the same call one link higher is allowed",
        &["granted"],
        vec![allow(&t1, req("crm.write", "customer/42", json!({})), &[BOT, SUB])],
    );
    let mut risky = req("crm.read", "customer/88", json!({}));
    risky["context"] = json!({"risk": {"score": 9}});
    deny_by(&f, "a forbid on the call's risk context and a resource attribute denies", &bot, risky, "F03");
    let mut calm = req("crm.read", "customer/88", json!({}));
    calm["context"] = json!({"risk": {"score": 2}});
    f.case("a low risk score passes the same policy", &["granted"], vec![allow(&bot, calm, &[BOT])]);
    // A call cannot relabel a registered resource: the registered data class and attributes win.
    let mut relabel = req("crm.read", "customer/77", json!({}));
    relabel["context"] = json!({"resource": {"data_class": "public"}});
    f.case(
        "a call passing another data class than the registered one is refused",
        &["request_invalid"],
        vec![check(&bot, relabel, "deny", &["request_invalid"])],
    );
    let mut reattr = req("crm.read", "customer/88", json!({}));
    reattr["context"] = json!({"resource": {"attributes": {"region": "us"}}});
    f.case(
        "a call passing another value for a registered attribute is refused",
        &["request_invalid"],
        vec![check(&bot, reattr, "deny", &["request_invalid"])],
    );
    let mut same = req("crm.read", "customer/77", json!({}));
    same["context"] = json!({"resource": {"data_class": "pci"}});
    deny_by(&f, "a call passing the registered data class is checked with it", &bot, same, "F01");
    let mut fill = req("crm.read", "ticket/9", json!({}));
    fill["context"] = json!({"resource": {"data_class": "pci"}});
    deny_by(&f, "a data class passed for a resource registered without one fills it", &bot, fill, "F01");
    let mut sat = req("ticket.update", "ticket/9", json!({}));
    sat["context"] = json!({"env": {"weekday": "sat"}});
    let bot_ticket = f.delegate(BOT, json!([{"actions": ["ticket.*"], "resources": ["ticket/*"]}]), 900, None);
    deny_by(&f, "a forbid on the caller's env denies", &bot_ticket, sat, "F04");
    let mut approval = check(
        &bot,
        req("payments.refund", "customer/42", json!({"amount": 90})),
        "require_approval",
        &["approval_required"],
    );
    approval["expect"]["policies"] = json!(["A01"]);
    f.case("an @approval policy whose condition holds asks a person", &["approval_required"], vec![approval]);
    f.case(
        "below the approval threshold the call is allowed",
        &["granted"],
        vec![allow(&bot, req("payments.refund", "customer/42", json!({"amount": 80})), &[BOT])],
    );
    let mut forbid_first =
        check(&bot, req("payments.refund", "customer/77", json!({"amount": 90})), "deny", &["policy_forbid"]);
    forbid_first["expect"]["policies"] = json!(["F01"]);
    f.case("a forbid wins over an approval rule", &["policy_forbid"], vec![forbid_first]);
    let permit = json!({"options": {"require_permit": true}});
    f.case_with(
        "with require_permit, a call no permit covers is denied",
        &["no_permit"],
        permit.clone(),
        vec![check(&bot, req("crm.read", "customer/42", json!({})), "deny", &["no_permit"])],
    );
    let mut permitted = allow(&cleared, req("payments.refund", "customer/42", json!({"amount": 10})), &[CLEARED]);
    permitted["expect"]["policies"] = json!(["P01"]);
    f.case_with(
        "with require_permit, a permit on an agent attribute allows",
        &["granted"],
        permit.clone(),
        vec![permitted],
    );
    for (title, value) in [("too small a fraction", json!(1e-7)), ("too large a number", json!(1e21))] {
        f.case(
            &format!("an argument Cedar cannot represent ({title}) makes the request invalid, never an allow"),
            &["request_invalid"],
            vec![check(&bot, req("crm.read", "customer/42", json!({"x": value})), "deny", &["request_invalid"])],
        );
    }
    f.case(
        "policies restrict but never widen a grant",
        &["action_not_granted"],
        vec![check(
            &bot_ticket,
            req("payments.refund", "customer/42", json!({"amount": 10})),
            "deny",
            &["action_not_granted"],
        )],
    );
    f.case("a broken policy file is refused and the policies in force stay", &["policy_invalid", "policy_forbid"], vec![
        op("load_policies", json!({"text": "permit (principal, action, resource) when { context.args.amount > };", "expect": {"error": "policy_invalid"}})),
        check(&bot, req("crm.read", "customer/77", json!({})), "deny", &["policy_forbid"]),
    ]);
    f.case("a policy on an unknown entity type is refused", &["policy_invalid"], vec![op(
        "load_policies",
        json!({"text": "forbid (principal == User::\"x\", action, resource);", "expect": {"error": "policy_invalid"}}),
    )]);
    f.case("replacing the policies takes effect on the next check", &["granted"], vec![
        op("load_policies", json!({"text": "@id(\"X1\")\nforbid (principal, action == Action::\"crm.delete\", resource);", "expect": {"count": 1}})),
        allow(&bot, req("crm.read", "customer/77", json!({})), &[BOT]),
    ]);
    f.finish()
}

/// Approval rules: finance people with a high enough limit approve refunds; nobody approves
/// their own agent's requests.
const APPROVAL_RULES: &str = r#"@id("R01")
permit (principal, action == Action::"rid.approve", resource)
when { principal has role && principal.role == "finance" && resource.action == "payments.refund"
       && principal has limit && resource.args has amount && resource.args.amount <= principal.limit };

@id("R02")
forbid (principal, action == Action::"rid.approve", resource)
when { resource.owner == principal.id };
"#;

fn approval_agents() -> Vec<AgentDef<'static>> {
    let mut agents = default_agents();
    agents.push(AgentDef(BOBS_BOT, BOB, 2, json!({})));
    agents
}

pub fn approvals() -> VectorFile {
    let f = Fixture::new(
        "approvals",
        "Approvals are bound to the exact call (action_hash over action, resource, args, actor, \
         on_behalf_of, grant id), single-use, expiring, and given by a user.",
        Algorithm::Es256,
        &approval_agents(),
        default_resources(),
        POLICIES,
        json!({}),
    );
    let bot = f.delegate(BOT, wide(), 900, None);
    let big = || req("payments.refund", "customer/42", json!({"amount": 90}));
    let ask = |save: &str| {
        let mut s = check(&bot, big(), "require_approval", &["approval_required"]);
        s["save_approval"] = json!(save);
        s
    };
    let with_receipt = |r: Value, receipt: &str, effect: &str, reasons: &[&str]| {
        let mut s = check(&bot, r, effect, reasons);
        s["approval"] = json!(receipt);
        s
    };
    f.case(
        "approved once, the exact call is allowed once",
        &["approval_required", "approved", "approval_invalid"],
        vec![
            ask("a"),
            op("approve", json!({"request": "$a", "approver": ALICE, "save": "r"})),
            with_receipt(big(), "$r", "allow", &["approved"]),
            with_receipt(big(), "$r", "deny", &["approval_invalid"]),
        ],
    );
    for (what, resource, amount) in [("other arguments", "customer/42", 95), ("another resource", "customer/43", 90)] {
        f.case(
            &format!("a receipt does not approve {what}"),
            &["approval_invalid"],
            vec![
                ask("a"),
                op("approve", json!({"request": "$a", "approver": ALICE, "save": "r"})),
                with_receipt(
                    req("payments.refund", resource, json!({"amount": amount})),
                    "$r",
                    "deny",
                    &["approval_invalid"],
                ),
            ],
        );
    }
    f.case(
        "a receipt expires",
        &["approval_invalid"],
        vec![
            ask("a"),
            op("approve", json!({"request": "$a", "approver": ALICE, "save": "r"})),
            set_time(NOW + 700),
            with_receipt(big(), "$r", "deny", &["approval_invalid"]),
        ],
    );
    f.case(
        "a denied request yields no receipt and the call still needs approval",
        &["approval_required", "approval_invalid"],
        vec![
            ask("a"),
            op("deny_approval", json!({"request": "$a", "approver": ALICE})),
            op("approve", json!({"request": "$a", "approver": ALICE, "expect": {"error": "approval_invalid"}})),
            check(&bot, big(), "require_approval", &["approval_required"]),
        ],
    );
    f.case(
        "an agent cannot approve",
        &["approver_not_allowed"],
        vec![
            ask("a"),
            op("approve", json!({"request": "$a", "approver": BOT, "expect": {"error": "approver_not_allowed"}})),
        ],
    );
    f.case(
        "a person who is neither the one the agent acts for nor its owner cannot approve or deny",
        &["approver_not_allowed", "approval_required"],
        vec![
            ask("a"),
            op("approve", json!({"request": "$a", "approver": BOB, "expect": {"error": "approver_not_allowed"}})),
            op("deny_approval", json!({"request": "$a", "approver": BOB, "expect": {"error": "approver_not_allowed"}})),
            check(&bot, big(), "require_approval", &["approval_required"]),
        ],
    );
    let bobs = f.delegate(BOBS_BOT, wide(), 900, None);
    let ask_bobs = || {
        let mut s = check(&bobs, big(), "require_approval", &["approval_required"]);
        s["save_approval"] = json!("a");
        s
    };
    f.case(
        "the agent's owner may approve",
        &["approval_required", "approved"],
        vec![ask_bobs(), op("approve", json!({"request": "$a", "approver": BOB, "save": "r"})), {
            let mut s = check(&bobs, big(), "allow", &["approved"]);
            s["approval"] = json!("$r");
            s
        }],
    );
    f.case(
        "the person the agent acts for may approve a request of an agent owned by another",
        &["approval_required"],
        vec![ask_bobs(), op("approve", json!({"request": "$a", "approver": ALICE}))],
    );
    f.case(
        "nobody else may approve a request of that agent",
        &["approver_not_allowed"],
        vec![
            ask_bobs(),
            op("approve", json!({"request": "$a", "approver": CAROL, "expect": {"error": "approver_not_allowed"}})),
        ],
    );
    let rules = format!("{POLICIES}\n{APPROVAL_RULES}");
    f.case_with(
        "with approval rules loaded, they decide who may approve",
        &["approval_required", "approved", "approver_not_allowed"],
        json!({"policies": rules}),
        vec![
            ask("a"),
            op("approve", json!({"request": "$a", "approver": ALICE, "expect": {"error": "approver_not_allowed"}})),
            op("approve", json!({"request": "$a", "approver": CAROL, "attributes": {"role": "intern"},
                "expect": {"error": "approver_not_allowed"}})),
            op("approve", json!({"request": "$a", "approver": CAROL, "attributes": {"role": "finance", "limit": 50},
                "expect": {"error": "approver_not_allowed"}})),
            op("approve", json!({"request": "$a", "approver": CAROL, "attributes": {"role": "finance", "limit": 500}, "save": "r"})),
            with_receipt(big(), "$r", "allow", &["approved"]),
        ],
    );
    f.case_with(
        "an approval rule that names other actions does not load",
        &["policy_invalid"],
        json!({}),
        vec![op("load_policies", json!({"text": "permit (principal, action == Action::\"rid.approve\", resource) when { action == Action::\"payments.refund\" };", "expect": {"error": "policy_invalid"}}))],
    );
    f.case(
        "a tool-call policy cannot name the runtime's own actions",
        &["policy_invalid"],
        vec![op("load_policies", json!({"text": "forbid (principal, action in Action::\"rid.*\", resource);", "expect": {"error": "policy_invalid"}}))],
    );
    // The pending requests of one grant are capped (100): the token is minted by the runner.
    let mut flood = vec![op(
        "delegate",
        json!({"to": BOT, "on_behalf_of": ALICE, "scopes": wide(), "ttl": 900, "save": "t",
               "expect": {"chain": [BOT], "on_behalf_of": ALICE}}),
    )];
    for i in 0..100 {
        let mut s = check(
            "$t",
            req("payments.refund", "customer/42", json!({"amount": 81 + i})),
            "require_approval",
            &["approval_required"],
        );
        if i == 0 {
            s["save_approval"] = json!("first");
        }
        flood.push(s);
    }
    flood.push(check(
        "$t",
        req("payments.refund", "customer/42", json!({"amount": 500})),
        "deny",
        &["limit_pending_approvals"],
    ));
    flood.push(check(
        "$t",
        req("payments.refund", "customer/42", json!({"amount": 81})),
        "require_approval",
        &["approval_required"],
    ));
    flood.push(op("deny_approval", json!({"request": "$first", "approver": ALICE})));
    flood.push(check(
        "$t",
        req("payments.refund", "customer/42", json!({"amount": 500})),
        "require_approval",
        &["approval_required"],
    ));
    flood.push(check(
        &bot,
        req("payments.refund", "customer/42", json!({"amount": 500})),
        "require_approval",
        &["approval_required"],
    ));
    f.case(
        "a grant has at most 100 pending approval requests; other grants are not affected",
        &["approval_required", "limit_pending_approvals"],
        flood,
    );
    f.case("an unknown request cannot be approved", &["approval_invalid"], vec![op(
        "approve",
        json!({"request": "0190b2c4-0000-7000-8000-000000000000", "approver": ALICE, "expect": {"error": "approval_invalid"}}),
    )]);
    f.case(
        "garbage as a receipt is refused",
        &["approval_invalid"],
        vec![with_receipt(big(), "not-a-receipt", "deny", &["approval_invalid"])],
    );
    f.finish()
}

pub fn proofs() -> VectorFile {
    let f = Fixture::new(
        "proofs",
        "With require_proof, every check carries a proof of possession signed by the leaf's cnf \
         key over the call's action_hash: fresh, single-use, for this call.",
        Algorithm::Es256,
        &default_agents(),
        default_resources(),
        "",
        json!({"require_proof": true}),
    );
    let bot = f.delegate(BOT, wide(), 900, None);
    let r = read42();
    let hash_of = |f: &Fixture, action: &str| {
        let req = CheckRequest { action, resource: Some("customer/42"), ..Default::default() };
        f.rt.action_hash(bot.as_str(), &req).expect("action hash")
    };
    let hash = hash_of(&f, "crm.read");
    let key = f.agent_key(BOT);
    let proof = sign_proof_with_id(key, &hash, NOW, "proof-1").expect("proof");
    let with = |p: &str, effect: &str, reasons: &[&str]| {
        let mut s = check(&bot, r.clone(), effect, reasons);
        s["proof"] = json!(p);
        s
    };
    f.case("no proof", &["proof_required"], vec![check(&bot, r.clone(), "deny", &["proof_required"])]);
    f.case(
        "a valid proof allows, once",
        &["granted", "proof_invalid"],
        vec![with(&proof, "allow", &["granted"]), with(&proof, "deny", &["proof_invalid"])],
    );
    let stale = sign_proof_with_id(key, &hash, NOW - 120, "proof-2").expect("proof");
    f.case("a stale proof", &["proof_invalid"], vec![with(&stale, "deny", &["proof_invalid"])]);
    let other_call = sign_proof_with_id(key, &hash_of(&f, "crm.write"), NOW, "proof-3").expect("proof");
    f.case("a proof for another call", &["proof_invalid"], vec![with(&other_call, "deny", &["proof_invalid"])]);
    let stolen = sign_proof_with_id(f.agent_key(SUB), &hash, NOW, "proof-4").expect("proof");
    f.case(
        "a proof signed by another agent's key",
        &["proof_invalid"],
        vec![with(&stolen, "deny", &["proof_invalid"])],
    );
    f.case("garbage as a proof", &["proof_invalid"], vec![with("x.y.z", "deny", &["proof_invalid"])]);
    f.finish()
}

pub fn api_errors() -> VectorFile {
    let f = Fixture::new(
        "api-errors",
        "Bad input to the API is a typed error with a stable code, and nothing changes.",
        Algorithm::Es256,
        &default_agents(),
        default_resources(),
        "",
        json!({}),
    );
    let reg = |id: &str, owner: &str, code: &str| {
        op("register_agent", json!({"id": id, "owner": owner, "expect": {"error": code}}))
    };
    f.case("registering an agent twice", &["agent_exists"], vec![reg(BOT, ALICE, "agent_exists")]);
    f.case(
        "an agent id that is not an agent principal",
        &["principal_invalid"],
        vec![reg("user:carol@acme", ALICE, "principal_invalid")],
    );
    f.case(
        "an agent id with a space",
        &["principal_invalid"],
        vec![reg("agent:acme/bad bot", ALICE, "principal_invalid")],
    );
    f.case("a non-ASCII agent id", &["principal_invalid"], vec![reg("agent:acme/bötchen", ALICE, "principal_invalid")]);
    f.case(
        "an agent id over 256 bytes",
        &["principal_invalid"],
        vec![reg(&format!("agent:{}", "a".repeat(260)), ALICE, "principal_invalid")],
    );
    f.case(
        "an agent cannot own an agent",
        &["principal_invalid"],
        vec![reg("agent:acme/new-bot", BOT, "principal_invalid")],
    );
    f.case(
        "a registered agent is active and usable at once",
        &["granted"],
        vec![
            op("register_agent", json!({"id": "agent:acme/new-bot", "owner": ALICE, "expect": {"status": "active"}})),
            op("delegate", json!({"to": "agent:acme/new-bot", "on_behalf_of": ALICE, "scopes": wide(), "save": "g"})),
            allow("$g", read42(), &["agent:acme/new-bot"]),
        ],
    );
    f.case(
        "an unknown agent cannot be suspended",
        &["agent_unknown"],
        vec![op("suspend_agent", json!({"id": "agent:acme/ghost", "expect": {"error": "agent_unknown"}}))],
    );
    let del = |fields: Value, code: &str| {
        let mut v = json!({"to": BOT, "on_behalf_of": ALICE, "scopes": wide(), "expect": {"error": code}});
        if let (Some(o), Some(p)) = (v.as_object_mut(), fields.as_object()) {
            o.extend(p.clone());
        }
        op("delegate", v)
    };
    f.case("a ttl over the maximum", &["ttl_invalid"], vec![del(json!({"ttl": 999_999_999}), "ttl_invalid")]);
    f.case("a zero ttl", &["ttl_invalid"], vec![del(json!({"ttl": 0}), "ttl_invalid")]);
    f.case(
        "a grant on behalf of an agent",
        &["principal_invalid"],
        vec![del(json!({"on_behalf_of": SUB}), "principal_invalid")],
    );
    f.case("a grant with no scopes", &["scope_invalid"], vec![del(json!({"scopes": []}), "scope_invalid")]);
    f.case(
        "a scope with an empty action list",
        &["scope_invalid"],
        vec![del(json!({"scopes": [{"actions": []}]}), "scope_invalid")],
    );
    f.case(
        "a scope with an unknown constraint operator",
        &["scope_invalid"],
        vec![del(json!({"scopes": [{"actions": ["x.y"], "constraints": {"amount": {"below": 3}}}]}), "scope_invalid")],
    );
    f.case(
        "a scope with a malformed rate",
        &["scope_invalid"],
        vec![del(json!({"scopes": [{"actions": ["x.y"], "limits": {"rate": "ten per minute"}}]}), "scope_invalid")],
    );
    f.case(
        "a scope with a pattern in the middle",
        &["scope_invalid"],
        vec![del(json!({"scopes": [{"actions": ["crm.*.read"]}]}), "scope_invalid")],
    );
    f.case(
        "a max_depth over the agent's own limit",
        &["depth_exceeded"],
        vec![del(json!({"max_depth": 4}), "depth_exceeded")],
    );
    f.case(
        "a resource id that is not valid",
        &["invalid_argument"],
        vec![op("upsert_resource", json!({"id": "customer 42", "expect": {"error": "invalid_argument"}}))],
    );
    f.case(
        "an authority key that is not a key",
        &["key_invalid"],
        vec![op(
            "import_authority_key",
            json!({"key": {"alg": "ES256", "kid": "x", "d": "AAAA"}, "expect": {"error": "key_invalid"}}),
        )],
    );
    f.case(
        "an agent's key cannot become the authority's",
        &["key_invalid"],
        vec![op(
            "import_authority_key",
            json!({"key": f.setup["agents"][0]["secret_key"].clone(), "expect": {"error": "key_invalid"}}),
        )],
    );
    f.case(
        "a runtime for an issuer that is not a principal or URL",
        &["issuer_invalid"],
        vec![op("open", json!({"issuer": "acme corp", "expect": {"error": "issuer_invalid"}}))],
    );
    let bot = f.delegate(BOT, wide(), 900, None);
    let saved = |r: Value, effect: &str, reasons: &[&str], name: &str| {
        let mut s = check(&bot, r, effect, reasons);
        s["save_decision"] = json!(name);
        s
    };
    let outcome = |decision: &str, expect: Value| {
        op("record_outcome", json!({"decision": decision, "ok": true, "expect": expect}))
    };
    let refused = json!({"error": "outcome_invalid"});
    f.case(
        "one outcome per allowed decision: not for a denied one, not twice, not for an id never issued",
        &["outcome_invalid"],
        vec![
            saved(req("crm.read", "customer/42", json!({})), "allow", &["granted"], "allowed"),
            saved(req("files.delete", "customer/42", json!({})), "deny", &["action_not_granted"], "denied"),
            outcome("$denied", refused.clone()),
            outcome("01890000-0000-7000-8000-000000000000", refused.clone()),
            outcome("$allowed", json!({})),
            outcome("$allowed", refused),
        ],
    );
    f.finish()
}
