//! Notification hooks (`[notify]`): new, escalated and resolved incidents sent to a command
//! (the incident as JSON on its stdin) and to a webhook (POST JSON, headers from the config,
//! secret values from the environment or a file, never written anywhere by clusterdeck).
//!
//! A bounded queue feeds one worker, so a slow or dead receiver never slows the console; each
//! delivery is retried with backoff; what failed last is shown in the header until a delivery
//! succeeds again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::incidents::{Notice, Transition};

/// Notifications waiting; more are dropped (and counted in the failure shown).
const QUEUE: usize = 64;
/// Each try of a command or a POST gets this long.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NotifyConfig {
    /// Ring the terminal bell on a new critical incident. None: on in the console, off on the
    /// wall.
    pub bell: Option<bool>,
    /// Which transitions are sent: "new", "escalated", "resolved".
    pub on: Vec<String>,
    /// argv of a command run with the incident as JSON on stdin.
    pub command: Vec<String>,
    pub webhook: Option<WebhookConfig>,
    /// Tries after the first.
    pub retries: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Plain header values (no secrets here: the config is not a secret store).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header → the environment variable holding its value.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Header → a file holding its value (trailing newline dropped).
    #[serde(default)]
    pub headers_from_file: BTreeMap<String, PathBuf>,
}

impl NotifyConfig {
    fn wants(&self, t: Transition) -> bool {
        let name = match t {
            Transition::New => "new",
            Transition::Escalated => "escalated",
            Transition::Resolved => "resolved",
        };
        self.on.iter().any(|o| o == name)
    }

    pub fn has_hooks(&self) -> bool {
        !self.command.is_empty() || self.webhook.is_some()
    }
}

