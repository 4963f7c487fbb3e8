//! The incident-response settings: `[incidents]` thresholds, the shared `[timeline]`,
//! `[notify]` hooks and `[actions]` reasons. Read and checked like every other section: a bad
//! value names its file, line and key before the console starts.

use std::path::PathBuf;

use serde::Deserialize;

use super::Config;
use super::load::Invalid;
use crate::notify::WebhookConfig;
use crate::state::ReasonPolicy;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartialIncidents {
    below_desired_grace_secs: Option<u64>,
    crash_loop_failures: Option<u32>,
    crash_loop_window_secs: Option<u64>,
    intent_window_secs: Option<u64>,
    resolved_keep_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartialTimeline {
    path: Option<PathBuf>,
    keep_secs: Option<u64>,
    max_bytes: Option<u64>,
    group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartialNotify {
    bell: Option<bool>,
    on: Option<Vec<String>>,
    command: Option<Vec<String>>,
    webhook: Option<WebhookConfig>,
    retries: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartialActions {
    reason: Option<String>,
}

/// The four sections as written in one file.
#[derive(Debug, Default)]
pub(super) struct Response<'a> {
    pub incidents: Option<&'a PartialIncidents>,
    pub timeline: Option<&'a PartialTimeline>,
    pub notify: Option<&'a PartialNotify>,
    pub actions: Option<&'a PartialActions>,
}

const TRANSITIONS: &[&str] = &["new", "escalated", "resolved"];

pub(super) fn validate(r: &Response) -> Result<(), Invalid> {
    if let Some(i) = r.incidents {
        if i.crash_loop_failures == Some(0) {
            return Err(Invalid::value(
                "incidents.crash_loop_failures",
                "must be at least 1",
            ));
        }
        for (key, v) in [
            ("crash_loop_window_secs", i.crash_loop_window_secs),
            ("resolved_keep_secs", i.resolved_keep_secs),
        ] {
            if v == Some(0) {
                return Err(Invalid::value(
                    format!("incidents.{key}"),
                    "must be at least 1 second",
                ));
            }
        }
    }
    if let Some(t) = r.timeline {
        if t.path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(Invalid::value(
                "timeline.path",
                "is empty; remove it to use the default",
            ));
        }
        if t.keep_secs.is_some_and(|k| k < 60) {
            return Err(Invalid::value("timeline.keep_secs", "must be at least 60"));
        }
        if t.max_bytes.is_some_and(|m| m < 65536) {
            return Err(Invalid::value(
                "timeline.max_bytes",
                "must be at least 65536 (64 KiB)",
            ));
        }
    }
    if let Some(n) = r.notify {
        validate_notify(n)?;
    }
    if let Some(reason) = r.actions.and_then(|a| a.reason.as_deref())
        && ReasonPolicy::parse(reason).is_none()
    {
        return Err(Invalid::value(
            "actions.reason",
            format!("`{reason}`: expected \"optional\", \"production\" or \"always\""),
        ));
    }
    Ok(())
}

fn validate_notify(n: &PartialNotify) -> Result<(), Invalid> {
    if let Some(on) = &n.on
        && let Some(i) = on.iter().position(|o| !TRANSITIONS.contains(&o.as_str()))
    {
        return Err(Invalid::value(
            format!("notify.on[{i}]"),
            format!("`{}`: expected one of {}", on[i], TRANSITIONS.join(", ")),
        ));
    }
    if n.command
        .as_ref()
        .is_some_and(|c| c.is_empty() || c[0].trim().is_empty())
    {
        return Err(Invalid::value(
            "notify.command",
            "expected the program and its arguments, e.g. [\"/usr/local/bin/page\", \"--team\", \"ops\"]",
        ));
    }
    if let Some(w) = &n.webhook {
        if !(w.url.starts_with("http://") || w.url.starts_with("https://"))
            || w.url.parse::<http::Uri>().is_err()
        {
            return Err(Invalid::value(
                "notify.webhook.url",
                "expected an http:// or https:// URL",
            ));
        }
        let names = w
            .headers
            .keys()
            .chain(w.headers_from_env.keys())
            .chain(w.headers_from_file.keys());
        for h in names {
            if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(Invalid::value(
                    "notify.webhook",
                    format!("`{h}` is not a valid HTTP header name"),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn overlay(
    base: &mut Config,
    incidents: Option<PartialIncidents>,
    timeline: Option<PartialTimeline>,
    notify: Option<PartialNotify>,
    actions: Option<PartialActions>,
) {
    if let Some(i) = incidents {
        let t = &mut base.incidents;
        t.below_desired_grace_secs = i
            .below_desired_grace_secs
            .unwrap_or(t.below_desired_grace_secs);
        t.crash_loop_failures = i.crash_loop_failures.unwrap_or(t.crash_loop_failures);
        t.crash_loop_window_secs = i.crash_loop_window_secs.unwrap_or(t.crash_loop_window_secs);
        t.intent_window_secs = i.intent_window_secs.unwrap_or(t.intent_window_secs);
        t.resolved_keep_secs = i.resolved_keep_secs.unwrap_or(t.resolved_keep_secs);
    }
    if let Some(tl) = timeline {
        let t = &mut base.timeline;
        t.path = tl.path.or(t.path.take());
        t.keep_secs = tl.keep_secs.unwrap_or(t.keep_secs);
        t.max_bytes = tl.max_bytes.unwrap_or(t.max_bytes);
        t.group = tl.group.or(t.group.take());
    }
    if let Some(n) = notify {
        let c = &mut base.notify;
        c.bell = n.bell.or(c.bell);
        if let Some(on) = n.on {
            c.on = on;
        }
        if let Some(cmd) = n.command {
            c.command = cmd;
        }
        c.webhook = n.webhook.or(c.webhook.take());
        c.retries = n.retries.unwrap_or(c.retries);
    }
    if let Some(reason) = actions
        .and_then(|a| a.reason)
        .and_then(|r| ReasonPolicy::parse(&r))
    {
        base.actions.reason = reason;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use std::path::Path;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_user_str(text, Path::new("/etc/cd.toml"))
    }

    #[test]
    fn the_sections_are_read_over_the_defaults() {
        let c = load(
            "[incidents]\ncrash_loop_failures = 5\n[notify]\nbell = false\ncommand = [\"page\"]\n[actions]\nreason = \"production\"\n[timeline]\nkeep_secs = 3600\n",
        )
        .expect("valid");
        assert_eq!(c.incidents.crash_loop_failures, 5);
        assert_eq!(c.incidents.below_desired_grace_secs, 30, "default kept");
        assert_eq!(c.notify.bell, Some(false));
        assert_eq!(c.notify.on.len(), 3, "default kept");
        assert_eq!(c.notify.command, vec!["page".to_string()]);
        assert_eq!(c.actions.reason, crate::state::ReasonPolicy::Production);
        assert_eq!(c.timeline.keep_secs, 3600);
        assert_eq!(c.timeline.max_bytes, 16 * 1024 * 1024);
    }

    #[test]
    fn bad_values_name_the_file_line_and_key() {
        for (text, line, key, words) in [
            (
                "[notify]\non = [\"new\", \"gone\"]\n",
                2,
                "notify.on[1]",
                "`gone`",
            ),
            (
                "[incidents]\n\ncrash_loop_failures = 0\n",
                3,
                "incidents.crash_loop_failures",
                "at least 1",
            ),
            (
                "[notify]\nwebhook = { url = \"ftp://x\" }\n",
                2,
                "notify.webhook.url",
                "http",
            ),
            (
                "[actions]\nreason = \"sometimes\"\n",
                2,
                "actions.reason",
                "\"optional\"",
            ),
            (
                "[timeline]\nmax_bytes = 10\n",
                2,
                "timeline.max_bytes",
                "65536",
            ),
        ] {
            let e = load(text).expect_err(text);
            assert_eq!(e.line, Some(line), "{e}");
            assert_eq!(e.key.as_deref(), Some(key), "{e}");
            assert!(e.message.contains(words), "{e}");
        }
        let e = load("[incidents]\ncrash_loop_failurs = 2\n").expect_err("typo");
        assert!(e.to_string().contains("crash_loop_failurs"), "{e}");
    }
}
