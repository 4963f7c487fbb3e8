//! What a service's last update changed: its `Spec` against the engine's `PreviousSpec`, field
//! by field, in words an operator reads ("image app:1 → app:2", "env DEBUG added", "update
//! parallelism 1 → 2"). Environment values are never shown (they hold secrets more often than
//! not); other values are redacted as the audit log redacts them.

use serde_json::Value;

use clusterdeck_kit::diff;

const ENV: &str = "TaskTemplate.ContainerSpec.Env";

/// `previous` → `spec`, one line per field that differs; empty when there is no previous spec.
pub fn spec_diff(previous: &Value, spec: &Value) -> Vec<String> {
    if previous.is_null() {
        return Vec::new();
    }
    let env = |v: &Value| v["TaskTemplate"]["ContainerSpec"]["Env"].clone();
    let mut lines = diff::env_changes("", &env(previous), &env(spec));
    lines.extend(diff::fields(
        previous,
        spec,
        |k| k.starts_with(ENV),
        friendly,
    ));
    diff::finish(lines)
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
