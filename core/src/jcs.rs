//! RFC 8785 JSON Canonicalization Scheme: sorted keys (by UTF-16 code units), no whitespace,
//! ECMAScript number formatting, minimal string escapes. One writer for every canonical text
//! the crate hashes or signs: approval action hashes ([`crate::approval::action_hash`]) and
//! the audit log's lines and their hashes (`audit/line.rs`).

use serde_json::Value;

/// The canonical form of `value`.
pub fn canonicalize(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Integers of up to 2^53 print as their digits, as ECMAScript prints them.
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= 1 << 53 => push_i64(out, i),
            _ => write_number(n.as_f64().unwrap_or(f64::NAN), out),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

/// Writes the canonical form of a JSON object.
pub fn write_object(map: &serde_json::Map<String, Value>, out: &mut String) {
    // Maps keep their insertion order; one given in key order is written as it is.
    if map.keys().zip(map.keys().skip(1)).all(|(a, b)| key_order(a, b).is_lt()) {
        write_members(map.iter(), out);
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_by(|a, b| key_order(a.0, b.0));
        write_members(members.into_iter(), out);
    }
}

/// RFC 8785's order of member names: by their UTF-16 code units.
pub fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Writes `{"k":v,…}` from members already in [`key_order`].
pub fn write_members<'a>(members: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut String) {
    out.push('{');
    for (i, (key, v)) in members.enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out);
        out.push(':');
        write_value(v, out);
    }
    out.push('}');
}

/// Writes `s` as a JSON string with the minimal escapes of RFC 8785.
pub fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs an escape (the usual case: ids, names).
        if let Some(word) = bytes.get(i..i + 8) {
            if !word_needs_escape(u64::from_le_bytes(word.try_into().unwrap_or_default())) {
                i += 8;
                continue;
            }
        }
        let b = bytes.get(i).copied().unwrap_or_default();
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            b if b < 0x20 => "",
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(s.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        i += 1;
        plain = i;
    }
    out.push_str(s.get(plain..).unwrap_or_default());
    out.push('"');
}

/// Whether any of the eight bytes of `w` is a control character, `"` or `\\` (bit tricks:
/// a byte below `n` sets its high bit in `(w - n·0x01…) & !w & 0x80…`, exactly when some byte
/// is below `n`; a byte equal to `c` is a zero byte of `w ^ c·0x01…`).
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |v: u64, n: u64| v.wrapping_sub(n * ONES) & !v & HIGH != 0;
    below(w, 0x20) || below(w ^ (u64::from(b'"') * ONES), 1) || below(w ^ (u64::from(b'\\') * ONES), 1)
}

/// Writes the canonical form of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    write_value(value, out);
}

/// ECMAScript `Number.prototype.toString` for finite numbers (JSON has no others).
pub fn format_number(x: f64) -> String {
    let mut out = String::new();
    write_number(x, &mut out);
    out
}

/// Writes `x` as ECMAScript's `Number.prototype.toString` does (RFC 8785 §3.2.2.3), with no
/// allocation: integers below 2^53 directly, others from the shortest round-trip digits.
pub fn write_number(x: f64, out: &mut String) {
    if x == 0.0 || !x.is_finite() {
        out.push('0');
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    let x = x.abs();
    if x.fract() == 0.0 && x < 9_007_199_254_740_992.0 {
        // An exact integer: its digits are its shortest form and ES6 prints no exponent.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a whole number below 2^53")]
        push_u64(out, x as u64);
        return;
    }
    // `{:e}` gives the shortest round-trip digits: `d.ddde±x`.
    let mut sci = Stack::default();
    let _ = std::fmt::Write::write_fmt(&mut sci, format_args!("{x:e}"));
    let sci = sci.as_str();
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let mut digits = Stack::default();
    for c in mantissa.chars().filter(char::is_ascii_digit) {
        digits.push(c);
    }
    let digits = digits.as_str();
    let exp: i64 = exp.parse().unwrap_or(0);
    let k = i64::try_from(digits.len()).unwrap_or(1);
    let n = exp + 1;
    let zeros = |out: &mut String, count: i64| {
        for _ in 0..count {
            out.push('0');
        }
    };
    if k <= n && n <= 21 {
        out.push_str(digits);
        zeros(out, n - k);
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0).min(digits.len());
        let (int, frac) = digits.split_at(split);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        zeros(out, -n);
        out.push_str(digits);
    } else {
        let e = n - 1;
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push_str(if e < 0 { "e-" } else { "e+" });
        push_u64(out, e.unsigned_abs());
    }
}

/// Writes `v` in decimal.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            #[allow(clippy::cast_possible_truncation, reason = "a digit")]
            let digit = (v % 10) as u8;
            *slot = b'0' + digit;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default());
}

/// Writes `v` in decimal, with its sign.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// A short text on the stack (a float's digits in scientific notation: at most 24 bytes).
#[derive(Default)]
struct Stack {
    buf: [u8; 32],
    len: usize,
}

impl Stack {
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
    fn push(&mut self, c: char) {
        let _ = std::fmt::Write::write_char(self, c);
    }
}

