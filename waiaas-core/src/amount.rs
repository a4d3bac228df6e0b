//! Exact amounts: decimal strings in smallest units (`"1500000"`) and human amounts
//! (`"1.5"` with 6 decimals). No floating point anywhere near money.

use crate::error::{Error, Result};

/// Parse a smallest-unit integer string (`^\d+$`).
pub fn parse_units(field: &str, s: &str) -> Result<u128> {
    if s.is_empty() || s.len() > 39 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::validation(field, "must be a non-negative integer string in smallest units"));
    }
    s.parse::<u128>().map_err(|_| Error::validation(field, "is too large"))
}

/// Parse a human decimal (`"1.25"`) into smallest units with `decimals` places; more
/// fractional digits than `decimals` is an error, never a silent rounding.
pub fn parse_human(field: &str, s: &str, decimals: u8) -> Result<u128> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
        return Err(Error::validation(field, "must be a decimal number like \"1.5\""));
    }
    if frac.len() > decimals as usize {
        return Err(Error::validation(field, format!("has more than {decimals} decimal places")));
    }
    let scale = 10u128.checked_pow(decimals as u32).ok_or_else(|| Error::validation(field, "too many decimals"))?;
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().map_err(|_| Error::validation(field, "is too large"))? };
    let mut frac_s = frac.to_string();
    while frac_s.len() < decimals as usize {
        frac_s.push('0');
    }
    let frac_v: u128 = if frac_s.is_empty() { 0 } else { frac_s.parse().map_err(|_| Error::validation(field, "is too large"))? };
    int_v.checked_mul(scale).and_then(|v| v.checked_add(frac_v)).ok_or_else(|| Error::validation(field, "is too large"))
}

/// Format smallest units as a human decimal without trailing zeros (`1500000`, 6 → `"1.5"`).
pub fn format_units(v: u128, decimals: u8) -> String {
    if decimals == 0 {
        return v.to_string();
    }
    let s = format!("{:0>width$}", v, width = decimals as usize + 1);
    let (int, frac) = s.split_at(s.len() - decimals as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn human_amounts() {
        assert_eq!(parse_human("a", "1.5", 6).unwrap(), 1_500_000);
        assert_eq!(parse_human("a", "0.000001", 6).unwrap(), 1);
        assert_eq!(parse_human("a", ".5", 1).unwrap(), 5);
        assert_eq!(parse_human("a", "2", 18).unwrap(), 2_000_000_000_000_000_000);
        assert!(parse_human("a", "0.0000001", 6).is_err());
        assert!(parse_human("a", "-1", 6).is_err());
        assert!(parse_human("a", "1e5", 6).is_err());
        assert!(parse_human("a", "", 6).is_err());
        assert!(parse_human("a", ".", 6).is_err());
        assert!(parse_units("a", "12a").is_err());
        assert!(parse_units("a", "").is_err());
        assert_eq!(format_units(1_500_000, 6), "1.5");
        assert_eq!(format_units(5, 9), "0.000000005");
        assert_eq!(format_units(0, 9), "0");
        assert_eq!(format_units(7, 0), "7");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(v in any::<u64>(), d in 0u8..19) {
            prop_assert_eq!(parse_human("a", &format_units(v as u128, d), d).unwrap(), v as u128);
        }
    }
}

/// Serde for `u128` amounts as decimal strings (JSON numbers lose precision past 2^53, and
/// serde's internally tagged enums cannot carry `u128` at all). Accepts strings or numbers.
pub mod u128_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            S(String),
            N(u64),
        }
        match Either::deserialize(d)? {
            Either::S(s) => s.parse().map_err(serde::de::Error::custom),
            Either::N(n) => Ok(n as u128),
        }
    }
}
