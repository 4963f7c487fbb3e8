//! Two versions of an engine's object, field by field, in lines an operator reads: what the
//! Swarm rollback undoes (Spec against PreviousSpec) and what a Kubernetes rollback to a
//! revision changes (one pod template against another). Values are redacted as the audit log
//! redacts them; the caller names the fields and skips the ones it says itself (environment
//! values are never shown).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use clusterdeck_ops::audit::redact::redact_text;

/// Lines kept; the rest are counted.
pub const MAX_LINES: usize = 20;

/// `before` → `after`, one line per leaf that differs (`{name} {before} → {after}`, `… set to`,
/// `… removed`), leaves under a `skip`ped path left out, `name` giving each path its words.
pub fn fields(
    before: &Value,
    after: &Value,
    skip: impl Fn(&str) -> bool,
    name: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut b = BTreeMap::new();
    let mut a = BTreeMap::new();
    flatten("", before, &mut b);
    flatten("", after, &mut a);
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let mut lines = Vec::new();
    for k in keys.into_iter().filter(|k| !skip(k)) {
        let (x, y) = (b.get(k), a.get(k));
        if x == y {
            continue;
        }
        let n = name(k);
        lines.push(match (x, y) {
            (Some(x), Some(y)) => format!("{n} {} → {}", redact_text(x), redact_text(y)),
            (None, Some(y)) => format!("{n} set to {}", redact_text(y)),
            (Some(x), None) => format!("{n} {} removed", redact_text(x)),
            (None, None) => continue,
        });
    }
    lines
}

/// Name → value of an environment list, either Docker's `["K=V"]` or Kubernetes'
/// `[{name, value}]`; the changes as lines, values never shown.
pub fn env_changes(prefix: &str, before: &Value, after: &Value) -> Vec<String> {
    fn vars(v: &Value) -> BTreeMap<String, String> {
        v.as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| match e {
                Value::String(kv) => Some(match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.clone(), String::new()),
                }),
                Value::Object(o) => Some((
                    o.get("name")?.as_str()?.to_string(),
                    o.get("value")
                        .or(o.get("valueFrom"))
                        .map(Value::to_string)
                        .unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }
    let (b, a) = (vars(before), vars(after));
    let mut out = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => out.push(format!("{prefix}env {k} added")),
            Some(old) if old != v => {
                out.push(format!("{prefix}env {k} changed (values not shown)"))
            }
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("{prefix}env {k} removed"));
    }
    out
}

/// The image lines first, then the rest in order; at most `MAX_LINES`.
pub fn finish(mut lines: Vec<String>) -> Vec<String> {
    lines.sort_by_key(|l| !l.starts_with("image "));
    if lines.len() > MAX_LINES {
        let more = lines.len() - (MAX_LINES - 1);
        lines.truncate(MAX_LINES - 1);
        lines.push(format!("… and {more} more fields"));
    }
    lines
}

/// What going from one Kubernetes pod template to `other` changes, in words (rolling back to a
/// revision, or between any two revisions of a Deployment).
pub fn pod_templates(current: &Value, other: &Value) -> Vec<String> {
    let containers = |t: &Value| {
        t["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let (a, b) = (containers(current), containers(other));
    let mut lines = Vec::new();
    for c in &b {
        let name = c["name"].as_str().unwrap_or("?");
        let prefix = if b.len() > 1 {
            format!("{name}: ")
        } else {
            String::new()
        };
        let before = a
            .iter()
            .find(|x| x["name"] == c["name"])
            .unwrap_or(&Value::Null);
        lines.extend(env_changes(&prefix, &before["env"], &c["env"]));
    }
    lines.extend(fields(
        current,
        other,
        |k| k.contains(".env["),
        |k| {
            let k = k.strip_prefix("spec.").unwrap_or(k);
            match k.strip_prefix("containers[") {
                Some(rest) if rest.ends_with("].image") && a.len() <= 1 => "image".to_string(),
                _ => k.to_string(),
            }
        },
    ));
    finish(lines)
}

/// Leaves as `path → text` (`Mode.Replicated.Replicas → 3`, `containers[0].image → app:1`).
fn flatten(path: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(path.to_string(), s.clone());
        }
        other => {
            out.insert(path.to_string(), other.to_string());
        }
    }
}
