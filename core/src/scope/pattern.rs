//! Action and resource patterns: syntax, matching and subsumption.
//!
//! Both kinds share one shape: `*`, an exact name, or a prefix ending in `<sep>*` where the
//! separator is `.` for actions and `/` for resources. Matching and subsumption go through
//! the same [`is_below`] test, so a parent prefix covers an exact child exactly when it would
//! match the child's name.

use crate::error::{Error, ErrorCode, Result};

use super::{preview, MAX_PATTERN_LEN};

/// Which list a pattern belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Dotted action names: segments of `[A-Za-z0-9_-]`.
    Action,
    /// `/`-separated resource names: segments of `[A-Za-z0-9._@:+-]`, never `.` or `..`.
    Resource,
}

impl Kind {
    fn sep(self) -> char {
        match self {
            Kind::Action => '.',
            Kind::Resource => '/',
        }
    }

    fn wildcard_suffix(self) -> &'static str {
        match self {
            Kind::Action => ".*",
            Kind::Resource => "/*",
        }
    }

    /// The word used in messages.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Kind::Action => "action",
            Kind::Resource => "resource",
        }
    }

    fn allowed(self) -> &'static str {
        match self {
            Kind::Action => "A-Z a-z 0-9 _ -",
            Kind::Resource => "A-Z a-z 0-9 . _ @ : + -",
        }
    }

    fn char_ok(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                Kind::Action => matches!(c, '_' | '-'),
                Kind::Resource => matches!(c, '.' | '_' | '@' | ':' | '+' | '-'),
            }
    }

    /// Why `seg` is not a valid segment, if it is not.
    fn segment_error(self, seg: &str) -> Option<String> {
        if seg.is_empty() {
            return Some("has an empty segment".to_owned());
        }
        if self == Kind::Resource && (seg == "." || seg == "..") {
            return Some(format!("has a `{seg}` segment"));
        }
        if seg.contains('*') {
            return Some("may use `*` only as the whole pattern or its whole last segment".to_owned());
        }
        seg.chars().find(|c| !self.char_ok(*c)).map(|bad| {
            let what = if bad.is_ascii() {
                format!("character `{}`", bad.escape_default())
            } else {
                "non-ascii characters".to_owned()
            };
            format!("contains {what}; allowed are {}", self.allowed())
        })
    }
}

/// A pattern, split into its form.
enum Form<'a> {
    /// `*`.
    All,
    /// `prefix<sep>*`, holding `prefix`.
    Below(&'a str),
    /// Anything else: matches itself only.
    Exact(&'a str),
}

fn form(kind: Kind, pattern: &str) -> Form<'_> {
    if pattern == "*" {
        Form::All
    } else if let Some(prefix) = pattern.strip_suffix(kind.wildcard_suffix()) {
        Form::Below(prefix)
    } else {
        Form::Exact(pattern)
    }
}

/// Whether `name` is a well-formed name strictly below `prefix` (`prefix<sep>rest`, with
/// every segment of `rest` valid).
fn is_below(kind: Kind, prefix: &str, name: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(kind.sep()))
        .is_some_and(|rest| rest.split(kind.sep()).all(|seg| kind.segment_error(seg).is_none()))
}

/// Checks the syntax and size of one pattern.
pub(crate) fn validate(kind: Kind, pattern: &str) -> Result<()> {
    let noun = kind.noun();
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(Error::new(
            ErrorCode::InputTooLarge,
            format!("{noun} pattern `{}` is longer than {MAX_PATTERN_LEN} bytes", preview(pattern)),
        ));
    }
    if pattern == "*" {
        return Ok(());
    }
    let body = pattern.strip_suffix(kind.wildcard_suffix()).unwrap_or(pattern);
    if let Some(why) = body.split(kind.sep()).find_map(|seg| kind.segment_error(seg)) {
        return Err(Error::new(ErrorCode::ScopeInvalid, format!("{noun} pattern `{}` {why}", preview(pattern))));
    }
    Ok(())
}

/// Whether `pattern` matches the requested `name`.
pub(crate) fn matches(kind: Kind, pattern: &str, name: &str) -> bool {
    match form(kind, pattern) {
        Form::All => true,
        Form::Below(prefix) => is_below(kind, prefix, name),
        Form::Exact(exact) => exact == name,
    }
}

