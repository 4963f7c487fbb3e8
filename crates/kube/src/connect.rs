//! Connecting as kubectl does (the kubeconfig, `KUBECONFIG` merged, the chosen context and its
//! auth: client certificates, tokens, exec plugins), and saying what went wrong in words an
//! operator can act on.

use std::path::PathBuf;

use http_body_util::BodyExt;
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::KubeSettings;
use clusterdeck_model::ControlCheck;

pub struct Conn {
    pub client: Client,
    /// For writes: no automatic retry, so a 429 from an eviction a PodDisruptionBudget
    /// refuses comes back at once (the drain retries it itself, and reports it).
    pub writer: Client,
    pub server: String,
    /// The kubeconfig says `insecure-skip-tls-verify: true`.
    pub tls_unverified: bool,
    /// None: every namespace.
    pub namespace: Option<String>,
    /// The context's namespace, used when listing every namespace is forbidden.
    pub fallback_namespace: Option<String>,
}

/// Why there is no connection: the kubeconfig says nothing usable (nothing to retry until
/// it changes), or reaching the server failed (a credential plugin, a certificate file; tried
/// again).
#[derive(Debug)]
pub enum ConnectError {
    NotConfigured(String),
    Failed(String),
}

/// The kubeconfig as kubectl reads it: the file given, or `KUBECONFIG` merged in order with
/// missing files skipped, or `~/.kube/config`; and where it came from, for messages.
fn read_kubeconfig(s: &KubeSettings) -> Result<(Kubeconfig, String), String> {
    // kubectl writes `current-context: ""` into files it creates; empty means unset, or it
    // would win the merge over a later file's real context.
    let unset_empty = |mut kc: Kubeconfig| {
        kc.current_context = kc.current_context.filter(|c| !c.is_empty());
        kc
    };
    let read = |p: &std::path::Path| {
        Kubeconfig::read_from(p)
            .map(unset_empty)
            .map_err(|e| format!("kubeconfig {}: {e}", p.display()))
    };
    if let Some(p) = &s.kubeconfig {
        return Ok((read(p)?, p.display().to_string()));
    }
    let list = std::env::var_os("KUBECONFIG").filter(|l| !l.is_empty());
    let Some(list) = list else {
        let kc = Kubeconfig::read()
            .map(unset_empty)
            .map_err(|e| format!("no usable kubeconfig (KUBECONFIG unset, ~/.kube/config): {e}"))?;
        return Ok((kc, "~/.kube/config".into()));
    };
    let files: Vec<PathBuf> = std::env::split_paths(&list)
        .filter(|p| p.is_file())
        .collect();
    if files.is_empty() {
        return Err(format!(
            "no file named in KUBECONFIG ({}) exists",
            list.to_string_lossy()
        ));
    }
    let mut merged = Kubeconfig::default();
    for f in &files {
        let kc = read(f)?;
        merged = merged
            .merge(kc)
            .map_err(|e| format!("KUBECONFIG: merging {}: {e}", f.display()))?;
    }
    let source = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    Ok((merged, format!("KUBECONFIG ({source})")))
}

/// A credential plugin waiting for a browser sign-in, or a hung one, must not hold the
/// backend (or the quit) forever.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A client connected once and kept for the followers that read beside the backend (logs,
/// describe); held under the lock while connecting, so one waiting plugin serves them all.
pub async fn cached(
    s: &KubeSettings,
    cache: &tokio::sync::Mutex<Option<Client>>,
) -> Result<Client, String> {
    let mut c = cache.lock().await;
    if let Some(client) = c.as_ref() {
        return Ok(client.clone());
    }
    match connect(s).await {
        Ok(conn) => Ok(c.insert(conn.client).clone()),
        Err(ConnectError::NotConfigured(why) | ConnectError::Failed(why)) => Err(why),
    }
}

pub async fn connect(s: &KubeSettings) -> Result<Conn, ConnectError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(s))
        .await
        .unwrap_or_else(|_| {
            Err(ConnectError::Failed(format!(
                "no connection after {} s (a credential plugin waiting for a sign-in?)",
                CONNECT_TIMEOUT.as_secs()
            )))
        })
}

