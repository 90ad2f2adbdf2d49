//! Stateful limits of a scope: total uses, rate and a summed budget. They are declared and
//! validated here and compared for attenuation in `covers`; counting is done by the caller.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::error::{Error, ErrorCode, Result};

use super::codec::{from_object, non_null, non_null_count};
use super::number::num_le;
use super::preview;
use super::validate::validate_arg_name;

/// Limits of a scope. Every field is optional; an empty `Limits` limits nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limits {
    /// How many times the grant may be used over its life (0 disables it).
    pub max_uses: Option<u64>,
    /// How often, per grant and granted action, sub-grants' calls included.
    pub rate: Option<Rate>,
    /// A cap on the sum of one numeric argument over the grant's life.
    pub budget: Option<Budget>,
}

/// The object form of [`Limits`], read by the derived impl.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsObject {
    #[serde(default, deserialize_with = "non_null_count")]
    max_uses: Option<u64>,
    #[serde(default, deserialize_with = "non_null")]
    rate: Option<Rate>,
    #[serde(default, deserialize_with = "non_null")]
    budget: Option<Budget>,
}

impl<'de> Deserialize<'de> for Limits {
    /// Reads `{"max_uses"?, "rate"?, "budget"?}` (not validated: see
    /// [`crate::scope::Scope::validate`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let o: LimitsObject = from_object(d, "a limits object")?;
        Ok(Self { max_uses: o.max_uses, rate: o.rate, budget: o.budget })
    }
}

impl Limits {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.max_uses.is_none() && self.rate.is_none() && self.budget.is_none()
    }

    /// Sets `max_uses`.
    #[must_use]
    pub fn with_max_uses(mut self, max_uses: u64) -> Self {
        self.max_uses = Some(max_uses);
        self
    }

    /// Sets `rate`.
    #[must_use]
    pub fn with_rate(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Sets `budget`.
    #[must_use]
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The limits as a JSON object (the same in the API and wire forms).
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(n) = self.max_uses {
            m.insert("max_uses".to_owned(), Value::Number(n.into()));
        }
        if let Some(rate) = &self.rate {
            m.insert("rate".to_owned(), Value::String(rate.to_string()));
        }
        if let Some(budget) = &self.budget {
            let mut b = Map::new();
            b.insert("arg".to_owned(), Value::String(budget.arg.clone()));
            b.insert("max_total".to_owned(), Value::Number(budget.max_total.clone()));
            m.insert("budget".to_owned(), Value::Object(b));
        }
        Value::Object(m)
    }

    /// Checks every limit's form.
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(rate) = &self.rate {
            rate.validate()?;
        }
        if let Some(budget) = &self.budget {
            validate_arg_name(&budget.arg, "budget argument")?;
            if !num_le(&Number::from(0u8), &budget.max_total) {
                return Err(Error::new(
                    ErrorCode::ScopeInvalid,
                    format!("budget max_total {} is negative", budget.max_total),
                ));
            }
        }
        Ok(())
    }
}

impl Serialize for Limits {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// A cap on the sum of argument `arg` over the grant's life: `{"arg": "amount", "max_total": 500}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    /// The argument whose values are summed.
    pub arg: String,
    /// The most the sum may reach; at least 0.
    pub max_total: Number,
}

/// The object form of a [`Budget`], read by the derived impl.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetObject {
    arg: String,
    max_total: Number,
}

impl<'de> Deserialize<'de> for Budget {
    /// Reads `{"arg", "max_total"}` (not validated: see [`crate::scope::Scope::validate`]).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let o: BudgetObject = from_object(d, "a budget object")?;
        Ok(Self { arg: o.arg, max_total: o.max_total })
    }
}

impl Budget {
    /// A budget of `max_total` on argument `arg`.
    pub fn new(arg: impl Into<String>, max_total: impl Into<Number>) -> Self {
        Self { arg: arg.into(), max_total: max_total.into() }
    }
}

