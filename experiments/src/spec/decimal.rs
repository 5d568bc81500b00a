//! Exact decimal numbers, as a person writes them in a file: the
//! arithmetic that turns a price in quote into ticks, and an amount into
//! micro-units, without rounding.

use serde_yaml::Value;
use std::fmt;

/// A decimal number `m × 10^-s`, exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    m: i128,
    s: u32,
}

impl Decimal {
    pub fn new(m: i128, s: u32) -> Decimal {
        Decimal { m, s }.normal()
    }

    fn normal(mut self) -> Decimal {
        while self.s > 0 && self.m % 10 == 0 {
            self.m /= 10;
            self.s -= 1;
        }
        self
    }

    /// The decimal a YAML number was written as (a float by its shortest
    /// representation, which is the text the user wrote for any value of
    /// up to 15 significant digits).
    pub fn of_number(v: &Value) -> Option<Decimal> {
        let Value::Number(n) = v else { return None };
        if let Some(i) = n.as_i64() {
            return Some(Decimal::new(i128::from(i), 0));
        }
        if let Some(u) = n.as_u64() {
            return Some(Decimal::new(i128::from(u), 0));
        }
        Decimal::of_f64(n.as_f64()?)
    }

    pub fn of_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{f}"))
    }

    pub fn parse(text: &str) -> Option<Decimal> {
        let (neg, digits) = text.strip_prefix('-').map_or((false, text), |d| (true, d));
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut m: i128 = 0;
        for c in int.chars().chain(frac.chars()) {
            m = m.checked_mul(10)?.checked_add(i128::from(c.to_digit(10)?))?;
        }
        let s = u32::try_from(frac.len()).ok()?;
        Some(Decimal::new(if neg { -m } else { m }, s))
    }

    /// `self × 10^k` as a floor quotient and a remainder.
    pub fn scaled(self, k: u32) -> Option<(i128, i128)> {
        if self.s <= k {
            Some((self.m.checked_mul(10_i128.checked_pow(k - self.s)?)?, 0))
        } else {
            let d = 10_i128.checked_pow(self.s - k)?;
            Some((self.m.div_euclid(d), self.m.rem_euclid(d)))
        }
    }

    /// `self / t` as a floor quotient and a remainder.
    pub fn divided(self, t: Decimal) -> Option<(i128, i128)> {
        let s = self.s.max(t.s);
        let (a, _) = self.scaled(s)?;
        let (b, _) = t.scaled(s)?;
        if b <= 0 {
            return None;
        }
        Some((a.div_euclid(b), a.rem_euclid(b)))
    }

    pub fn times(self, n: i128) -> Option<Decimal> {
        Some(Decimal::new(self.m.checked_mul(n)?, self.s))
    }

    /// The number as YAML: an integer when whole, else a float whose
    /// shortest representation is this decimal.
    pub fn to_value(self) -> Value {
        if self.s == 0
            && let Ok(i) = i64::try_from(self.m)
        {
            return Value::from(i);
        }
        Value::from(self.to_string().parse::<f64>().unwrap_or(f64::NAN))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.m.unsigned_abs().to_string();
        let sign = if self.m < 0 { "-" } else { "" };
        let s = self.s as usize;
        if s == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        write!(f, "{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn decimals_are_read_as_written() {
        assert_eq!(Decimal::of_number(&yaml("0.1")).unwrap().to_string(), "0.1");
        assert_eq!(Decimal::of_number(&yaml("1e11")).unwrap().to_string(), "100000000000");
        assert_eq!(Decimal::of_number(&yaml("-0.0005")).unwrap().to_string(), "-0.0005");
        assert_eq!(Decimal::of_number(&yaml("60000.05")).unwrap().to_string(), "60000.05");
    }
}
