//! Secrets never reach the log (nor the screen): swarm join tokens, AWS access keys, and values
//! whose names look secret (`DB_PASSWORD=…`, `{"api_token": …}`).

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

const SECRET_NAMES: [&str; 9] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "private_key",
    "credential",
    "auth",
];

/// Whether a variable or field name looks like it holds a secret.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|s| n.contains(s)) || n.ends_with("_key") || n == "key"
}

/// Redacts secrets inside free text: join tokens, AWS key ids, `NAME=value` pairs with secret
/// names, and `--password value` style flags.
pub fn redact_text(s: &str) -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for word in s.split(' ') {
        if hide_next {
            out.push(REDACTED.to_string());
            hide_next = false;
            continue;
        }
        if word.starts_with("SWMTKN-") {
            out.push(format!("SWMTKN-{REDACTED}"));
        } else if is_aws_key_id(word) {
            out.push(REDACTED.to_string());
        } else if let Some((name, _)) = word.split_once('=')
            && looks_secret(name.trim_start_matches('-'))
        {
            out.push(format!("{name}={REDACTED}"));
        } else {
            if let Some(flag) = word.strip_prefix("--")
                && looks_secret(flag)
            {
                hide_next = true;
            }
            out.push(word.to_string());
        }
    }
    out.join(" ")
}

fn is_aws_key_id(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (w.starts_with("AKIA") || w.starts_with("ASIA"))
        && w.len() == 20
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Redacts a JSON value: secret-named fields lose their values; strings are redacted as text.
pub fn redact_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if looks_secret(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact_value).collect()),
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_tokens_keys_and_secret_env() {
        assert_eq!(
            redact_text("docker swarm join --token SWMTKN-1-abc-def 10.0.0.1:2377"),
            "docker swarm join --token [redacted] 10.0.0.1:2377"
        );
        assert_eq!(redact_text("SWMTKN-1-abc"), "SWMTKN-[redacted]");
        assert_eq!(
            redact_text("key AKIAIOSFODNN7EXAMPLE used"),
            "key [redacted] used"
        );
        assert_eq!(
            redact_text("--env DB_PASSWORD=hunter2 --env MODE=prod"),
            "--env DB_PASSWORD=[redacted] --env MODE=prod"
        );
        let v = redact_value(
            &json!({"replicas": 3, "aws_secret_access_key": "x", "env": ["API_TOKEN=abc", "LOG=debug"]}),
        );
        assert_eq!(
            v,
            json!({"replicas": 3, "aws_secret_access_key": "[redacted]", "env": ["API_TOKEN=[redacted]", "LOG=debug"]})
        );
        // Ordinary words stay.
        assert_eq!(
            redact_text("docker service scale web=5"),
            "docker service scale web=5"
        );
    }
}