impl std::fmt::Write for Stack {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time writer the word-at-a-time one must match.
    fn write_string_bytewise(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn strings_escape_the_same_at_every_position_and_length() {
        let specials = ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é', '€', '😀', 'a', '!', '#', '[', ']'];
        for len in 0..20 {
            for (k, special) in specials.iter().enumerate() {
                for at in 0..len.max(1) {
                    let s: String = (0..len)
                        .map(|i| if i == at { *special } else { char::from(b'a' + ((i + k) % 26) as u8) })
                        .collect();
                    let mut out = String::new();
                    write_string(&s, &mut out);
                    assert_eq!(out, write_string_bytewise(&s), "{s:?}");
                }
            }
        }
        // Every byte value that can stand alone in UTF-8, in every slot of a word.
        for c in (0u32..0x80).filter_map(char::from_u32) {
            for at in 0..9 {
                let s: String = (0..9).map(|i| if i == at { c } else { 'x' }).collect();
                let mut out = String::new();
                write_string(&s, &mut out);
                assert_eq!(out, write_string_bytewise(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn rfc8785_sample_object() {
        // RFC 8785 §3.2.2 / appendix: input and expected canonical form.
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            canonicalize(&v),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_number_formatting() {
        // From the RFC's appendix B table (IEEE 754 value → ES6 string).
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (f64::from_bits(0x0000_0000_0000_0001), "5e-324"),
            (f64::from_bits(0x8000_0000_0000_0001), "-5e-324"),
            (f64::from_bits(0x7fef_ffff_ffff_ffff), "1.7976931348623157e+308"),
            (f64::from_bits(0x4340_0000_0000_0000), "9007199254740992"),
            (f64::from_bits(0x4430_0000_0000_0000), "295147905179352830000"),
            (f64::from_bits(0x44b5_2d02_c7e1_4af6), "1e+23"),
            (f64::from_bits(0x44b5_2d02_c7e1_4af5), "9.999999999999997e+22"),
            (f64::from_bits(0x3eb0_c6f7_a0b5_ed8d), "0.000001"),
            (f64::from_bits(0x3eb0_c6f7_a0b5_ed8c), "9.999999999999997e-7"),
            (f64::from_bits(0x41b3_de43_5555_5553), "333333333.3333332"),
            (595_700.0, "595700"),
            (f64::from_bits(0x444b_1ae4_d6e2_ef50), "1e+21"),
            (f64::from_bits(0x444b_1ae4_d6e2_ef4f), "999999999999999900000"),
            (1e-7, "1e-7"),
            (123.0, "123"),
            (-1.5, "-1.5"),
        ];
        for (x, want) in cases {
            assert_eq!(format_number(*x), *want, "{x:e}");
        }
    }

    /// The layout of ES6 `Number.prototype.toString`, spelled out with allocations: the
    /// reference the allocation-free writer must match.
    fn reference_number(x: f64) -> String {
        if x == 0.0 || !x.is_finite() {
            return "0".to_owned();
        }
        let sci = format!("{:e}", x.abs());
        let (mantissa, exp) = sci.split_once('e').unwrap();
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let n = exp.parse::<i64>().unwrap() + 1;
        let k = i64::try_from(digits.len()).unwrap();
        let body = if k <= n && n <= 21 {
            format!("{digits}{}", "0".repeat(usize::try_from(n - k).unwrap()))
        } else if 0 < n && n <= 21 {
            let (int, frac) = digits.split_at(usize::try_from(n).unwrap());
            format!("{int}.{frac}")
        } else if -6 < n && n <= 0 {
            format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap()))
        } else {
            let (first, rest) = digits.split_at(1);
            let dot = if rest.is_empty() { String::new() } else { format!(".{rest}") };
            format!("{first}{dot}e{}{}", if n - 1 < 0 { "-" } else { "+" }, (n - 1).abs())
        };
        format!("{}{body}", if x < 0.0 { "-" } else { "" })
    }

    #[test]
    fn number_writer_matches_the_reference_layout() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values: Vec<f64> = vec![1.0, -7.0, 9_007_199_254_740_991.0, 9_007_199_254_740_993.0, 1e21, 1e-6, 0.231];
        for _ in 0..20_000 {
            let bits = next();
            values.push(f64::from_bits(bits));
            #[allow(clippy::cast_precision_loss, reason = "test values")]
            values.push((bits >> (bits % 64)) as f64 * if bits & 1 == 0 { 1.0 } else { -1.0 });
            #[allow(clippy::cast_precision_loss, reason = "test values")]
            values.push((bits % 1_000_000) as f64 / 1000.0);
        }
        for x in values.into_iter().filter(|x| x.is_finite()) {
            let got = format_number(x);
            assert_eq!(got, reference_number(x), "{x:e}");
            assert_eq!(got.parse::<f64>().unwrap(), x, "{got} does not round-trip");
        }
        let mut out = String::new();
        push_i64(&mut out, i64::MIN);
        assert_eq!(out, i64::MIN.to_string());
    }

    #[test]
    fn keys_sort_by_utf16_and_types_stay_distinct() {
        let v = serde_json::json!({"b": 1, "a": {"z": [1, "1"], "é": true, "\u{10000}": 1, "\u{ffff}": 2}});
        assert_eq!(canonicalize(&v), "{\"a\":{\"z\":[1,\"1\"],\"é\":true,\"\u{10000}\":1,\"\u{ffff}\":2},\"b\":1}");
        assert_ne!(canonicalize(&serde_json::json!({"a": 7})), canonicalize(&serde_json::json!({"a": "7"})));
        // Maps keep insertion order: one already in order, and one in UTF-8 (not UTF-16) order.
        assert_eq!(canonicalize(&serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}})), r#"{"a":1,"b":{"c":2,"d":3}}"#);
        assert_eq!(
            canonicalize(&serde_json::json!({"\u{ffff}": 2, "\u{10000}": 1})),
            "{\"\u{10000}\":1,\"\u{ffff}\":2}"
        );
        assert_eq!(canonicalize(&serde_json::json!({"b": 1, "a": 2, "c": 3})), r#"{"a":2,"b":1,"c":3}"#);
        assert_eq!(canonicalize(&serde_json::json!({"a": 7})), canonicalize(&serde_json::json!({"a": 7.0})));
    }
}
