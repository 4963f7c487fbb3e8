//! Connecting as kubectl does (the kubeconfig, `KUBECONFIG` merged, the chosen context and its
//! auth: client certificates, tokens, exec plugins), and saying what went wrong in words an
//! operator can act on.

use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::KubeSettings;
use crate::model::ControlCheck;

pub struct Conn {
    pub client: Client,
    /// For writes: no automatic retry, so a 429 from an eviction a PodDisruptionBudget
    /// refuses comes back at once (the drain retries it itself, and reports it).
    pub writer: Client,
    pub server: String,
    /// None: every namespace.
    pub namespace: Option<String>,
    /// The context's namespace, used when listing every namespace is forbidden.
    pub fallback_namespace: Option<String>,
}

pub async fn connect(s: &KubeSettings) -> Result<Conn, String> {
    let (kc, source) = match &s.kubeconfig {
        Some(p) => (
            Kubeconfig::read_from(p).map_err(|e| format!("kubeconfig {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            Kubeconfig::read().map_err(|e| {
                format!("no usable kubeconfig (KUBECONFIG, then ~/.kube/config): {e}")
            })?,
            "KUBECONFIG / ~/.kube/config".to_string(),
        ),
    };
    let context = s.context.clone().or_else(|| kc.current_context.clone());
    if let Some(c) = &context
        && !kc.contexts.iter().any(|n| &n.name == c)
    {
        let known: Vec<&str> = kc.contexts.iter().map(|n| n.name.as_str()).collect();
        return Err(format!(
            "context `{c}` is not in {source} (it has: {})",
            known.join(", ")
        ));
    }
    let fallback_namespace = kc
        .contexts
        .iter()
        .find(|n| Some(&n.name) == context.as_ref())
        .and_then(|n| n.context.as_ref())
        .and_then(|c| c.namespace.clone());
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| format!("kubeconfig {source}: {e}"))?;
    let server = config.cluster_url.to_string();
    let mut write_config = config.clone();
    write_config.default_retry = false;
    let client = Client::try_from(config).map_err(|e| format!("{server}: {e}"))?;
    let writer = Client::try_from(write_config).map_err(|e| format!("{server}: {e}"))?;
    Ok(Conn {
        client,
        writer,
        server,
        namespace: s.namespace.clone(),
        fallback_namespace,
    })
}

/// The API server's own readiness checks. A server that does not answer is one failing check.
pub async fn readyz(client: &Client) -> Vec<ControlCheck> {
    let failed = |detail: String| {
        vec![ControlCheck {
            name: "readyz".into(),
            ok: false,
            detail,
        }]
    };
    let req = match http::Request::get("/readyz?verbose").body(kube::client::Body::empty()) {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let resp = match client.send(req).await {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let status = resp.status();
    let body = match resp.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => return failed(e.to_string()),
    };
    let checks = super::parse_readyz(&body);
    if checks.is_empty() {
        // Forbidden, or not a Kubernetes API server.
        return failed(format!("HTTP {status}: {}", body.trim()));
    }
    checks
}

/// The words for a watcher error, and whether it is RBAC saying no.
pub fn describe_watch_error(e: &kube::runtime::watcher::Error, resource: &str) -> (String, bool) {
    use kube::runtime::watcher::Error as W;
    let client_err = match e {
        W::InitialListFailed(c) | W::WatchStartFailed(c) | W::WatchFailed(c) => c,
        W::WatchError(s) => return (format!("{resource}: {}", s.message), s.code == 403),
        W::NoResourceVersion => return (e.to_string(), false),
    };
    match client_err {
        kube::Error::Api(s) if s.code == 403 => (format!("forbidden: {}", s.message), true),
        kube::Error::Api(s) if s.code == 401 => (
            format!(
                "unauthorized: the credentials were rejected ({}); check the kubeconfig user",
                s.message
            ),
            false,
        ),
        other => (innermost(other), false),
    }
}

fn innermost(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = s.to_string();
        source = s.source();
    }
    msg
}
