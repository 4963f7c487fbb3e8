//! Secrets never reach the log (nor the screen, nor syslog): the rules of the audit record,
//! reused by the wall's scrub. Swarm join tokens; AWS access key ids and secret access keys;
//! URL userinfo (`https://user:pass@host`); `Authorization: Bearer …` / `Basic …` values; PEM
//! blocks; values whose names look secret (`DB_PASSWORD=…`, `SMTP_PASS=…`, `{"api_token": …}`,
//! a passphrase); the argument after `--password`-style flags and `-p`.

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

const SECRET_NAMES: [&str; 10] = [
    "password",
    "passwd",
    "passphrase",
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
    SECRET_NAMES.iter().any(|s| n.contains(s))
        || n.ends_with("_key")
        || n == "key"
        || n.ends_with("_pass")
        || n == "pass"
}

/// Redacts secrets inside free text (see the module's list). Whitespace is kept as it was.
pub fn redact_text(s: &str) -> String {
    let s = redact_pem(s);
    let mut out = String::with_capacity(s.len());
    let mut hide_next = false;
    for piece in s.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end_matches(char::is_whitespace);
        let gap = &piece[word.len()..];
        if word.is_empty() {
            out.push_str(gap);
            continue;
        }
        // Whether this word hides the next one is decided even when it is hidden itself, so
        // `--password Bearer x` loses both.
        let hide_this = std::mem::replace(&mut hide_next, hides_next(word));
        if hide_this {
            out.push_str(REDACTED);
        } else {
            out.push_str(&redact_word(word));
        }
        out.push_str(gap);
    }
    out
}

/// Words after which the next word is a secret: `Bearer`, `Basic`, `--password`-style flags,
/// and `-p` (a password to docker login, mysql and friends; a port to others, which loses
/// nothing secret by being hidden).
fn hides_next(word: &str) -> bool {
    let w = word.trim_end_matches([',', ';']);
    w.eq_ignore_ascii_case("bearer")
        || w.eq_ignore_ascii_case("basic")
        || w == "-p"
        || w.strip_prefix("--")
            .is_some_and(|f| !f.contains('=') && looks_secret(f))
}

fn redact_word(word: &str) -> String {
    if let Some(at) = word.find("SWMTKN-") {
        return format!("{}SWMTKN-{REDACTED}", &word[..at]);
    }
    if let Some(w) = redact_userinfo(word) {
        return w;
    }
    if is_aws_key_id(word) || is_aws_secret(word) {
        return REDACTED.to_string();
    }
    if let Some((name, _)) = word.split_once('=')
        && looks_secret(name.trim_start_matches('-'))
    {
        return format!("{name}={REDACTED}");
    }
    if let Some((name, value)) = word.split_once(':')
        && !value.is_empty()
        && !value.starts_with("//")
        && looks_secret(name.trim_start_matches(['-', '"']))
    {
        return format!("{name}:{REDACTED}");
    }
    word.to_string()
}

/// `scheme://user:pass@host…` → `scheme://[redacted]@host…`.
fn redact_userinfo(word: &str) -> Option<String> {
    let scheme_end = word.find("://")? + 3;
    let rest = &word[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{}{REDACTED}{}", &word[..scheme_end], &rest[at..]))
}

/// PEM blocks (`-----BEGIN …-----` to `-----END …-----`, or to the end of the text when the
/// end is cut off) become one marker.
fn redact_pem(s: &str) -> String {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut out = String::new();
    let mut rest = s;
    while let Some(b) = rest.find(BEGIN) {
        out.push_str(&rest[..b]);
        out.push_str("[redacted PEM block]");
        let after = &rest[b..];
        rest = match after.find(END) {
            Some(e) => {
                let tail = &after[e + END.len()..];
                match tail.find("-----") {
                    Some(close) => &tail[close + 5..],
                    None => "",
                }
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

fn is_aws_key_id(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (w.starts_with("AKIA") || w.starts_with("ASIA"))
        && w.len() == 20
        && w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// An AWS secret access key: 40 characters of base64 (`A-Za-z0-9/+`) with both cases, which
/// hex digests (lower case only) are not.
fn is_aws_secret(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '+'));
    w.len() == 40
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+')
        && w.chars().any(|c| c.is_ascii_uppercase())
        && w.chars().any(|c| c.is_ascii_lowercase())
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
        // JSON inside a string (an annotation holding a whole object again): redacted as JSON.
        Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
            Ok(inner @ Value::Object(_)) => Value::String(redact_value(&inner).to_string()),
            _ => Value::String(redact_text(s)),
        },
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_inside_a_string_is_redacted_as_json() {
        let v = json!({"annotation": "{\"password\":\"hunter2\",\"mode\":\"prod\"}"});
        let r = redact_value(&v);
        let inner: Value =
            serde_json::from_str(r["annotation"].as_str().expect("a string")).expect("JSON");
        assert_eq!(inner["password"], REDACTED);
        assert_eq!(inner["mode"], "prod");
        // Not JSON: text as before.
        let r = redact_value(&json!({"x": "{not json --token abc"}));
        assert_eq!(r["x"], "{not json --token [redacted]");
    }

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

    #[test]
    fn redacts_urls_bearers_pem_aws_secrets_and_password_flags() {
        assert_eq!(
            redact_text("pull https://bob:s3cr3t@registry.example/v2/x failed"),
            "pull https://[redacted]@registry.example/v2/x failed"
        );
        assert_eq!(
            redact_text("Authorization: Bearer eyJhbGciOi.x.y sent"),
            "Authorization: Bearer [redacted] sent"
        );
        assert_eq!(
            redact_text(
                "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nok"
            ),
            "key:\n[redacted PEM block]\nok"
        );
        assert_eq!(
            redact_text("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here"),
            "secret [redacted] here"
        );
        assert_eq!(
            redact_text("mysql -u root -p hunter2 --password hunter3 SMTP_PASS=x"),
            "mysql -u root -p [redacted] --password [redacted] SMTP_PASS=[redacted]"
        );
        // A commit id (hex, 40 characters) is not a secret key.
        let sha = "3f786850e387550fdab836ed7e6dc881de23001b";
        assert_eq!(redact_text(sha), sha);
    }

    proptest::proptest! {
        /// A secret embedded anywhere, in any of the shapes above, never survives.
        #[test]
        fn a_secret_anywhere_never_appears_in_the_record(
            pre in ".{0,40}",
            post in ".{0,40}",
            secret in "[A-Za-z0-9]{12,30}",
            shape in 0usize..8,
        ) {
            let text = match shape {
                0 => format!("{pre} DB_PASSWORD={secret} {post}"),
                1 => format!("{pre} https://user:{secret}@host/path {post}"),
                2 => format!("{pre} Authorization: Bearer {secret} {post}"),
                3 => format!("{pre}\n-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n{post}"),
                4 => format!("{pre} --password {secret} {post}"),
                5 => format!("{pre} -p {secret} {post}"),
                6 => format!("{pre} api_token:{secret} {post}"),
                _ => format!("{pre} passphrase={secret} {post}"),
            };
            let out = redact_text(&text);
            proptest::prop_assert!(!out.contains(&secret), "{text:?} → {out:?}");
            let v = redact_value(&json!({"message": text, "smtp_pass": secret}));
            proptest::prop_assert!(!v.to_string().contains(&secret));
        }
    }
}