/// Whether every name `child` matches is matched by `parent`.
pub(crate) fn subsumes(kind: Kind, parent: &str, child: &str) -> bool {
    match (form(kind, parent), form(kind, child)) {
        (Form::All, _) => true,
        (Form::Below(p), Form::Exact(q)) => is_below(kind, p, q),
        (Form::Below(p), Form::Below(q)) => p == q || is_below(kind, p, q),
        (Form::Exact(p), Form::Exact(q)) => p == q,
        (Form::Below(_) | Form::Exact(_), Form::All) | (Form::Exact(_), Form::Below(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_action_patterns() {
        for ok in ["*", "a", "a.b", "a.*", "a.b.*", "pay-ments_2.Refund", "x.y.z.*"] {
            assert!(validate(Kind::Action, ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "a.", ".a", "a..b", ".*", "*.a", "a*", "a.*.b", "a.**", "a/b", "a b", "é", "a.b*"] {
            let e = validate(Kind::Action, bad).err();
            assert_eq!(e.map(|e| e.code()), Some(ErrorCode::ScopeInvalid), "{bad:?}");
        }
    }

    #[test]
    fn validates_resource_patterns() {
        for ok in ["*", "customer", "customer/42", "customer/*", "a.b/c@d:e+f-g_h", "x/..y/.z"] {
            assert!(validate(Kind::Resource, ok).is_ok(), "{ok}");
        }
        for bad in ["", "/", "/a", "a/", "a//b", "/*", "*/a", "a*", "a/*/b", "a/.", "../a", "a/../b", "a b", "a.*"] {
            let e = validate(Kind::Resource, bad).err();
            assert_eq!(e.map(|e| e.code()), Some(ErrorCode::ScopeInvalid), "{bad:?}");
        }
    }

    #[test]
    fn pattern_length_bound() {
        let edge = "a".repeat(MAX_PATTERN_LEN);
        let over = "a".repeat(MAX_PATTERN_LEN + 1);
        for kind in [Kind::Action, Kind::Resource] {
            assert!(validate(kind, &edge).is_ok());
            assert_eq!(validate(kind, &over).err().map(|e| e.code()), Some(ErrorCode::InputTooLarge));
        }
    }

    #[test]
    fn matching() {
        let a = Kind::Action;
        assert!(matches(a, "*", "anything at all"));
        assert!(matches(a, "*", "*"));
        assert!(matches(a, "a.b", "a.b"));
        assert!(!matches(a, "a.b", "a.b.c"));
        assert!(matches(a, "a.b.*", "a.b.c"));
        assert!(matches(a, "a.b.*", "a.b.c.d"));
        assert!(!matches(a, "a.b.*", "a.b"));
        assert!(!matches(a, "a.b.*", "a.bc"));
        assert!(!matches(a, "a.b.*", "a.b."));
        assert!(!matches(a, "a.b.*", "a.b..c"));
        assert!(!matches(a, "a.b.*", "a.b.*"), "a literal `*` name only matches `*`");
        assert!(!matches(a, "a.b", "*"));
        let r = Kind::Resource;
        assert!(matches(r, "customer/*", "customer/42/orders"));
        assert!(!matches(r, "customer/*", "customer"));
        assert!(!matches(r, "customer/*", "customer/../admin"));
        assert!(!matches(r, "customer/*", "customer/./x"));
        assert!(!matches(r, "customer/*", "customer//x"));
        assert!(matches(r, "customer/*", "customer/.x"));
    }

    #[test]
    fn subsumption() {
        let a = Kind::Action;
        assert!(subsumes(a, "*", "*"));
        assert!(subsumes(a, "*", "a.*"));
        assert!(subsumes(a, "a.*", "a.b"));
        assert!(subsumes(a, "a.*", "a.b.c"));
        assert!(subsumes(a, "a.*", "a.*"));
        assert!(subsumes(a, "a.*", "a.b.*"));
        assert!(!subsumes(a, "a.*", "a"));
        assert!(!subsumes(a, "a.*", "ab"));
        assert!(!subsumes(a, "a.*", "ab.*"));
        assert!(!subsumes(a, "a.*", "*"));
        assert!(!subsumes(a, "a.b.*", "a.*"));
        assert!(subsumes(a, "a.b", "a.b"));
        assert!(!subsumes(a, "a.b", "a.b.*"));
        assert!(!subsumes(a, "a.b", "a.c"));
        assert!(!subsumes(a, "a.b", "*"));
        let r = Kind::Resource;
        assert!(subsumes(r, "customer/*", "customer/42"));
        assert!(subsumes(r, "customer/*", "customer/42/*"));
        assert!(!subsumes(r, "customer/*", "customer"));
        assert!(!subsumes(r, "customer/*", "customer/../admin"));
    }
}
