//! Splitting a policy file into its statements, so each is parsed on its own.
//!
//! Parsing each statement separately keeps Cedar's source locations small: the validator
//! hashes expressions together with their location, whose source is the text that was
//! parsed, so one parse of a large file makes validation of each policy cost the size of the
//! whole file. In Cedar policy syntax a `;` outside a string literal and a `//` comment only
//! ever ends a statement, so the split needs no parser.

/// A statement: `start..end` in the file (from just after the previous `;` through its own
/// `;`), and `begin`, where its first token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) start: usize,
    pub(crate) begin: usize,
    pub(crate) end: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    String { escaped: bool },
    Comment,
}

/// The statements of `text`, in order. Text after the last `;` is a statement too when it
/// holds anything but blanks and comments (it then fails to parse, with its location).
pub(crate) fn statements(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut state = State::Code;
    let mut start = 0;
    let mut begin: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        state = match (state, c) {
            (State::Comment, '\n') => State::Code,
            (State::Comment, _) => State::Comment,
            (State::String { escaped: false }, '\\') => State::String { escaped: true },
            (State::String { escaped: false }, '"') => State::Code,
            (State::String { .. }, _) => State::String { escaped: false },
            (State::Code, '/') if chars.peek().is_some_and(|(_, n)| *n == '/') => State::Comment,
            (State::Code, c) if c.is_whitespace() => State::Code,
            (State::Code, c) => {
                begin.get_or_insert(i);
                match c {
                    '"' => State::String { escaped: false },
                    ';' => {
                        let end = i + 1;
                        out.push(Statement { start, begin: begin.unwrap_or(i), end });
                        start = end;
                        begin = None;
                        State::Code
                    }
                    _ => State::Code,
                }
            }
        };
    }
    if let Some(begin) = begin {
        out.push(Statement { start, begin, end: text.len() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str) -> Vec<(&str, &str)> {
        statements(t).iter().map(|s| (&t[s.start..s.end], &t[s.begin..s.end])).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let t = "// a; comment\npermit (p, a, r) when { \"x;\\\";//\" };\n\n@id(\"b;\") forbid (p, a, r); // tail;\n";
        let got = texts(t);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, "permit (p, a, r) when { \"x;\\\";//\" };");
        assert_eq!(got[1].1, "@id(\"b;\") forbid (p, a, r);");
        assert!(got[1].0.starts_with("\n\n@id"));
    }

    #[test]
    fn trailing_text_is_a_statement_only_if_it_holds_code() {
        assert_eq!(texts("permit (p, a, r);\n// done\n  ").len(), 1);
        assert_eq!(texts("permit (p, a, r);\npermit (").last().map(|s| s.1), Some("permit ("));
        assert_eq!(texts("  \"unterminated ; string").len(), 1);
        assert!(texts("").is_empty());
    }
}
