//! The Docker Swarm backend. One task per context owns the client. It connects to the first
//! manager endpoint that answers (failing over to the others), sends a snapshot, then follows
//! the engine's events stream: an event triggers a reconcile of nodes, services and tasks, and
//! only the differences go to the store. A slow periodic reconcile backs up the stream; while an
//! operation is in flight the backend follows it once a second. No per-second polling otherwise.

mod connect;
mod convert;
mod exec;
mod logs;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptions, ListNodesOptions, ListServicesOptions, ListTasksOptions,
};
use chrono::Utc;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep};

pub use connect::{Connected, connect, has_service_status};
pub use logs::spawn_logs;

use super::{BackendHandle, BackendMsg, Change, OpCommand, OpUpdate, Snapshot, Writer, next_op};
use crate::model::{
    Event, Node, Origin, Reachability, Replica, Severity, SourceHealth, SourceKind, SourceState,
    Workload,
};
use exec::Follow;

/// How the backend runs; from the context's config.
#[derive(Clone, Debug)]
pub struct SwarmSettings {
    pub cluster: String,
    /// Manager endpoints, tried in order.
    pub endpoints: Vec<String>,
    /// The safety-net reconcile period (events do the rest).
    pub reconcile: Duration,
}

/// A reconcile shortly after an event, so a burst of events costs one.
const DEBOUNCE: Duration = Duration::from_millis(300);
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// Availability samples kept per service (one a minute: an hour).
const HISTORY: usize = 60;

/// What was last sent to the store, to send only differences.
#[derive(Default)]
struct Mirror {
    nodes: HashMap<String, Node>,
    services: HashMap<String, Workload>,
    tasks: HashMap<String, Replica>,
    previous_image: HashMap<String, String>,
    history: HashMap<String, VecDeque<u8>>,
    last_sample: Option<Instant>,
    loaded: bool,
}

/// Starts a backend that also executes the operations the gate releases to the handle.
pub fn spawn(settings: SwarmSettings, tx: mpsc::Sender<BackendMsg>) -> BackendHandle {
    let (ops_tx, ops_rx) = mpsc::channel::<OpCommand>(16);
    let handle = BackendHandle {
        cluster: settings.cluster.clone(),
        source: SourceKind::Swarm,
        ops: ops_tx,
    };
    tokio::spawn(Backend::new(settings, tx).run(Some(Writer::new(ops_rx))));
    handle
}

/// Starts a watch-only backend (read-only and wall mode): it has no write side at all, so
/// nothing can ask it to change the swarm. It stops when the console drops the receiver.
pub fn spawn_watch(settings: SwarmSettings, tx: mpsc::Sender<BackendMsg>) {
    tokio::spawn(Backend::new(settings, tx).run(None));
}

struct Backend {
    s: SwarmSettings,
    tx: mpsc::Sender<BackendMsg>,
    mirror: Mirror,
    follows: Vec<Follow>,
    health: Option<SourceHealth>,
}

enum Failure {
    /// The endpoint is gone: try the others.
    Connection(String),
    /// The endpoint answers but the swarm cannot serve (no leader).
    Degraded(String),
}

fn classify(e: &bollard::errors::Error) -> Failure {
    let msg = e.to_string();
    match e {
        // The engine answered: it is there but cannot serve (no leader, not a manager…).
        bollard::errors::Error::DockerResponseServerError { message, .. } => {
            Failure::Degraded(message.clone())
        }
        _ => Failure::Connection(msg),
    }
}

impl Backend {
    fn new(s: SwarmSettings, tx: mpsc::Sender<BackendMsg>) -> Backend {
        Backend {
            s,
            tx,
            mirror: Mirror::default(),
            follows: Vec::new(),
            health: None,
        }
    }

    async fn send(&self, m: BackendMsg) -> bool {
        self.tx.send(m).await.is_ok()
    }

    async fn set_health(&mut self, state: SourceState, endpoint: Option<String>) -> bool {
        let h = SourceHealth::next(self.health.as_ref(), state, endpoint, Utc::now());
        if self.health.as_ref() == Some(&h) {
            return true;
        }
        self.health = Some(h.clone());
        self.send(BackendMsg::Health {
            cluster: self.s.cluster.clone(),
            source: SourceKind::Swarm,
            health: h,
        })
        .await
    }

