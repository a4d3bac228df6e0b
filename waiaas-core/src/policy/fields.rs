//! Strict readers for rule JSON. Every failure is an
//! [`Error::validation`](crate::error::Error::validation) naming the field by its dotted path
//! (`rules.tokens.0.address`), so a caller always learns which value is wrong. Paths are only
//! rendered on failure: reading valid rules allocates nothing for them.

use super::types::Tier;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::fmt;

/// Where a value sits in the rules object, rendered as `rules.tokens.0.address`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("rules"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}.{i}"),
        }
    }
}

/// A validation error for `path`.
pub(crate) fn invalid(path: &Path<'_>, message: impl Into<String>) -> Error {
    Error::validation(&path.to_string(), message)
}

/// Fail with `message` on `path` unless `ok`.
pub(crate) fn ensure(ok: bool, path: &Path<'_>, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(invalid(path, message()))
    }
}

/// A JSON object with a known set of keys (unknown keys are refused: a typo such as
/// `instant_max_USD` must not silently disable a limit).
pub(crate) struct Obj<'a, 'p> {
    map: &'a Map<String, Value>,
    path: Path<'p>,
}

impl<'a, 'p> Obj<'a, 'p> {
    pub fn new(value: &'a Value, path: Path<'p>, known: &[&str]) -> Result<Obj<'a, 'p>> {
        let map = value.as_object().ok_or_else(|| invalid(&path, "must be an object"))?;
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(&Path::Key(&path, k), format!("unknown field (expected one of: {})", known.join(", "))));
        }
        Ok(Obj { map, path })
    }

    /// The path of `key` inside this object.
    pub fn path<'s>(&'s self, key: &'s str) -> Path<'s> {
        Path::Key(&self.path, key)
    }

    /// A required field read by `read`.
    pub fn req<T>(&self, key: &str, read: impl FnOnce(&'a Value, &Path<'_>) -> Result<T>) -> Result<T> {
        let path = self.path(key);
        match self.map.get(key) {
            Some(v) => read(v, &path),
            None => Err(invalid(&path, "is required")),
        }
    }

    /// An optional field read by `read` (`null` is a wrong type, as in upstream's schemas).
    pub fn opt<T>(&self, key: &str, read: impl FnOnce(&'a Value, &Path<'_>) -> Result<T>) -> Result<Option<T>> {
        self.map.get(key).map(|v| read(v, &self.path(key))).transpose()
    }
}

/// Any string (may be empty).
pub(crate) fn text(v: &Value, path: &Path<'_>) -> Result<String> {
    v.as_str().map(str::to_string).ok_or_else(|| invalid(path, "must be a string"))
}

/// A non-empty string.
pub(crate) fn name(v: &Value, path: &Path<'_>) -> Result<String> {
    let s = text(v, path)?;
    ensure(!s.is_empty(), path, || "must not be empty".into())?;
    Ok(s)
}

/// A string of at most `max` characters.
pub(crate) fn text_max(v: &Value, path: &Path<'_>, max: usize) -> Result<String> {
    let s = text(v, path)?;
    ensure(s.chars().count() <= max, path, || format!("must be at most {max} characters"))?;
    Ok(s)
}

/// A finite number.
pub(crate) fn number(v: &Value, path: &Path<'_>) -> Result<f64> {
    v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| invalid(path, "must be a number"))
}

/// A number in `[min, max]`.
pub(crate) fn number_in(v: &Value, path: &Path<'_>, min: f64, max: f64) -> Result<f64> {
    let x = number(v, path)?;
    ensure(x >= min && x <= max, path, || format!("must be between {min} and {max}"))?;
    Ok(x)
}

/// A number `>= 0`.
pub(crate) fn non_negative(v: &Value, path: &Path<'_>) -> Result<f64> {
    let x = number(v, path)?;
    ensure(x >= 0.0, path, || "must be >= 0".into())?;
    Ok(x)
}

/// A number `> 0`.
pub(crate) fn positive(v: &Value, path: &Path<'_>) -> Result<f64> {
    let x = number(v, path)?;
    ensure(x > 0.0, path, || "must be > 0".into())?;
    Ok(x)
}

/// An integer `>= min` (JSON `60` and `60.0` are both integers, as in JavaScript).
pub(crate) fn integer_min(v: &Value, path: &Path<'_>, min: u64) -> Result<u64> {
    integer_in(v, path, min, u64::MAX)
}

/// An integer in `[min, max]`.
pub(crate) fn integer_in(v: &Value, path: &Path<'_>, min: u64, max: u64) -> Result<u64> {
    let out_of_range = || {
        if max == u64::MAX {
            invalid(path, format!("must be an integer >= {min}"))
        } else {
            invalid(path, format!("must be an integer between {min} and {max}"))
        }
    };
    let Value::Number(n) = v else { return Err(invalid(path, "must be an integer")) };
    let value = if let Some(u) = n.as_u64() {
        u
    } else if n.is_i64() {
        return Err(out_of_range()); // negative
    } else {
        match n.as_f64() {
            Some(x) if x.is_finite() && x.fract() == 0.0 => {
                if x < 0.0 || x > u64::MAX as f64 {
                    return Err(out_of_range());
                }
                x as u64
            }
            _ => return Err(invalid(path, "must be an integer")),
        }
    };
    if value < min || value > max {
        return Err(out_of_range());
    }
    Ok(value)
}

/// A boolean.
pub(crate) fn boolean(v: &Value, path: &Path<'_>) -> Result<bool> {
    v.as_bool().ok_or_else(|| invalid(path, "must be a boolean"))
}

/// A string of decimal digits (raw smallest units). Values above `u128::MAX` saturate:
/// they mean "no practical limit" either way.
pub(crate) fn digits(v: &Value, path: &Path<'_>) -> Result<u128> {
    let s = v.as_str().ok_or_else(|| invalid(path, "must be a string of digits"))?;
    ensure(!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()), path, || "must be a string of digits".into())?;
    Ok(s.parse().unwrap_or(u128::MAX))
}

/// A tier string: `INSTANT | NOTIFY | DELAY | APPROVAL`.
pub(crate) fn tier(v: &Value, path: &Path<'_>) -> Result<Tier> {
    let s = v.as_str().ok_or_else(|| invalid(path, "must be a tier string"))?;
    Tier::parse(s).ok_or_else(|| invalid(path, format!("unknown tier '{s}' (expected INSTANT, NOTIFY, DELAY or APPROVAL)")))
}

/// A non-empty array read element by element with `read` (every list in the 21 schemas must
/// have an entry: an empty allowlist is refused rather than read as "allow nothing" or "allow all").
pub(crate) fn list<'a, T>(v: &'a Value, path: &Path<'_>, mut read: impl FnMut(&'a Value, &Path<'_>) -> Result<T>) -> Result<Vec<T>> {
    let items = v.as_array().ok_or_else(|| invalid(path, "must be an array"))?;
    ensure(!items.is_empty(), path, || "must contain at least one entry".into())?;
    items.iter().enumerate().map(|(i, item)| read(item, &Path::Index(path, i))).collect()
}
