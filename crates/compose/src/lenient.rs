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
        other => Err(D::Error::custom(format!("expected a number, found {}", kind(&other)))),
    }
}

pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Ok(Some(true)),
            "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(D::Error::custom(format!("expected true or false, found {s:?}"))),
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

pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a duration (write e.g. 10s, 1m30s, 500ms)");
    let t = s.trim();
    if t == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Ok(total.round() as i64)
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
    let n: f64 = t[..split]
        .parse()
        .map_err(|_| format!("{s:?} is not a size (write e.g. 512m, 1g)"))?;
    let scale: f64 = match t[split..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" => 1024.0,
        "m" | "mb" => 1024.0 * 1024.0,
        "g" | "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{s:?}: unknown size unit (b, k, m, g)")),
    };
    Ok((n * scale) as i64)
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