/// What a hook receives.
#[derive(Clone, Debug, Serialize)]
pub struct Payload {
    pub transition: Transition,
    pub at: String,
    pub context: String,
    pub kind: &'static str,
    pub title: &'static str,
    pub severity: &'static str,
    pub summary: String,
    pub since: Option<String>,
    pub affected: Vec<PayloadObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PayloadObject {
    pub object: String,
    pub detail: String,
    pub since: String,
    pub evidence: Vec<String>,
}

impl Payload {
    pub fn from_notice(n: &Notice) -> Payload {
        let i = &n.incident;
        Payload {
            transition: n.transition,
            at: n.at.to_rfc3339(),
            context: i.cluster.clone(),
            kind: i.kind.slug(),
            title: i.kind.label(),
            severity: if i.kind.is_critical() {
                "critical"
            } else {
                "warning"
            },
            summary: i.summary(),
            since: i.since().map(|s| s.to_rfc3339()),
            affected: i
                .affected
                .iter()
                .map(|a| PayloadObject {
                    object: a.object.clone(),
                    detail: a.detail.clone(),
                    since: a.since.to_rfc3339(),
                    evidence: a.evidence.clone(),
                })
                .collect(),
            acked_by: i.ack().map(|a| a.who.clone()),
        }
    }
}

pub struct Notifier {
    config: NotifyConfig,
    tx: mpsc::Sender<Vec<u8>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Notifier {
    /// Starts the worker on the current runtime; None without hooks or a runtime.
    pub fn spawn(config: NotifyConfig) -> Option<Notifier> {
        if !config.has_hooks() {
            return None;
        }
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let failure = Arc::new(Mutex::new(None));
        rt.spawn(worker(config.clone(), rx, failure.clone()));
        Some(Notifier {
            config,
            tx,
            failure,
        })
    }

    /// Queues a notice the config asks for; a full queue drops it and says so.
    pub fn send(&self, n: &Notice) {
        if !self.config.wants(n.transition) {
            return;
        }
        let Ok(body) = serde_json::to_vec(&Payload::from_notice(n)) else {
            return;
        };
        if self.tx.try_send(body).is_err() {
            set(
                &self.failure,
                Some("notification queue full: a notification was dropped".into()),
            );
        }
    }

    /// Why the last delivery failed, while no later one succeeded.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

fn set(slot: &Mutex<Option<String>>, v: Option<String>) {
    if let Ok(mut f) = slot.lock() {
        *f = v;
    }
}

async fn worker(
    config: NotifyConfig,
    mut rx: mpsc::Receiver<Vec<u8>>,
    failure: Arc<Mutex<Option<String>>>,
) {
    while let Some(body) = rx.recv().await {
        let mut errors = Vec::new();
        if !config.command.is_empty()
            && let Err(e) =
                with_retries(config.retries, || run_command(&config.command, &body)).await
        {
            errors.push(format!("notify command: {e}"));
        }
        if let Some(w) = &config.webhook
            && let Err(e) = with_retries(config.retries, || post(w, &body)).await
        {
            errors.push(format!("webhook: {e}"));
        }
        set(&failure, (!errors.is_empty()).then(|| errors.join("; ")));
    }
}

async fn with_retries<F, Fut>(retries: u32, mut attempt: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut delay = Duration::from_millis(500);
    let mut last = String::new();
    for n in 0..=retries {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        if n < retries {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
    Err(format!("{last} (after {} tries)", retries + 1))
}

async fn run_command(argv: &[String], body: &[u8]) -> Result<(), String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        // Written, then closed so the command sees the end; one that does not read is its
        // own problem, not a hang here.
        let _ = tokio::time::timeout(TRY_TIMEOUT, stdin.write_all(body)).await;
    }
    let status = tokio::time::timeout(TRY_TIMEOUT, child.wait())
        .await
        .map_err(|_| format!("{prog}: still running after {} s", TRY_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{prog}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{prog}: {status}"))
    }
}

async fn post(w: &WebhookConfig, body: &[u8]) -> Result<(), String> {
    let mut headers: Vec<(String, String)> = w
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (h, var) in &w.headers_from_env {
        let v = std::env::var(var).map_err(|_| format!("header {h}: ${var} is not set"))?;
        headers.push((h.clone(), v));
    }
    for (h, path) in &w.headers_from_file {
        let v = std::fs::read_to_string(path)
            .map_err(|e| format!("header {h}: {}: {e}", path.display()))?;
        headers.push((h.clone(), v.trim_end_matches(['\n', '\r']).to_string()));
    }
    crate::backends::webhook::post_json(&w.url, &headers, body.to_vec(), TRY_TIMEOUT)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::{Affected, Incident, IncidentKind};

    fn notice(transition: Transition) -> Notice {
        let at = chrono::Utc::now();
        Notice {
            transition,
            at,
            incident: Incident {
                cluster: "prod".into(),
                kind: IncidentKind::NodeDown,
                affected: vec![Affected {
                    object: "mgr3".into(),
                    detail: "manager down".into(),
                    since: at,
                    jump: None,
                    evidence: vec![],
                }],
                opened: at,
                changes: vec![],
                notes: vec![],
            },
        }
    }

    fn wait(what: &str, mut f: impl FnMut() -> bool) {
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(std::time::Instant::now() < until, "timed out: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_command_gets_the_incident_on_stdin_and_a_failing_one_is_reported() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let _e = rt.enter();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("got.json");
        let n = Notifier::spawn(NotifyConfig {
            on: vec!["new".into()],
            command: vec![
                "sh".into(),
                "-c".into(),
                format!("cat >> {}", out.display()),
            ],
            ..NotifyConfig::default()
        })
        .expect("notifier");
        n.send(&notice(Transition::Resolved)); // not asked for
        n.send(&notice(Transition::New));
        wait("the command's output", || {
            std::fs::read_to_string(&out).is_ok_and(|s| s.ends_with('}'))
        });
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("one JSON");
        assert_eq!(got["transition"], "new");
        assert_eq!(got["kind"], "node-down");
        assert_eq!(got["affected"][0]["object"], "mgr3");
        assert_eq!(n.failure(), None);

        let bad = Notifier::spawn(NotifyConfig {
            on: vec!["new".into()],
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
            retries: 1,
            ..NotifyConfig::default()
        })
        .expect("notifier");
        bad.send(&notice(Transition::New));
        wait("the failure", || bad.failure().is_some());
        let f = bad.failure().unwrap_or_default();
        assert!(
            f.contains("exit status: 3") && f.contains("after 2 tries"),
            "{f}"
        );
    }

    #[test]
    fn a_webhook_that_is_down_is_retried_then_reported() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let _e = rt.enter();
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let n = Notifier::spawn(NotifyConfig {
            on: vec!["new".into()],
            webhook: Some(WebhookConfig {
                url: format!("http://127.0.0.1:{port}/hook"),
                ..WebhookConfig::default()
            }),
            retries: 1,
            ..NotifyConfig::default()
        })
        .expect("notifier");
        n.send(&notice(Transition::New));
        wait("the failure", || n.failure().is_some());
        let f = n.failure().unwrap_or_default();
        assert!(
            f.starts_with("webhook:") && f.contains("after 2 tries"),
            "{f}"
        );
    }
}
