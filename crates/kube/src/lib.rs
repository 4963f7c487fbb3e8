//! The Kubernetes backend. One watcher (kube-runtime: list, then watch, resuming from the last
//! resource version and relisting with backoff) per kind: nodes, deployments, statefulsets,
//! daemonsets, pods, events, and replicasets (only as Deployments' revision history, so a
//! rollback's plan can name the image it restores). Objects are converted as they arrive and
//! only the model is kept, so memory follows the model, not the API objects. Changes are
//! batched every 100 ms; the first full snapshot goes out once every kind has listed (or was
//! refused).
//!
//! kube has no client-side rate limiter (client-go's 5 requests/s default is what throttled
//! k9s on large clusters for years); watches make the steady state one stream per kind.
//!
//! A kind the credentials may not list is reported as `Change::Denied` with the server's
//! words, and the rest of the panes fill as usual. Listing every namespace when only one is
//! allowed falls back to the context's namespace.

mod aggregate;
mod connect;
pub mod convert;
mod describe;
mod exec;
mod history;
mod logs;
mod usage;
mod watch;

pub use describe::spawn_reader;
pub use logs::spawn_logs;
pub use usage::spawn_usage;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use clusterdeck_kit::{BackendHandle, BackendMsg, Change, Reporter, Writer, next_op};
use clusterdeck_model::{ControlCheck, SourceKind, SourceState};

#[derive(Clone, Debug, Default)]
pub struct KubeSettings {
    pub cluster: String,
    /// A kubeconfig file; None: `KUBECONFIG` (a merged list) or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// None: the kubeconfig's current context.
    pub context: Option<String>,
    /// None: every namespace.
    pub namespace: Option<String>,
}

/// The API server's readiness is asked this often, each time within `ANSWER_WITHIN`; with
/// no answer for `STALE_AFTER` the source is stale (a silent partition shows within 15 s).
const ALIVE_EVERY: Duration = Duration::from_secs(3);
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
const STALE_AFTER: Duration = Duration::from_secs(8);
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A failed connection is tried again after this, doubling up to the maximum.
const CONNECT_BACKOFF_MIN: Duration = Duration::from_secs(2);
const CONNECT_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Starts the backend; with `writable` it also executes the operations the gate releases to
/// the returned handle.
pub fn spawn(
    settings: KubeSettings,
    writable: bool,
    tx: mpsc::Sender<BackendMsg>,
) -> Option<BackendHandle> {
    let cluster = settings.cluster.clone();
    clusterdeck_kit::spawn(
        &cluster,
        SourceKind::Kubernetes,
        writable,
        tx,
        move |rep, w| run(settings.clone(), rep, w),
    )
}

/// Connects (retrying with backoff, refusing operations meanwhile), or None once the console
/// has gone.
async fn connect_retrying(
    s: &KubeSettings,
    rep: &mut Reporter,
    ops: &mut Option<Writer>,
) -> Option<connect::Conn> {
    let mut backoff = CONNECT_BACKOFF_MIN;
    loop {
        let (state, why, wait) = match connect::connect(s).await {
            Ok(c) => return Some(c),
            // The kubeconfig is read again each time: `aws eks update-kubeconfig` or a
            // `kubectl config use-context` in another shell is picked up, without hurry.
            Err(connect::ConnectError::NotConfigured(hint)) => (
                SourceState::NotConfigured { hint },
                "Kubernetes is not configured".to_string(),
                CONNECT_BACKOFF_MAX,
            ),
            // A credential plugin that failed (an expired login) may work next time, as it
            // would for kubectl: try again, slower each time.
            Err(connect::ConnectError::Failed(reason)) => {
                let why = format!("Kubernetes is unreachable: {reason}");
                let wait = backoff;
                backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
                (SourceState::Unreachable { reason }, why, wait)
            }
        };
        if !rep.health(state).await || !rep.refuse_for(ops, wait, &why).await {
            return None;
        }
    }
}

