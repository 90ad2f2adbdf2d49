//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use runtime_identity::Algorithm;

/// Identity, scoped delegation and verification for AI agents.
#[derive(Debug, Parser)]
#[command(name = "rid", version, about)]
pub struct Cli {
    /// Runtime folder (default: $RUNTIME_IDENTITY_HOME, else ./.runtime-identity).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or open) the runtime folder and the authority's key.
    Init(InitArgs),
    /// Register agents and manage their lifecycle.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Grant scopes to an agent on behalf of a principal (prints the token).
    Delegate(DelegateArgs),
    /// Narrow a credential for a sub-agent, signed by the credential's agent.
    Attenuate(AttenuateArgs),
    /// Revoke a grant (by its id, or the leaf grant of a token) and every grant attenuated from it.
    Revoke(RevokeArgs),
    /// Inspect or verify tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the authority's public keys as a JWKS.
    Jwks,
    /// Manage the authority's signing keys.
    #[command(subcommand)]
    Authority(AuthorityCommand),
    /// Check one call: credential, scope, policies, limits, approval.
    Check(CheckArgs),
    /// Validate Cedar policy files against the schema.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Approve a pending approval request (prints the signed receipt).
    Approve(ApproveArgs),
    /// Show or deny approval requests.
    #[command(subcommand)]
    Approval(ApprovalCommand),
    /// Register resources with their data class and attributes.
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Verify, read, explain and export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain, every checkpoint signature and the store's checkpoint
    /// (exit status 4 if the log was tampered with).
    Verify,
    /// Print the newest events.
    Tail(TailArgs),
    /// Print the provenance of one decision: chain, policies, approval, outcome.
    Explain(ExplainArgs),
    /// Export events as W3C PROV-JSON or as the stored JSON Lines.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// How many events.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub lines: usize,
    /// Keep printing new events as they are appended.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The decision id (from a check).
    pub decision_id: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// W3C PROV-JSON: one activity per call.
    ProvJson,
    /// The log's lines as stored (they still verify).
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// From this time: RFC 3339, Unix seconds, or a duration ago (`15m`).
    #[arg(long)]
    pub since: Option<String>,
    /// Before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this agent's events.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only events on behalf of this principal.
    #[arg(long)]
    pub on_behalf_of: Option<String>,
    /// Only this action.
    #[arg(long)]
    pub action: Option<String>,
    /// Only decisions with this effect (allow, deny, require_approval).
    #[arg(long)]
    pub effect: Option<String>,
    /// Only this decision's events.
    #[arg(long)]
    pub decision_id: Option<String>,
    /// Only events of this type (decision, outcome, grant.issued, …).
    #[arg(long = "type")]
    pub r#type: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub token: TokenInput,
    /// The action, e.g. `payments.refund`.
    #[arg(long)]
    pub action: String,
    /// The resource, e.g. `customer/42`.
    #[arg(long)]
    pub resource: Option<String>,
    /// The arguments as a JSON object (or @file).
    #[arg(long)]
    pub args: Option<String>,
    /// The call context as JSON (or @file): env, risk, txn, resource.
    #[arg(long)]
    pub context: Option<String>,
    /// An approval receipt (visible in the process list: prefer `--approval-file`).
    #[arg(long, conflicts_with = "approval_file")]
    pub approval: Option<String>,
    /// Read the approval receipt from this file.
    #[arg(long)]
    pub approval_file: Option<PathBuf>,
    /// A proof of possession.
    #[arg(long)]
    pub proof: Option<String>,
}

