//! What a service's last update changed: its `Spec` against the engine's `PreviousSpec`, field
//! by field, in words an operator reads ("image app:1 → app:2", "env DEBUG added", "update
//! parallelism 1 → 2"). Environment values are never shown (they hold secrets more often than
//! not); other values are redacted as the audit log redacts them.

use std::collections::BTreeMap;

use serde_json::Value;

use clusterdeck_ops::audit::redact::redact_text;

/// Lines kept; the rest are counted.
const MAX_LINES: usize = 20;

/// `previous` → `spec`, one line per field that differs; empty when there is no previous spec.
pub fn spec_diff(previous: &Value, spec: &Value) -> Vec<String> {
    if previous.is_null() {
        return Vec::new();
    }
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    flatten("", previous, &mut before);
    flatten("", spec, &mut after);
    let mut lines = env_changes(previous, spec);
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        if k.starts_with(ENV) {
            continue;
        }
        let (b, a) = (before.get(k), after.get(k));
        if b == a {
            continue;
        }
        let name = friendly(k);
        lines.push(match (b, a) {
            (Some(b), Some(a)) => format!("{name} {} → {}", redact_text(b), redact_text(a)),
            (None, Some(a)) => format!("{name} set to {}", redact_text(a)),
            (Some(b), None) => format!("{name} {} removed", redact_text(b)),
            (None, None) => continue,
        });
    }
    // The image first: it is what an operator looks for.
    lines.sort_by_key(|l| !l.starts_with("image "));
    if lines.len() > MAX_LINES {
        let more = lines.len() - (MAX_LINES - 1);
        lines.truncate(MAX_LINES - 1);
        lines.push(format!("… and {more} more fields"));
    }
    lines
}

const ENV: &str = "TaskTemplate.ContainerSpec.Env";

/// Environment variables by name: added, removed, changed (values hidden).
fn env_changes(previous: &Value, spec: &Value) -> Vec<String> {
    let vars = |v: &Value| -> BTreeMap<String, String> {
        v["TaskTemplate"]["ContainerSpec"]["Env"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.to_string(), String::new()),
            })
            .collect()
    };
    let (b, a) = (vars(previous), vars(spec));
    let mut out = Vec::new();
    for (k, v) in &a {
        match b.get(k) {
            None => out.push(format!("env {k} added")),
            Some(old) if old != v => out.push(format!("env {k} changed (values not shown)")),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("env {k} removed"));
    }
    out
}

/// Leaves as `path → text` (`Mode.Replicated.Replicas → 3`, `Labels.tier → web`).
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

/// The words for the fields operators change most; the path for the rest.
fn friendly(path: &str) -> String {
    let known = [
        ("TaskTemplate.ContainerSpec.Image", "image"),
        ("Mode.Replicated.Replicas", "replicas"),
        ("UpdateConfig.Parallelism", "update parallelism"),
        ("UpdateConfig.Delay", "update delay (ns)"),
        ("UpdateConfig.FailureAction", "update failure action"),
        ("UpdateConfig.Order", "update order"),
        ("RollbackConfig.Parallelism", "rollback parallelism"),
        ("RollbackConfig.FailureAction", "rollback failure action"),
        ("TaskTemplate.ForceUpdate", "force update"),
        ("TaskTemplate.ContainerSpec.Command", "command"),
        ("TaskTemplate.ContainerSpec.Args", "args"),
    ];
    for (p, name) in known {
        if path == p {
            return name.to_string();
        }
        if let Some(rest) = path.strip_prefix(p) {
            return format!("{name}{rest}");
        }
    }
    if let Some(c) = path.strip_prefix("TaskTemplate.Placement.Constraints") {
        return format!("constraint{c}");
    }
    if let Some(l) = path.strip_prefix("Labels.") {
        return format!("label {l}");
    }
    if let Some(l) = path.strip_prefix("TaskTemplate.ContainerSpec.Labels.") {
        return format!("container label {l}");
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(image: &str, replicas: u64, env: &[&str]) -> Value {
        json!({
            "Name": "web",
            "Labels": {"tier": "front"},
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {"ContainerSpec": {"Image": image, "Env": env}},
            "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause"}
        })
    }

    #[test]
    fn an_image_change_is_one_line() {
        let before = spec("reg/app:1@sha256:aa", 3, &["A=1"]);
        let after = spec("reg/app:2@sha256:bb", 3, &["A=1"]);
        assert_eq!(
            spec_diff(&before, &after),
            vec!["image reg/app:1@sha256:aa → reg/app:2@sha256:bb"]
        );
    }

    #[test]
    fn fields_env_and_labels_in_words_with_env_values_hidden() {
        let before = spec("app:1", 3, &["A=1", "SECRET=old", "GONE=x"]);
        let mut after = spec("app:1", 5, &["A=1", "SECRET=new", "NEW=y"]);
        after["UpdateConfig"]["Parallelism"] = json!(2);
        after["Labels"]["owner"] = json!("team-a");
        let d = spec_diff(&before, &after);
        for want in [
            "replicas 3 → 5",
            "update parallelism 1 → 2",
            "label owner set to team-a",
            "env SECRET changed (values not shown)",
            "env NEW added",
            "env GONE removed",
        ] {
            assert!(d.iter().any(|l| l == want), "{want} in {d:?}");
        }
        assert!(
            !d.iter().any(|l| l.contains("old") || l.contains("new")),
            "{d:?}"
        );
        assert!(spec_diff(&Value::Null, &after).is_empty());
    }
}
