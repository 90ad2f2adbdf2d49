//! Durations written as `90s`, `15m`, `2h`, `1d` (or a plain number of seconds).

use crate::error::{Error, ErrorCode, Result};
use crate::principal::preview;

/// Parses a duration into whole seconds. Accepts `<n>s|m|h|d` or a bare number of seconds;
/// the result must be at least one second.
pub fn parse_duration(s: &str) -> Result<u64> {
    let bad = || {
        Error::new(
            ErrorCode::TtlInvalid,
            format!("duration `{}` must look like `90s`, `15m`, `2h` or `1d`", preview(s)),
        )
    };
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (s.get(..i).ok_or_else(bad)?, s.get(i..).ok_or_else(bad)?),
        None => (s, "s"),
    };
    if digits.is_empty() || digits.len() > 12 {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(mult).ok_or_else(bad)?;
    if secs == 0 {
        return Err(Error::new(ErrorCode::TtlInvalid, format!("duration `{}` must be positive", preview(s))));
    }
    Ok(secs)
}

/// Formats seconds compactly (`15m`, `2h`, `90s`).
pub fn format_duration(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_refuses_junk() {
        assert_eq!(parse_duration("15m").ok(), Some(900));
        assert_eq!(parse_duration("90s").ok(), Some(90));
        assert_eq!(parse_duration("2h").ok(), Some(7200));
        assert_eq!(parse_duration("1d").ok(), Some(86_400));
        assert_eq!(parse_duration("30").ok(), Some(30));
        for bad in ["", "m", "0s", "-5m", "5w", "1.5h", "99999999999999m", "5 m x"] {
            assert_eq!(parse_duration(bad).err().map(|e| e.code()), Some(ErrorCode::TtlInvalid), "{bad}");
        }
        assert_eq!(format_duration(900), "15m");
        assert_eq!(format_duration(61), "61s");
    }
}
