//! Delegation tokens: chains of JWS links (docs/ARCHITECTURE.md § Tokens), minted by [`crate::Runtime::delegate`]
//! and [`crate::Runtime::attenuate`], verified by [`crate::Runtime::verify`].

mod chain;
pub mod claims;
mod intern;
pub(crate) mod jws;
pub(crate) mod rules;
pub(crate) mod seal;
mod secret;
mod verify;

pub use chain::{VerifiedChain, VerifiedLink};
pub use intern::{Fresh, Interner, MAX_INTERNED_NAMES, MAX_INTERNED_SCOPE_SETS};
pub use secret::Token;
pub use verify::{
    check_times, verify_chain, AuthorityKeys, LEEWAY_SECONDS, MAX_JTI_LEN, MAX_LINKS, MAX_PURPOSE_LEN, MAX_TOKEN_BYTES,
};
pub(crate) use verify::{verify_chain_reusing, Reuse};

use std::sync::Arc;

/// Decodes every link's header and claims without verifying anything: for display only. The
/// seal (the last part, when it is not a link) is skipped, never shown.
pub fn inspect(token: &str) -> crate::Result<Vec<(serde_json::Value, serde_json::Value)>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(crate::err!(InputTooLarge, "token is {} bytes; the limit is {MAX_TOKEN_BYTES}", token.len()));
    }
    let token = token.trim();
    let links = seal::split(token).map(|(links, _)| links).unwrap_or(token);
    links
        .split('~')
        .enumerate()
        .map(|(i, link)| {
            let mut parts = link.split('.');
            let mut part = |name: &str| -> crate::Result<serde_json::Value> {
                let text = parts.next().unwrap_or_default();
                let bytes =
                    B64.decode(text).map_err(|_| crate::err!(TokenMalformed, "link {i} {name} is not base64url"))?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| crate::err!(TokenMalformed, "link {i} {name} is not json: {e}"))
            };
            Ok((part("header")?, part("claims")?))
        })
        .collect()
}

/// A credential an agent presents: the token and its verified chain.
///
/// The token is a bearer secret: `Debug` shows only the grant id, never the token.
pub struct Credential {
    token: Token,
    chain: Arc<VerifiedChain>,
}

impl Credential {
    pub(crate) fn new(token: Token, chain: Arc<VerifiedChain>) -> Self {
        Self { token, chain }
    }

    /// The token as sent over the wire. Treat it as a secret.
    pub fn token(&self) -> &str {
        self.token.expose()
    }

    /// The verified chain.
    pub fn chain(&self) -> &VerifiedChain {
        &self.chain
    }

    /// The shared verified chain.
    pub fn chain_arc(&self) -> Arc<VerifiedChain> {
        Arc::clone(&self.chain)
    }

    /// The leaf grant id.
    pub fn grant_id(&self) -> &str {
        self.chain.grant_id().unwrap_or_default()
    }

    /// When the credential expires (Unix seconds): the earliest `exp` of its links.
    pub fn expires_at(&self) -> i64 {
        self.chain.expires_at
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("grant_id", &self.grant_id())
            .field("actor", &self.chain.actor())
            .field("on_behalf_of", &self.chain.on_behalf_of)
            .field("expires_at", &self.chain.expires_at)
            .field("token", &"<redacted>")
            .finish()
    }
}