/// A rate: at most `count` uses per `per_seconds` seconds, per grant and granted action
/// (the scope's action pattern a call matched), counting every sub-grant's calls.
///
/// Written `count/unit` with unit `s`, `min`, `h` or `d` (also `sec`, `second(s)`,
/// `minute(s)`, `hour(s)`, `day(s)`), optionally with a whole multiple of the unit:
/// `10/min`, `100/15min`. Serialises in the largest unit that divides the window exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Uses allowed per window; at least 1.
    pub count: u64,
    /// The window, in seconds; at least 1.
    pub per_seconds: u64,
}

const UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("seconds", 1),
    ("min", 60),
    ("minute", 60),
    ("minutes", 60),
    ("h", 3600),
    ("hour", 3600),
    ("hours", 3600),
    ("d", 86_400),
    ("day", 86_400),
    ("days", 86_400),
];

impl Rate {
    /// `count` uses per `per_seconds` seconds (not validated; see [`Rate::parse`]).
    pub fn new(count: u64, per_seconds: u64) -> Self {
        Self { count, per_seconds }
    }

    /// Parses `10/min`, `100/15min`, `1/s`, … (code `ScopeInvalid`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::new(ErrorCode::ScopeInvalid, format!("rate `{}` {why}", preview(s)));
        let form = "must look like `10/min`: a count, `/`, an optional multiple and a unit (s, min, h or d)";
        let (count, window) = s.split_once('/').ok_or_else(|| bad(form))?;
        let count = parse_digits(count).ok_or_else(|| bad(form))?;
        let unit_at = window.find(|c: char| !c.is_ascii_digit()).unwrap_or(window.len());
        let (multiple, unit) = window.split_at(unit_at);
        let multiple = if multiple.is_empty() { Some(1) } else { parse_digits(multiple) };
        let multiple = multiple.ok_or_else(|| bad(form))?;
        let unit = UNITS.iter().find(|(name, _)| *name == unit).map(|(_, secs)| *secs).ok_or_else(|| bad(form))?;
        let per_seconds = multiple.checked_mul(unit).ok_or_else(|| bad("has a window too long"))?;
        let rate = Self { count, per_seconds };
        match rate.problem() {
            Some(why) => Err(bad(why)),
            None => Ok(rate),
        }
    }

    /// Why the rate is not valid, if it is not.
    fn problem(&self) -> Option<&'static str> {
        if self.count == 0 {
            Some("must allow at least 1 use per window")
        } else if self.per_seconds == 0 {
            Some("must have a window of at least 1 second")
        } else {
            None
        }
    }

    fn validate(&self) -> Result<()> {
        match self.problem() {
            Some(why) => Err(Error::new(ErrorCode::ScopeInvalid, format!("rate `{self}` {why}"))),
            None => Ok(()),
        }
    }

    /// Whether this rate is no looser than `parent`: in any window of the parent's length it
    /// allows no more uses than the parent does. Exact for windows that divide evenly,
    /// conservative otherwise.
    pub fn within(&self, parent: &Rate) -> bool {
        let (nc, wc, np, wp) = (
            u128::from(self.count),
            u128::from(self.per_seconds),
            u128::from(parent.count),
            u128::from(parent.per_seconds),
        );
        if nc > np || wc == 0 {
            return false;
        }
        wc >= wp || (wp.is_multiple_of(wc) && nc * (wp / wc) <= np)
    }
}

/// A non-empty run of ASCII digits as a u64.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, secs) = [("d", 86_400), ("h", 3600), ("min", 60)]
            .into_iter()
            .find(|(_, secs)| self.per_seconds != 0 && self.per_seconds.is_multiple_of(*secs))
            .unwrap_or(("s", 1));
        match self.per_seconds / secs {
            1 => write!(f, "{}/{unit}", self.count),
            multiple => write!(f, "{}/{multiple}{unit}", self.count),
        }
    }
}

impl FromStr for Rate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Rate::parse(&s).map_err(serde::de::Error::custom)
    }
}
