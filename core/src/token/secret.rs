//! The token string as a secret: redacted in `Debug`, compared in constant time, zeroized on drop.

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// A bearer token. Not `Clone` or `Serialize`; read it with [`Token::expose`].
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token string.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Token {}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}
