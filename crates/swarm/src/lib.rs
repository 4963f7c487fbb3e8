//! The Docker Swarm backend. One task per context owns the client. It connects to the first
//! manager endpoint that answers (failing over to the others), sends a snapshot, then follows
//! the engine's events stream: an event triggers a reconcile of nodes, services and tasks, and
//! only the differences go to the store. A slow periodic reconcile backs up the stream; while an
//! operation is in flight the backend follows it once a second. No per-second polling otherwise.

mod connect;
mod convert;
mod describe;
mod diff;
mod exec;
mod logs;
mod nodes;
mod reconcile;
pub mod registry;
pub mod ssh;
pub mod stack;
mod transport;
mod usage;

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval};

pub use connect::{Connected, connect, connect_any, has_service_status};
pub use describe::spawn_reader;
pub use logs::spawn_logs;
pub use nodes::{NodeEndpoints, configured as node_endpoint};
pub use usage::spawn_usage;

use clusterdeck_kit::{BackendHandle, BackendMsg, Change, Follows, Reporter, Writer, next_op};
use clusterdeck_model::{Reachability, SourceKind, SourceState};
use exec::Goal;
use reconcile::Mirror;

/// How the backend runs; from the context's config.
#[derive(Clone, Debug)]
pub struct SwarmSettings {
    pub cluster: String,
    /// Manager endpoints, tried in order.
    pub endpoints: Vec<String>,
    /// The safety-net reconcile period (events do the rest).
    pub reconcile: Duration,
    /// TLS material in the docker CLI's layout (`ca.pem`, `cert.pem`, `key.pem`): a docker
    /// context's own. None: `DOCKER_CERT_PATH` / `DOCKER_TLS_VERIFY`, as the CLI.
    pub tls: Option<std::path::PathBuf>,
    /// Where each node's own engine answers (container stats, logs of ended tasks).
    pub nodes: NodeEndpoints,
}

/// A reconcile shortly after an event, so a burst of events costs one.
const DEBOUNCE: Duration = Duration::from_millis(300);
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// The engine is pinged this often, each ping answered within `ANSWER_WITHIN`; with no answer
/// for `STALE_AFTER` the connection is given up (a silent partition) and the next manager
/// tried, so stale data shows within 15 s.
const ALIVE_EVERY: Duration = Duration::from_secs(3);
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
const STALE_AFTER: Duration = Duration::from_secs(8);
/// A node going down or a manager becoming unreachable comes with no event: the node list (a
/// short one) is read this often, and a difference brings a reconcile at once.
const NODES_EVERY: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// An operation that has no visible end within this time is reported as such.
const FOLLOW_LIMIT: Duration = Duration::from_secs(600);

/// Starts the backend; with `writable` it also executes the operations the gate releases to
/// the returned handle. It stops when the console drops the receiver.
pub fn spawn(
    settings: SwarmSettings,
    writable: bool,
    tx: mpsc::Sender<BackendMsg>,
) -> Option<BackendHandle> {
    let cluster = settings.cluster.clone();
    clusterdeck_kit::spawn(&cluster, SourceKind::Swarm, writable, tx, move |rep, w| {
        Backend::new(settings.clone(), rep).run(w)
    })
}

struct Backend {
    s: SwarmSettings,
    rep: Reporter,
    mirror: Mirror,
    follows: Follows<Goal>,
}

enum Failure {
    /// The endpoint is gone: try the others.
    Connection(String),
    /// The endpoint answers but the swarm cannot serve (no leader).
    Degraded(String),
}

fn classify(e: &bollard::errors::Error) -> Failure {
    match e {
        // The engine answered: it is there but cannot serve (no leader, not a manager…).
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            Failure::Degraded(message.clone())
        }
        _ => Failure::Connection(e.to_string()),
    }
}