/// How every command that takes a token reads it: the positional argument, `--token`, or
/// `--token-file FILE`, at most one of them; `-` in any of the three, or none of them, reads
/// standard input. An argument is visible to every user of the machine (`ps`): a file or
/// standard input keeps the token out of the process list. Read by `token::read_token`.
#[derive(Debug, Args)]
#[group(id = "token_source", multiple = false)]
pub struct TokenInput {
    /// The token; `-` or nothing: read it from standard input. Visible to other users in the
    /// process list: prefer standard input or `--token-file`.
    #[arg(value_name = "TOKEN")]
    pub positional: Option<String>,
    /// The token, as an option (same as the positional `TOKEN`).
    #[arg(long = "token", value_name = "TOKEN")]
    pub flag: Option<String>,
    /// Read the token from this file (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate files (or folders of `*.cedar`); with none, the runtime folder's `policies/`.
    Validate {
        /// Files or folders.
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The approval request id.
    pub request_id: String,
    /// The approving user, `user:…`: the person the agent acts for or the agent's owner,
    /// unless the organisation's `rid.approve` rules say who may.
    #[arg(long)]
    pub approver: String,
    /// The approver's attributes as a JSON object (or @file), as `rid.approve` rules read them.
    #[arg(long)]
    pub attributes: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApprovalCommand {
    /// Show one approval request.
    Show {
        /// Request id.
        request_id: String,
    },
    /// Deny a pending request.
    Deny {
        /// Request id.
        request_id: String,
        /// The denying user, `user:…`.
        #[arg(long)]
        approver: String,
        /// The approver's attributes as a JSON object (or @file).
        #[arg(long)]
        attributes: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCommand {
    /// Register or replace a resource.
    Upsert {
        /// Resource id, e.g. `customer/77`.
        id: String,
        /// Data class, e.g. `pci`.
        #[arg(long)]
        data_class: Option<String>,
        /// Attributes as a JSON object (or @file).
        #[arg(long)]
        attributes: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The trust domain's issuer, e.g. `org:acme` (default `org:local`).
    #[arg(long)]
    pub issuer: Option<String>,
    /// Algorithm of new keys.
    #[arg(long, value_parser = parse_alg)]
    pub alg: Option<Algorithm>,
}

pub fn parse_alg(s: &str) -> Result<Algorithm, String> {
    Algorithm::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Register an agent with an accountable owner.
    Register(RegisterArgs),
    /// List agents.
    List {
        /// Only this owner's agents.
        #[arg(long)]
        owner: Option<String>,
        /// Only agents in this status (active, suspended, revoked).
        #[arg(long)]
        status: Option<String>,
    },
    /// Show one agent.
    Show {
        /// Agent id.
        id: String,
    },
    /// Suspend an agent (its credentials are refused until resumed).
    Suspend {
        /// Agent id.
        id: String,
    },
    /// Resume a suspended agent.
    Resume {
        /// Agent id.
        id: String,
    },
    /// Revoke an agent for good.
    Revoke {
        /// Agent id.
        id: String,
    },
    /// Give an agent a new key; the old one is retired.
    RotateKey {
        /// Agent id.
        id: String,
        /// Register this public JWK (JSON, or @file) instead of generating a key.
        #[arg(long)]
        public_key: Option<String>,
        /// The old key is compromised: also revoke every grant bound to it (and their sub-grants).
        #[arg(long)]
        compromised: bool,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Agent id, `agent:…`.
    pub id: String,
    /// The accountable user or team, e.g. `user:alice@acme`.
    #[arg(long)]
    pub owner: String,
    /// Organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// Attributes as a JSON object (or @file).
    #[arg(long)]
    pub attributes: Option<String>,
    /// How many further delegations its grants may allow (default 2).
    #[arg(long)]
    pub max_delegation_depth: Option<u32>,
    /// Register only this public JWK (JSON, or @file); the agent keeps its private key.
    #[arg(long)]
    pub public_key: Option<String>,
    /// Algorithm of a generated key.
    #[arg(long, value_parser = parse_alg)]
    pub alg: Option<Algorithm>,
}

#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// The agent receiving the grant.
    #[arg(long)]
    pub to: String,
    /// The principal on whose behalf it acts.
    #[arg(long)]
    pub on_behalf_of: String,
    /// A scope as JSON (or @file), repeatable: {"actions":[…],"resources":[…],…}.
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    /// Lifetime, e.g. 15m, 2h (default 15m).
    #[arg(long)]
    pub ttl: Option<String>,
    /// Why the grant is made.
    #[arg(long)]
    pub purpose: Option<String>,
    /// How deep the chain may grow.
    #[arg(long)]
    pub max_depth: Option<u32>,
}

#[derive(Debug, Args)]
pub struct AttenuateArgs {
    /// The parent token.
    #[command(flatten)]
    pub token: TokenInput,
    /// The sub-agent.
    #[arg(long)]
    pub to: String,
    /// A scope as JSON (or @file), repeatable; each must be covered by the parent's.
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    /// Lifetime (default 15m, cut to the parent's expiry).
    #[arg(long)]
    pub ttl: Option<String>,
    /// Why.
    #[arg(long)]
    pub purpose: Option<String>,
    /// How deep the chain may grow from here.
    #[arg(long)]
    pub max_depth: Option<u32>,
    /// The parent agent's private key file, when the store does not hold it.
    #[arg(long)]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(mut_arg("positional", |a| a.value_name("GRANT_ID|TOKEN").help(
    "The grant id (`jti`) to revoke, or a token: its leaf grant is revoked; `-` or nothing: a token from standard input"
)))]
pub struct RevokeArgs {
    /// What to revoke: a grant id, or a token (any of the ways a token is given).
    #[command(flatten)]
    pub target: TokenInput,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Decode a token's links without verifying them.
    Inspect(TokenInput),
    /// Verify a token against this runtime: signatures, chain rules, times, revocation, status.
    Verify(TokenInput),
}

#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// List the authority's keys.
    Keys,
    /// Start signing with a new key; the old one keeps verifying.
    RotateKey {
        /// Algorithm of the new key.
        #[arg(long, value_parser = parse_alg)]
        alg: Option<Algorithm>,
    },
    /// Remove a retired key: tokens it signed stop verifying.
    RemoveKey {
        /// Key id.
        kid: String,
    },
}
