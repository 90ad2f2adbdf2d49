//! Exact numeric comparison of JSON numbers.
//!
//! Integers compare exactly as integers (also beyond 2^53), floats as floats, and an integer
//! against a float by their mathematical values, so `1 == 1.0` and `2^53 + 1 > 2^53 as f64`.

use std::cmp::Ordering;

use serde_json::Number;

/// A JSON number, as an exact integer when it is one.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::Int(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        Num::Int(i128::from(u))
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Compares an integer with a float by mathematical value; `None` for NaN.
fn cmp_int_float(i: i128, f: f64) -> Option<Ordering> {
    // Rounding is monotonic, so a strict order after rounding `i` holds before it too.
    let rough = (i as f64).partial_cmp(&f)?;
    if rough != Ordering::Equal {
        return Some(rough);
    }
    // `f` equals `i` rounded: either `i` was exact (so `f == i`) or `|f| >= 2^53`, where every
    // float is an integer that fits an i128 exactly.
    Some(i.cmp(&(f as i128)))
}

/// Compares two JSON numbers by value; `None` only for values no JSON number holds (NaN).
pub(crate) fn cmp_num(a: &Number, b: &Number) -> Option<Ordering> {
    match (num(a), num(b)) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// `a == b` by value.
pub(crate) fn num_eq(a: &Number, b: &Number) -> bool {
    cmp_num(a, b) == Some(Ordering::Equal)
}

/// `a <= b` by value.
pub(crate) fn num_le(a: &Number, b: &Number) -> bool {
    matches!(cmp_num(a, b), Some(Ordering::Less | Ordering::Equal))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn compares_by_value() {
        assert!(num_eq(&n("1"), &n("1.0")));
        assert!(num_eq(&n("-0.0"), &n("0")));
        assert!(num_le(&n("-1"), &n("0.5")));
        assert!(!num_le(&n("1.5"), &n("1")));
        assert!(num_le(&n("18446744073709551615"), &n("18446744073709551615")));
        assert!(!num_le(&n("18446744073709551615"), &n("-9223372036854775808")));
        assert_eq!(cmp_num(&n("1e300"), &n("18446744073709551615")), Some(Ordering::Greater));
    }

    #[test]
    fn large_integers_compare_exactly() {
        // 2^53 + 1 is not a float; rounding it would make it equal to 2^53.
        assert_eq!(cmp_num(&n("9007199254740993"), &n("9007199254740992")), Some(Ordering::Greater));
        assert_eq!(cmp_num(&n("9007199254740993"), &n("9007199254740992.0")), Some(Ordering::Greater));
        assert_eq!(cmp_num(&n("9007199254740992.0"), &n("9007199254740993")), Some(Ordering::Less));
        assert!(num_eq(&n("9007199254740992"), &n("9007199254740992.0")));
        assert_eq!(cmp_num(&n("18446744073709551615"), &n("18446744073709551616.0")), Some(Ordering::Less));
    }
}