    async fn changes(&self, changes: Vec<Change>) -> bool {
        if changes.is_empty() {
            return true;
        }
        self.send(BackendMsg::Changes {
            cluster: self.s.cluster.clone(),
            source: SourceKind::Swarm,
            at: Utc::now(),
            changes,
        })
        .await
    }

    async fn run(mut self, mut ops: Option<Writer>) {
        if !self.set_health(SourceState::Connecting, None).await {
            return;
        }
        let mut start = 0usize;
        let mut backoff = Duration::from_secs(1);
        loop {
            // Connect to the first endpoint that answers, starting after the last one used.
            let mut reasons = Vec::new();
            let mut conn = None;
            for k in 0..self.s.endpoints.len() {
                let i = (start + k) % self.s.endpoints.len();
                match connect(&self.s.endpoints[i]).await {
                    Ok(c) => {
                        conn = Some((i, c));
                        break;
                    }
                    Err(e) => reasons.push(e),
                }
            }
            let Some((i, c)) = conn else {
                let reason = if reasons.is_empty() {
                    "no endpoint configured".to_string()
                } else {
                    reasons.join("; ")
                };
                self.mark_unreachable_managers(&[]).await;
                if !self
                    .set_health(
                        SourceState::Unreachable {
                            reason: reason.clone(),
                        },
                        None,
                    )
                    .await
                {
                    return;
                }
                if !self.wait_refusing(&mut ops, backoff, &reason).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            match self.serve(&c, &mut ops).await {
                Ok(()) => return, // the console is gone
                Err(Failure::Connection(reason)) => {
                    // This manager went away: fail over to the next one at once.
                    start = i + 1;
                    let _ = self
                        .set_health(
                            SourceState::Unreachable {
                                reason: format!(
                                    "{}: {reason}; trying the other managers",
                                    c.endpoint
                                ),
                            },
                            None,
                        )
                        .await;
                    backoff = Duration::from_secs(1);
                }
                Err(Failure::Degraded(reason)) => {
                    let answering = self.answering_managers().await;
                    self.mark_unreachable_managers(&answering).await;
                    if !self
                        .set_health(
                            SourceState::Degraded {
                                reason: reason.clone(),
                            },
                            Some(c.endpoint.clone()),
                        )
                        .await
                    {
                        return;
                    }
                    // Another manager may still hold quorum (split view); try it next.
                    start = i + 1;
                    if !self.wait_refusing(&mut ops, backoff, &reason).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Waits, answering operations with a refusal instead of letting them hang.
    async fn wait_refusing(&mut self, ops: &mut Option<Writer>, d: Duration, reason: &str) -> bool {
        let until = Instant::now() + d;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                _ = self.tx.closed() => return false,
                cmd = next_op(ops) => match cmd {
                    Some(cmd) => {
                        let u = OpUpdate { op_id: cmd.op_id, progress: None, message: String::new(), outcome: Some(Err(format!("not sent: {reason}"))) };
                        if !self.send(BackendMsg::Op(u)).await { return false; }
                    }
                    None => { sleep(until - Instant::now()).await; return true; }
                }
            }
        }
    }

    /// Managers' node ids whose endpoints answer right now.
    async fn answering_managers(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for ep in &self.s.endpoints {
            if let Ok(c) = connect(ep).await
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
        self.reconcile(&c.docker, status, true).await?;
        if !self
            .set_health(
                SourceState::Connected,
                Some(format!("{} (API {})", c.endpoint, c.api)),
            )
            .await
        {
            return Ok(());
        }
        let mut filters = HashMap::new();
        filters.insert(
            "type".to_string(),
            vec![
                "service".to_string(),
                "node".to_string(),
                "container".to_string(),
            ],
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
        loop {
            let debounce = due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(_)) => { due.get_or_insert(Instant::now() + DEBOUNCE); }
                    Some(Err(e)) => return Err(classify(&e)),
                    None => return Err(Failure::Connection("the events stream ended".into())),
                },
                _ = tokio::time::sleep_until(debounce), if due.is_some() => {
                    due = None;
                    self.reconcile(&c.docker, status, false).await?;
                    self.check_follows().await;
                }
                _ = periodic.tick() => {
                    self.reconcile(&c.docker, status, false).await?;
                    self.check_follows().await;
                }
                _ = follow.tick(), if !self.follows.is_empty() => {
                    self.reconcile(&c.docker, status, false).await?;
                    self.check_follows().await;
                }
                _ = self.tx.closed() => return Ok(()),
                cmd = next_op(ops) => match (cmd, ops.as_ref()) {
                    (Some(cmd), Some(w)) => {
                        self.start_op(w, &c.docker, cmd).await;
                        due.get_or_insert(Instant::now() + DEBOUNCE);
                    }
                    _ => return Ok(()),
                },
            }
        }
    }

    /// Lists nodes, services and tasks and sends what changed (everything, the first time).
    async fn reconcile(&mut self, d: &Docker, status: bool, fresh: bool) -> Result<(), Failure> {
        let t = connect::REQUEST_TIMEOUT;
        let timeout =
            |what: &str| Failure::Connection(format!("{what}: no answer within {}s", t.as_secs()));
        let nodes = tokio::time::timeout(t, d.list_nodes(None::<ListNodesOptions>))
            .await
            .map_err(|_| timeout("list nodes"))?
            .map_err(|e| classify(&e))?;
        let services = tokio::time::timeout(
            t,
            d.list_services(Some(ListServicesOptions {
                status: status.then_some(true),
                ..Default::default()
            })),
        )
        .await
        .map_err(|_| timeout("list services"))?
        .map_err(|e| classify(&e))?;
        let tasks = tokio::time::timeout(t, d.list_tasks(None::<ListTasksOptions>))
            .await
            .map_err(|_| timeout("list tasks"))?
            .map_err(|e| classify(&e))?;

        let nodes: HashMap<String, Node> = nodes
            .iter()
            .filter_map(convert::node)
            .map(|n| (n.id.clone(), n))
            .collect();
        let tasks: HashMap<String, Replica> = tasks
            .iter()
            .filter_map(convert::replica)
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut by_service: HashMap<&str, Vec<&Replica>> = HashMap::new();
        for r in tasks.values() {
            by_service
                .entry(r.workload_id.as_str())
                .or_default()
                .push(r);
        }
        let sample = self
            .mirror
            .last_sample
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        let mut workloads = HashMap::new();
        for s in &services {
            let Some(id) = s.id.clone() else { continue };
            let image = convert::service_image(s);
            // The engine's PreviousSpec is not in the client's model; remember images we saw.
            if let Some(old) = self.mirror.services.get(&id)
                && old.image != image
            {
                self.mirror
                    .previous_image
                    .insert(id.clone(), old.image.clone());
            }
            let ts = by_service.get(id.as_str()).cloned().unwrap_or_default();
            let prev = self.mirror.previous_image.get(&id).cloned();
            let hist = self.mirror.history.entry(id.clone()).or_default();
            if let Some(w) = convert::workload(s, &ts, prev, hist.iter().copied().collect()) {
                if sample {
                    let pct = ((w.running.min(w.desired) * 100).checked_div(w.desired))
                        .unwrap_or(100) as u8;
                    hist.push_back(pct);
                    while hist.len() > HISTORY {
                        hist.pop_front();
                    }
                }
                let w = Workload {
                    availability: hist.iter().copied().collect(),
                    ..w
                };
                workloads.insert(id, w);
            }
        }
        if sample {
            self.mirror.last_sample = Some(Instant::now());
        }

        if fresh || !self.mirror.loaded {
            self.mirror.nodes = nodes.clone();
            self.mirror.services = workloads.clone();
            self.mirror.tasks = tasks.clone();
            self.mirror.loaded = true;
            let snap = Snapshot {
                nodes: Some(nodes.into_values().collect()),
                workloads: Some(workloads.into_values().collect()),
                replicas: Some(tasks.into_values().collect()),
                instances: None,
                etcd: None,
            };
            let _ = self
                .send(BackendMsg::Snapshot {
                    cluster: self.s.cluster.clone(),
                    source: SourceKind::Swarm,
                    at: Utc::now(),
                    snapshot: snap,
                })
                .await;
            return Ok(());
        }
        let mut changes = Vec::new();
        let mut events = Vec::new();
        diff(
            &self.mirror.nodes,
            &nodes,
            Change::UpsertNode,
            Change::RemoveNode,
            &mut changes,
        );
        for (id, n) in &nodes {
            if let Some(old) = self.mirror.nodes.get(id) {
                if old.reachability != n.reachability
                    && n.reachability == Some(Reachability::Unreachable)
                {
                    events.push((
                        Severity::Critical,
                        "node",
                        n.hostname.clone(),
                        format!("manager {} is unreachable", n.hostname),
                    ));
                } else if old.status != n.status {
                    events.push((
                        Severity::Warn,
                        "node",
                        n.hostname.clone(),
                        format!("node {} is {}", n.hostname, n.status.label()),
                    ));
                } else if old.availability != n.availability {
                    events.push((
                        Severity::Info,
                        "node",
                        n.hostname.clone(),
                        format!(
                            "node {} availability {} → {}",
                            n.hostname,
                            old.availability.label(),
                            n.availability.label()
                        ),
                    ));
                }
            }
        }
        diff(
            &self.mirror.services,
            &workloads,
            Change::UpsertWorkload,
            Change::RemoveWorkload,
            &mut changes,
        );
        for (id, w) in &workloads {
            match self.mirror.services.get(id) {
                None => events.push((
                    Severity::Info,
                    "service",
                    w.name.clone(),
                    format!("service {} created", w.name),
                )),
                Some(old) => {
                    if old.image != w.image {
                        events.push((
                            Severity::Info,
                            "service",
                            w.name.clone(),
                            format!("{} image {} → {}", w.name, old.image, w.image),
                        ));
                    }
                    if old.desired != w.desired {
                        events.push((
                            Severity::Info,
                            "service",
                            w.name.clone(),
                            format!("{} replicas {} → {}", w.name, old.desired, w.desired),
                        ));
                    }
                    let (os, ns) = (
                        old.update.as_ref().map(|u| u.state),
                        w.update.as_ref().map(|u| u.state),
                    );
                    if os != ns
                        && let Some(u) = &w.update
                    {
                        let sev = if u.state.is_paused() {
                            Severity::Critical
                        } else {
                            Severity::Info
                        };
                        events.push((
                            sev,
                            "service",
                            w.name.clone(),
                            format!("{} update {}: {}", w.name, u.state.label(), u.message),
                        ));
                    }
                }
            }
        }
        for (id, old) in &self.mirror.services {
            if !workloads.contains_key(id) {
                events.push((
                    Severity::Info,
                    "service",
                    old.name.clone(),
                    format!("service {} removed", old.name),
                ));
            }
        }
        for (id, t) in &tasks {
            if t.state == crate::model::TaskState::Failed
                && self.mirror.tasks.get(id).is_none_or(|o| o.state != t.state)
            {
                let name = workloads
                    .get(&t.workload_id)
                    .map_or("?", |w| w.name.as_str())
                    .to_string();
                events.push((
                    Severity::Warn,
                    "task",
                    name.clone(),
                    format!(
                        "task {id} of {name} failed: {}",
                        t.error.as_deref().unwrap_or("no error given")
                    ),
                ));
            }
        }
        diff(
            &self.mirror.tasks,
            &tasks,
            Change::UpsertReplica,
            Change::RemoveReplica,
            &mut changes,
        );
        self.mirror.nodes = nodes;
        self.mirror.services = workloads;
        self.mirror.tasks = tasks;
        let now = Utc::now();
        changes.extend(
            events
                .into_iter()
                .map(|(severity, object, target, message)| {
                    Change::Event(Event {
                        at: now,
                        source: SourceKind::Swarm,
                        origin: Origin::External,
                        severity,
                        object: object.into(),
                        target,
                        message,
                    })
                }),
        );
        self.changes(changes).await;
        Ok(())
    }
}

fn diff<T: Clone + PartialEq>(
    old: &HashMap<String, T>,
    new: &HashMap<String, T>,
    upsert: fn(T) -> Change,
    remove: fn(String) -> Change,
    out: &mut Vec<Change>,
) {
    for (id, v) in new {
        if old.get(id) != Some(v) {
            out.push(upsert(v.clone()));
        }
    }
    for id in old.keys() {
        if !new.contains_key(id) {
            out.push(remove(id.clone()));
        }
    }
}