async fn run(s: KubeSettings, mut rep: Reporter, mut ops: Option<Writer>) {
    if !rep.health(SourceState::Connecting).await {
        return;
    }
    let Some(conn) = connect_retrying(&s, &mut rep, &mut ops).await else {
        return;
    };
    rep.set_endpoint(Some(conn.server.clone()));
    rep.set_tls_unverified(conn.tls_unverified);
    let mut watching = Watching::start(&conn);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let executor = exec::Executor::new(conn.writer.clone(), rep.clone());
    // The liveness signal, independent of data arriving (a watch is silent when nothing
    // changes): /readyz, in a task of its own.
    let client = conn.client.clone();
    let mut alive = clusterdeck_kit::liveness(ALIVE_EVERY, ANSWER_WITHIN, move || {
        let client = client.clone();
        async move { connect::readyz(&client).await }
    });
    let mut last_answer = Instant::now();
    // Set while the API server does not answer: why, shown as the source's state.
    let mut partitioned: Option<String> = None;
    loop {
        tokio::select! {
            _ = rep.closed() => break,
            // While partitioned the watchers are stopped and their channel closed.
            m = watching.rx.recv(), if partitioned.is_none() => match m {
                Some(m) => watching.agg.take(m),
                None => break,
            },
            _ = flush.tick(), if partitioned.is_none() => {
                if !watching.agg.flush(&mut rep).await {
                    break;
                }
            }
            answer = alive.recv() => match answer {
                Some(Ok(checks)) => {
                    last_answer = Instant::now();
                    watching.agg.push(Change::ControlPlane(checks));
                    if partitioned.take().is_some() {
                        // Back: watch afresh (the old connections may still hang); the new
                        // snapshot replaces the stale data and the state follows it.
                        watching = Watching::start(&conn);
                    }
                }
                Some(Err(why)) => {
                    let silent = last_answer.elapsed();
                    if partitioned.is_none() && silent >= STALE_AFTER {
                        let reason = format!(
                            "no answer from {} for {} s ({why})",
                            conn.server,
                            silent.as_secs()
                        );
                        watching.stop();
                        if !rep.health(SourceState::Unreachable { reason: reason.clone() }).await {
                            break;
                        }
                        partitioned = Some(reason);
                    }
                }
                None => break,
            },
            cmd = next_op(&mut ops) => match cmd {
                Some(cmd) => match &partitioned {
                    // Never sent later against a cluster that may have changed meanwhile.
                    Some(why) => {
                        let msg = format!("refused: source went stale: {why}; nothing sent");
                        if !rep.outcome(cmd.op_id, Err(msg)).await {
                            break;
                        }
                    }
                    None => {
                        if let Some(w) = &ops {
                            executor.start(w, cmd);
                        }
                    }
                },
                None => ops = None,
            }
        }
    }
    watching.stop();
}

/// The watchers and what gathers their news; started again after a partition.
struct Watching {
    rx: mpsc::Receiver<watch::Msg>,
    agg: aggregate::Aggregator,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Watching {
    fn start(conn: &connect::Conn) -> Watching {
        let (tx, rx) = mpsc::channel::<watch::Msg>(4096);
        Watching {
            tasks: watch::start_all(conn, tx),
            rx,
            agg: aggregate::Aggregator::default(),
        }
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

/// The checks of `/readyz?verbose`: `[+]etcd ok`, `[-]etcd failed: reason withheld`.
pub fn parse_readyz(text: &str) -> Vec<ControlCheck> {
    text.lines()
        .filter_map(|l| {
            let (ok, rest) = if let Some(r) = l.strip_prefix("[+]") {
                (true, r)
            } else {
                (false, l.strip_prefix("[-]")?)
            };
            let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            Some(ControlCheck {
                name: name.to_string(),
                ok,
                detail: detail.trim().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_lines() {
        let c = parse_readyz("[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
        assert_eq!(c.len(), 2);
        assert!(c[0].ok && c[0].name == "ping");
        assert!(!c[1].ok);
        assert_eq!(c[1].detail, "failed: reason withheld");
    }
}
