//! Typed values: checking one as the operator types it, filling in defaults, and the form the
//! audit log keeps.

use std::collections::BTreeMap;

use crate::hook::{Hook, Param};
use crate::pattern::Pattern;

/// What secret values are replaced with.
pub const MASK: &str = "***";

/// Checks one typed value: non-empty unless the parameter has a default, no control characters
/// (they would garble the pane and the audit log, and no tool wants them), and the pattern if
/// any. The error is a sentence for the prompt line.
pub fn validate(param: &Param, value: &str) -> Result<(), String> {
    let name = &param.name;
    if value.is_empty() {
        return match param.default {
            Some(_) => Ok(()),
            None => Err(format!("{name} needs a value")),
        };
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{name} must not contain control characters (found U+{:04X})",
            u32::from(c)
        ));
    }
    match &param.pattern {
        Some(p) => Pattern::parse(p)?.check(name, value),
        None => Ok(()),
    }
}

/// The values a run uses: each parameter's typed value, or its default when the value is
/// missing or empty, each one validated. Keys naming no parameter are left out.
pub fn resolve(
    hook: &Hook,
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in &hook.params {
        let typed = values.get(&p.name).map(String::as_str).unwrap_or("");
        validate(p, typed)?;
        let value = match (typed, &p.default) {
            ("", Some(d)) => {
                validate(p, d).map_err(|e| format!("the default of {}: {e}", p.name))?;
                d.clone()
            }
            (v, _) => v.to_string(),
        };
        out.insert(p.name.clone(), value);
    }
    Ok(out)
}

/// The hook's parameters with the values a run uses (defaults filled in), secret ones as
/// `***`: what the audit log records. Keys naming no parameter are left out.
pub fn redacted(hook: &Hook, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    hook.params
        .iter()
        .map(|p| {
            let typed = values.get(&p.name).filter(|v| !v.is_empty());
            let value = match (p.secret, typed, &p.default) {
                (true, _, _) => MASK.to_string(),
                (false, Some(v), _) => v.clone(),
                (false, None, Some(d)) => d.clone(),
                (false, None, None) => String::new(),
            };
            (p.name.clone(), value)
        })
        .collect()
}

/// Replaces secret values (parameters', the Jenkins token) with `***` in text this crate
/// passes on: stages, failures, and the output lines too, as Jenkins masks password
/// parameters in its console.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// The secret parameters' values among `resolved`.
    pub(crate) fn for_params(hook: &Hook, resolved: &BTreeMap<String, String>) -> Redactor {
        let mut r = Redactor::default();
        for p in hook.params.iter().filter(|p| p.secret) {
            if let Some(v) = resolved.get(&p.name) {
                r.add(v);
            }
        }
        r
    }

    pub(crate) fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub(crate) fn apply(&self, text: String) -> String {
        let mut text = text;
        for s in &self.secrets {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), MASK);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longer_secret_is_masked_whole() {
        let mut r = Redactor::default();
        r.add("abc");
        r.add("abcdef");
        r.add("");
        assert_eq!(r.apply("x abcdef y abc".into()), "x *** y ***");
        assert_eq!(r.apply("nothing".into()), "nothing");
    }
}
