//! Deserializers that accept a value as text or as its typed form: after interpolation
//! `replicas: ${N:-3}` is the text "3", and Compose types values by the schema, not by the
//! YAML scalar (`environment: {PORT: 80}` is the text "80").

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::Value;

/// Text from a string, number or boolean.
pub fn text_of<E: Error>(v: Value) -> Result<String, E> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(E::custom(format!("expected text, found {}", kind(&other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => text_of(v).map(Some),
    }
}

pub fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a whole number ≥ 0, found {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a whole number ≥ 0, found {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a whole number, found {}",
            kind(&other)
        ))),
    }
}

pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a number, found {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a number, found {}",
            kind(&other)
        ))),
    }
}

pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Some(true)),
            "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(D::Error::custom(format!(
                "expected true or false, found {s:?}"
            ))),
        },
        other => Err(D::Error::custom(format!(
            "expected true or false, found {}",
            kind(&other)
        ))),
    }
}

/// A Go duration as Compose writes it (`10s`, `1m30s`, `500ms`, `1h`), in nanoseconds.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => {
            let s = text_of::<D::Error>(v)?;
            parse_duration(&s).map(Some).map_err(D::Error::custom)
        }
    }
}

/// `{value}{unit}`, repeated (`1h5m30s20ms`), with `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, as Go's
/// `time.ParseDuration` reads it: exact in whole nanoseconds, and refused past what an `i64`
/// of nanoseconds holds (about 2562047h) rather than saturated.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a duration (write e.g. 10s, 1m30s, 500ms)");
    let too_long = || format!("{s:?} is too long a duration");
    let t = s.trim();
    if t == "0" {
        return Ok(0);
    }
    if t.is_empty() {
        return Err(bad());
    }
    let digits = |r: &str| r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
    let mut total: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let whole = &rest[..digits(rest)];
        rest = &rest[whole.len()..];
        let fraction = match rest.strip_prefix('.') {
            Some(r) => {
                let f = &r[..digits(r)];
                rest = &r[f.len()..];
                f
            }
            None => "",
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(bad());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: i64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let mut part = if whole.is_empty() {
            0
        } else {
            whole
                .parse::<i64>()
                .ok()
                .and_then(|w| w.checked_mul(scale))
                .ok_or_else(too_long)?
        };
        if !fraction.is_empty() {
            // Digits past the 18th are below a nanosecond of any unit.
            let (mut num, mut den) = (0i128, 1i128);
            for d in fraction.bytes().take(18) {
                num = num * 10 + i128::from(d - b'0');
                den *= 10;
            }
            let frac = i64::try_from(num * i128::from(scale) / den).map_err(|_| too_long())?;
            part = part.checked_add(frac).ok_or_else(too_long)?;
        }
        total = total.checked_add(part).ok_or_else(too_long)?;
    }
    Ok(total)
}

/// A byte size as Compose writes it (`512`, `50m`, `1.5GB`, `64k`), 1024-based.
pub fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a byte count"))),
        v => {
            let s = text_of::<D::Error>(v)?;
            parse_bytes(&s).map(Some).map_err(D::Error::custom)
        }
    }
}

pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let amount = &t[..split];
    let n: f64 = amount
        .parse()
        .map_err(|_| format!("{s:?} is not a size (write e.g. 512m, 1g)"))?;
    let scale: i64 = match t[split..].trim() {
        "" | "b" => 1,
        "k" | "kb" => 1024,
        "m" | "mb" => 1024 * 1024,
        "g" | "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("{s:?}: unknown size unit (b, k, m, g)")),
    };
    let too_large = || format!("{s:?} is too large a size");
    // A whole amount is counted exactly; a fraction (`1.5g`) through a float.
    match amount.parse::<i64>() {
        Ok(whole) => whole.checked_mul(scale).ok_or_else(too_large),
        Err(_) => {
            let v = n * scale as f64;
            if v.is_finite() && v < i64::MAX as f64 {
                Ok(v as i64)
            } else {
                Err(too_large())
            }
        }
    }
}

/// A command: a list of words, or one string split as a POSIX shell would (Compose's rule).
pub fn command<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .into_iter()
            .map(text_of::<D::Error>)
            .collect::<Result<_, _>>()
            .map(Some),
        v => {
            let s = text_of::<D::Error>(v)?;
            shell_words::split(&s)
                .map(Some)
                .map_err(|e| D::Error::custom(format!("{s:?}: {e}")))
        }
    }
}

/// A list of texts, or one text as a one-item list.
pub fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.into_iter().map(text_of::<D::Error>).collect(),
        v => text_of(v).map(|s| vec![s]),
    }
}

/// `KEY=VALUE` items or a `KEY: VALUE` mapping (environment, labels); a key without a value
/// is `None` (in the environment it then passes the variable through by name).
pub fn list_or_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    let mut out = BTreeMap::new();
    match Value::deserialize(d)? {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                let s = text_of::<D::Error>(item)?;
                match s.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(s, None),
                };
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let v = match v {
                    Value::Null => None,
                    v => Some(text_of::<D::Error>(v)?),
                };
                out.insert(k, v);
            }
        }
        other => {
            return Err(D::Error::custom(format!(
                "expected a list of KEY=VALUE or a mapping, found {}",
                kind(&other)
            )));
        }
    }
    Ok(out)
}