impl Backend {
    fn new(s: SwarmSettings, rep: Reporter) -> Backend {
        Backend {
            s,
            rep,
            mirror: Mirror::default(),
            follows: Follows::new(FOLLOW_LIMIT),
        }
    }

    async fn health(&mut self, state: SourceState, endpoint: Option<String>) -> bool {
        self.rep.set_endpoint(endpoint);
        self.rep.health(state).await
    }

    async fn changes(&self, changes: Vec<Change>) -> bool {
        changes.is_empty() || self.rep.changes(changes).await
    }

    async fn run(mut self, mut ops: Option<Writer>) {
        if !self.health(SourceState::Connecting, None).await {
            return;
        }
        let mut start = 0usize;
        let mut backoff = Duration::from_secs(1);
        loop {
            let (i, c) = match self.connect_any(start).await {
                Ok(found) => found,
                Err(reason) => {
                    self.mark_unreachable_managers(&[]).await;
                    let state = SourceState::Unreachable {
                        reason: reason.clone(),
                    };
                    if !self.health(state, None).await
                        || !self.rep.refuse_for(&mut ops, backoff, &reason).await
                    {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            match self.serve(&c, &mut ops).await {
                Ok(()) => return, // the console is gone
                Err(Failure::Connection(reason)) => {
                    // This manager went away: fail over to the next one at once.
                    start = i + 1;
                    let reason = format!("{}: {reason}; trying the other managers", c.endpoint);
                    let _ = self.health(SourceState::Unreachable { reason }, None).await;
                    backoff = Duration::from_secs(1);
                }
                Err(Failure::Degraded(reason)) => {
                    let answering = self.answering_managers().await;
                    self.mark_unreachable_managers(&answering).await;
                    let state = SourceState::Degraded {
                        reason: reason.clone(),
                    };
                    if !self.health(state, Some(c.endpoint.clone())).await {
                        return;
                    }
                    // Another manager may still hold quorum (split view); try it next.
                    start = i + 1;
                    if !self.rep.refuse_for(&mut ops, backoff, &reason).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// The first endpoint that answers, starting at `start` (after the last one used), or why
    /// none did.
    async fn connect_any(&self, start: usize) -> Result<(usize, Connected), String> {
        let n = self.s.endpoints.len();
        if n == 0 {
            return Err("no endpoint configured".into());
        }
        let mut reasons = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            match connect(&self.s.endpoints[i], self.s.tls.as_deref()).await {
                Ok(c) => return Ok((i, c)),
                Err(e) => reasons.push(e),
            }
        }
        Err(reasons.join("; "))
    }

    /// Managers' node ids whose endpoints answer right now.
    async fn answering_managers(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for ep in &self.s.endpoints {
            if let Ok(c) = connect(ep, self.s.tls.as_deref()).await
                && let Ok(Ok(info)) =
                    tokio::time::timeout(Duration::from_secs(4), c.docker.info()).await
                && let Some(id) = info.swarm.and_then(|s| s.node_id)
            {
                ids.push(id);
            }
        }
        ids
    }

    /// When the swarm cannot answer, what we know is which managers answer us: the others are
    /// marked unreachable and no leader is claimed, so the quorum pane says QUORUM LOST.
    async fn mark_unreachable_managers(&mut self, answering: &[String]) {
        let mut changes = Vec::new();
        for n in self.mirror.nodes.values_mut().filter(|n| n.is_manager()) {
            let reach = if answering.contains(&n.id) {
                Reachability::Reachable
            } else {
                Reachability::Unreachable
            };
            if n.reachability != Some(reach) || n.leader {
                n.reachability = Some(reach);
                n.leader = false;
                changes.push(Change::UpsertNode(n.clone()));
            }
        }
        self.changes(changes).await;
    }

    /// Serves one connection until it fails (`Err`) or the console goes away (`Ok`).
    async fn serve(&mut self, c: &Connected, ops: &mut Option<Writer>) -> Result<(), Failure> {
        let status = has_service_status(&c.api);
        self.reconcile(c, status, true).await?;
        let endpoint = format!("{} (API {})", c.endpoint, c.api);
        if !self.health(SourceState::Connected, Some(endpoint)).await {
            return Ok(());
        }
        learn_insecure_registries(&c.docker).await;
        let mut filters = HashMap::new();
        filters.insert(
            "type".to_string(),
            vec!["service".into(), "node".into(), "container".into()],
        );
        let mut events = c.docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let mut periodic = interval(self.s.reconcile);
        periodic.set_missed_tick_behavior(MissedTickBehavior::Delay);
        periodic.tick().await;
        let mut follow = interval(FOLLOW_EVERY);
        follow.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut due: Option<Instant> = None;
        // A ping beside the events stream (silent when nothing happens, and when packets drop).
        let docker = c.docker.clone();
        let mut alive = clusterdeck_kit::liveness(ALIVE_EVERY, ANSWER_WITHIN, move || {
            let docker = docker.clone();
            async move { docker.ping().await.map(|_| ()).map_err(|e| e.to_string()) }
        });
        let docker = c.docker.clone();
        let mut node_watch = clusterdeck_kit::liveness(NODES_EVERY, ANSWER_WITHIN, move || {
            let docker = docker.clone();
            async move { reconcile::list_nodes(&docker).await }
        });
        let mut last_answer = Instant::now();
        loop {
            let debounce = due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let refresh = tokio::select! {
                answered = alive.recv() => {
                    match answered {
                        Some(Ok(())) => last_answer = Instant::now(),
                        // A silent partition: no error, just nothing. Fail over.
                        Some(Err(_)) if last_answer.elapsed() >= STALE_AFTER => {
                            return Err(Failure::Connection(format!(
                                "no answer for {} s",
                                last_answer.elapsed().as_secs()
                            )));
                        }
                        Some(Err(_)) => {}
                        None => return Err(Failure::Connection("the liveness check stopped".into())),
                    }
                    false
                }
                Some(Ok(nodes)) = node_watch.recv() => {
                    if self.mirror.nodes_differ(&nodes) {
                        due.get_or_insert(Instant::now() + DEBOUNCE);
                    }
                    false
                }
                ev = events.next() => match ev {
                    Some(Ok(_)) => {
                        due.get_or_insert(Instant::now() + DEBOUNCE);
                        false
                    }
                    Some(Err(e)) => return Err(classify(&e)),
                    None => return Err(Failure::Connection("the events stream ended".into())),
                },
                _ = tokio::time::sleep_until(debounce), if due.is_some() => {
                    due = None;
                    true
                }
                _ = periodic.tick() => true,
                _ = follow.tick(), if !self.follows.is_empty() => true,
                _ = self.rep.closed() => return Ok(()),
                cmd = next_op(ops) => match (cmd, ops.as_ref()) {
                    (Some(cmd), Some(w)) => {
                        self.start_op(w, &c.docker, cmd).await;
                        due.get_or_insert(Instant::now() + DEBOUNCE);
                        false
                    }
                    _ => return Ok(()),
                },
            };
            if refresh {
                self.reconcile(c, status, false).await?;
                self.check_follows().await;
            }
        }
    }
}

/// Which registries the engine reaches over plain HTTP (its `--insecure-registry` list and
/// CIDRs), so the deploy prompt's tag lookup does the same and no more.
async fn learn_insecure_registries(docker: &bollard::Docker) {
    let Ok(Ok(info)) = tokio::time::timeout(ANSWER_WITHIN, docker.info()).await else {
        return;
    };
    let Some(rc) = info.registry_config else {
        return;
    };
    let hosts = rc
        .index_configs
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, i)| i.secure == Some(false))
        .map(|(name, _)| name);
    registry::set_insecure(hosts, &rc.insecure_registry_cidrs.unwrap_or_default());
}
