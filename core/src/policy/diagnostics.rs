//! Load errors with `file:line:col`, and the one class of validator error that open
//! attributes make expected.

use std::collections::BTreeMap;

use cedar_policy::ffi::DetailedError;
use cedar_policy::ValidationError;

use super::hints::Field;
use super::PolicySource;
use crate::error::{Error, ErrorCode};

/// The most problems listed in one load error; the rest are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// An error for policy text that does not load.
pub(crate) fn policy_invalid(message: String) -> Error {
    Error::new(ErrorCode::PolicyInvalid, message)
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut col) = (1, 1);
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Problems found while loading, each at a byte offset of a source.
pub(crate) struct Problems<'s> {
    sources: &'s [PolicySource],
    items: Vec<(usize, usize, String)>,
}

impl<'s> Problems<'s> {
    pub(crate) fn new(sources: &'s [PolicySource]) -> Self {
        Self { sources, items: Vec::new() }
    }

    /// `file:line:col` of an offset in source `source`.
    pub(crate) fn location(&self, source: usize, offset: usize) -> String {
        match self.sources.get(source) {
            Some(s) => {
                let (line, col) = line_col(&s.text, offset);
                format!("{}:{line}:{col}", s.name)
            }
            None => "<unknown>".to_owned(),
        }
    }

    pub(crate) fn push(&mut self, source: usize, offset: usize, message: String) {
        self.items.push((source, offset, message));
    }

    /// Adds a Cedar diagnostic: its message, label texts and help, at its first label (an
    /// offset from `base`, where the text Cedar parsed starts in the source).
    pub(crate) fn push_detailed(&mut self, source: usize, base: usize, d: &DetailedError) {
        let mut message = d.message.clone();
        for label in d.source_locations.iter().filter_map(|l| l.label.as_deref()) {
            message.push_str("; ");
            message.push_str(label);
        }
        if let Some(help) = &d.help {
            message.push_str("; help: ");
            message.push_str(help);
        }
        let offset = base + d.source_locations.first().map_or(0, |l| l.loc.start);
        self.push(source, offset, message);
    }

    /// `Ok` when nothing was found; else one error listing the problems in file order.
    pub(crate) fn into_result(mut self) -> crate::error::Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        // One problem per place: the validator repeats an error for each action a policy
        // applies to, and a second error on the same expression is seen once the first is fixed.
        self.items.sort();
        self.items.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let total = self.items.len();
        let mut lines: Vec<String> = self
            .items
            .iter()
            .take(MAX_REPORTED_PROBLEMS)
            .map(|(s, o, m)| format!("{}: {m}", self.location(*s, *o)))
            .collect();
        if total > MAX_REPORTED_PROBLEMS {
            lines.push(format!("… and {} more", total - MAX_REPORTED_PROBLEMS));
        }
        Err(policy_invalid(lines.join("\n")))
    }
}

/// Whether a validation error only says that a policy reads an attribute the schema leaves
/// open: an undeclared attribute of `Agent` or `Resource`, a key of `context.env` or
/// `context.risk`, or an argument of an action whose arguments are not declared.
///
/// Cedar reports these as `UnsafeAttributeAccess`, whose details are public only through its
/// message: `for policy `<id>`, attribute `<chain>` on entity type `Agent` not found` or
/// `... attribute `<chain>` in context for Action::"<action>" not found`. The message is
/// parsed exactly; anything unexpected keeps the error (so a Cedar upgrade that changes the
/// wording makes open-attribute policies fail to load, loudly, rather than pass unchecked).
pub(crate) fn is_open_attribute_error(
    err: &ValidationError,
    declared: &BTreeMap<String, BTreeMap<String, Field>>,
) -> bool {
    let Some(rest) = missing_attribute(err) else {
        return false;
    };
    let Some((segments, tail)) = parse_chain(&rest) else {
        return false;
    };
    match (tail, segments.as_slice()) {
        (" on entity type `Agent`" | " on entity type `Resource`", [_]) => true,
        (_, [first, _]) => {
            let Some(action) = tail.strip_prefix(" in context for Action::\"").and_then(|t| t.strip_suffix('"')) else {
                return false;
            };
            match *first {
                "env" | "risk" => true,
                "args" => !declared.contains_key(action),
                _ => false,
            }
        }
        _ => false,
    }
}

/// For an `UnsafeAttributeAccess` error, its message between `attribute `` and ` not found`:
/// the attribute chain, a backtick, and where it was looked up (`` on entity type `Agent` ``).
pub(crate) fn missing_attribute(err: &ValidationError) -> Option<String> {
    let ValidationError::UnsafeAttributeAccess(inner) = err else {
        return None;
    };
    let message = inner.to_string();
    let prefix = format!("for policy `{}`, attribute `", inner.policy_id());
    message.strip_prefix(&prefix).and_then(|r| r.strip_suffix(" not found")).map(str::to_owned)
}

/// Splits Cedar's rendering of an attribute chain (`args.amount`, `["pci-x"]`, `a["b c"].d`)
/// ending with a backtick into its segments and the text after the backtick.
fn parse_chain(mut s: &str) -> Option<(Vec<&str>, &str)> {
    let mut segments = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('`') {
            return (!segments.is_empty()).then_some((segments, rest));
        }
        if let Some(rest) = s.strip_prefix("[\"") {
            let end = quoted_end(rest)?;
            segments.push(rest.get(..end)?);
            s = rest.get(end + 2..)?;
            continue;
        }
        let body = if segments.is_empty() { s } else { s.strip_prefix('.')? };
        let len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
        if len == 0 {
            return None;
        }
        segments.push(body.get(..len)?);
        s = body.get(len..)?;
    }
}

/// The byte index of the `"` that closes an escaped string followed by `]`.
fn quoted_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' if s.get(i + 1..)?.starts_with(']') => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_parse() {
        assert_eq!(parse_chain("args.amount` x"), Some((vec!["args", "amount"], " x")));
        assert_eq!(parse_chain("[\"pci-x\"]`"), Some((vec!["pci-x"], "")));
        assert_eq!(parse_chain("a[\"b\\\"]`\"].c`t"), Some((vec!["a", "b\\\"]`", "c"], "t")));
        assert_eq!(parse_chain("`"), None);
        assert_eq!(parse_chain("a..b`"), None);
    }

    #[test]
    fn line_col_counts_chars() {
        let text = "ab\ncé\nx";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 7), (3, 1));
        assert_eq!(line_col(text, 6), (2, 3));
    }
}