async fn connect_inner(s: &KubeSettings) -> Result<Conn, ConnectError> {
    use ConnectError::{Failed, NotConfigured};
    let (mut kc, source) = read_kubeconfig(s).map_err(NotConfigured)?;
    // The console owns the terminal: a credential plugin must not read the operator's keys or
    // write over the screen (kube would hand it our stdin and stderr otherwise).
    for a in &mut kc.auth_infos {
        if let Some(exec) = a.auth_info.as_mut().and_then(|i| i.exec.as_mut()) {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
        }
    }
    let context = s.context.clone().or_else(|| kc.current_context.clone());
    if context.is_none() {
        return Err(NotConfigured(format!(
            "{source} has no current-context; run `kubectl config use-context NAME` or set \
             [[contexts]] kube.context in config.toml"
        )));
    }
    if let Some(c) = &context
        && !kc.contexts.iter().any(|n| &n.name == c)
    {
        let known: Vec<&str> = kc.contexts.iter().map(|n| n.name.as_str()).collect();
        return Err(NotConfigured(format!(
            "context `{c}` is not in {source} (it has: {})",
            known.join(", ")
        )));
    }
    let fallback_namespace = kc
        .contexts
        .iter()
        .find(|n| Some(&n.name) == context.as_ref())
        .and_then(|n| n.context.as_ref())
        .and_then(|c| c.namespace.clone());
    // The context's credential plugin, to name it when it fails.
    let plugin = context
        .as_ref()
        .and_then(|c| kc.contexts.iter().find(|n| &n.name == c))
        .and_then(|n| n.context.as_ref())
        .and_then(|c| c.user.as_ref())
        .and_then(|u| kc.auth_infos.iter().find(|a| &a.name == u))
        .and_then(|a| a.auth_info.as_ref()?.exec.as_ref()?.command.clone())
        .unwrap_or_default();
    let describe = |e: &(dyn std::error::Error + 'static)| describe_connect_error(e, &plugin);
    let options = KubeConfigOptions {
        context,
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| Failed(format!("kubeconfig {source}: {}", describe(&e))))?;
    let server = config.cluster_url.to_string();
    let tls_unverified = config.accept_invalid_certs;
    let mut write_config = config.clone();
    write_config.default_retry = false;
    // Writes and the reads around them are short: bounded, so a silent partition fails them
    // instead of leaving them to arrive when packets flow again. (Watches keep the long
    // read timeout their long polls need; the liveness signal covers them.)
    write_config.connect_timeout = Some(std::time::Duration::from_secs(5));
    write_config.read_timeout = Some(std::time::Duration::from_secs(15));
    write_config.write_timeout = Some(std::time::Duration::from_secs(15));
    // Building a client may run a credential plugin, synchronously: off the async workers.
    let built = tokio::task::spawn_blocking(move || {
        Ok::<_, kube::Error>((Client::try_from(config)?, Client::try_from(write_config)?))
    })
    .await
    .map_err(|e| Failed(e.to_string()))?;
    let (client, writer) = built.map_err(|e| Failed(format!("{server}: {}", describe(&e))))?;
    Ok(Conn {
        client,
        writer,
        server,
        tls_unverified,
        namespace: s.namespace.clone(),
        fallback_namespace,
    })
}

/// The API server's own readiness checks, or `Err` when it did not answer at all (an answer
/// that is not a list of checks, such as 403, is one failing check).
pub async fn readyz(client: &Client) -> Result<Vec<ControlCheck>, String> {
    let failed = |detail: String| {
        vec![ControlCheck {
            name: "readyz".into(),
            ok: false,
            detail,
        }]
    };
    let req = http::Request::get("/readyz?verbose")
        .body(kube::client::Body::empty())
        .map_err(|e| e.to_string())?;
    let resp = client.send(req).await.map_err(|e| innermost(&e))?;
    let status = resp.status();
    let body = match resp.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => return Err(e.to_string()),
    };
    let checks = crate::parse_readyz(&body);
    if checks.is_empty() {
        // Forbidden, or not a Kubernetes API server.
        return Ok(failed(format!("HTTP {status}: {}", body.trim())));
    }
    Ok(checks)
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

/// A credential plugin's failure in a line an operator can act on (kube's own message is a
/// debug dump of the process output); other errors by their innermost cause.
fn describe_connect_error(e: &(dyn std::error::Error + 'static), plugin: &str) -> String {
    use kube::client::AuthError;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(a) = err.downcast_ref::<AuthError>() {
            return match a {
                AuthError::AuthExecRun { out, .. } => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    format!(
                        "credential plugin {plugin} failed ({}): {}",
                        out.status,
                        stderr.trim()
                    )
                }
                AuthError::AuthExecStart(io) => {
                    format!("credential plugin {plugin} could not be started: {io}")
                }
                other => format!("credentials: {other}"),
            };
        }
        cur = err.source();
    }
    innermost(e)
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
