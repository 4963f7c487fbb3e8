//! The Kubernetes backend. One watcher (kube-runtime: list, then watch, resuming from the last
//! resource version and relisting with backoff) per kind: nodes, deployments, statefulsets,
//! daemonsets, pods, events, and replicasets (only as Deployments' revision history, so a
//! rollback's plan can name the image it restores). Objects are converted as they arrive and only the model is
//! kept, so memory follows the model, not the API objects. Changes are batched every 100 ms;
//! the first full snapshot goes out once every kind has listed (or was refused).
//!
//! kube has no client-side rate limiter (client-go's 5 requests/s default is what throttled
//! k9s on large clusters for years); watches make the steady state one stream per kind.
//!
//! A kind the credentials may not list is reported as `Change::Denied` with the server's
//! words, and the rest of the panes fill as usual. Listing every namespace when only one is
//! allowed falls back to the context's namespace.

mod connect;
pub mod convert;
mod exec;
mod history;
mod logs;

pub use logs::spawn_logs;

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Node as KubeNode, Pod};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::{BackendHandle, BackendMsg, Change, OpCommand, Snapshot, Writer, next_op};
use crate::model::{
    ControlCheck, Event, Node, Replica, SourceHealth, SourceKind, SourceState, Workload,
};

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

/// The API server's readiness is asked this often.
const READYZ_EVERY: Duration = Duration::from_secs(10);
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A failed connection is tried again after this, doubling up to the maximum.
const CONNECT_BACKOFF_MIN: Duration = Duration::from_secs(2);
const CONNECT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Events listed at start that are shown (newest); the rest is history nobody scrolls to.
const INITIAL_EVENTS: usize = 100;

pub fn spawn(settings: KubeSettings, tx: mpsc::Sender<BackendMsg>) -> BackendHandle {
    let (ops_tx, ops_rx) = mpsc::channel::<OpCommand>(16);
    let handle = BackendHandle {
        cluster: settings.cluster.clone(),
        source: SourceKind::Kubernetes,
        ops: ops_tx,
    };
    tokio::spawn(run(settings, tx, Some(Writer::new(ops_rx))));
    handle
}

pub fn spawn_watch(settings: KubeSettings, tx: mpsc::Sender<BackendMsg>) {
    tokio::spawn(run(settings, tx, None));
}

/// A converted object.
#[derive(Debug)]
enum Obj {
    Node(Node),
    Workload(Workload),
    Replica(Replica),
    Event(Event),
    /// A Deployment's ReplicaSet: history, never shown by itself.
    Revision(convert::Revision),
}

impl Obj {
    fn id(&self) -> Option<&str> {
        match self {
            Obj::Node(n) => Some(&n.id),
            Obj::Workload(w) => Some(&w.id),
            Obj::Replica(r) => Some(&r.id),
            Obj::Revision(r) => Some(&r.id),
            Obj::Event(_) => None,
        }
    }

    fn upsert(self) -> Option<Change> {
        Some(match self {
            Obj::Node(n) => Change::UpsertNode(n),
            Obj::Workload(w) => Change::UpsertWorkload(w),
            Obj::Replica(r) => Change::UpsertReplica(r),
            Obj::Event(e) => Change::Event(e),
            Obj::Revision(_) => return None,
        })
    }
}

/// What a watcher task tells the aggregator.
enum Msg {
    /// A complete (re)list of one stream.
    Listed(Stream, Vec<Obj>),
    Applied(Box<Obj>),
    Deleted(Stream, String),
    Failed(Stream, String, bool),
}

/// One watched kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Stream {
    Nodes,
    Deployments,
    StatefulSets,
    DaemonSets,
    Pods,
    Events,
    ReplicaSets,
}

impl Stream {
    const ALL: [Stream; 7] = [
        Stream::Nodes,
        Stream::Deployments,
        Stream::StatefulSets,
        Stream::DaemonSets,
        Stream::Pods,
        Stream::Events,
        Stream::ReplicaSets,
    ];

    /// The resource name the API server (and RBAC) uses.
    fn resource(self) -> &'static str {
        match self {
            Stream::Nodes => "nodes",
            Stream::Deployments => "deployments",
            Stream::StatefulSets => "statefulsets",
            Stream::DaemonSets => "daemonsets",
            Stream::Pods => "pods",
            Stream::Events => "events",
            Stream::ReplicaSets => "replicasets",
        }
    }

    fn remove(self, id: String) -> Option<Change> {
        match self {
            Stream::Nodes => Some(Change::RemoveNode(id)),
            Stream::Deployments | Stream::StatefulSets | Stream::DaemonSets => {
                Some(Change::RemoveWorkload(id))
            }
            Stream::Pods => Some(Change::RemoveReplica(id)),
            Stream::Events | Stream::ReplicaSets => None,
        }
    }
}

async fn run(s: KubeSettings, tx: mpsc::Sender<BackendMsg>, mut ops: Option<Writer>) {
    let mut health = Health::new(&s, &tx);
    if !health.set(SourceState::Connecting).await {
        return;
    }
    let mut backoff = CONNECT_BACKOFF_MIN;
    let conn = loop {
        match connect::connect(&s).await {
            Ok(c) => break c,
            // The kubeconfig is read again each time: `aws eks update-kubeconfig` or a
            // `kubectl config use-context` in another shell is picked up, without hurry.
            Err(connect::ConnectError::NotConfigured(hint)) => {
                if !health.set(SourceState::NotConfigured { hint }).await
                    || !refuse_ops(
                        &tx,
                        &mut ops,
                        "Kubernetes is not configured",
                        CONNECT_BACKOFF_MAX,
                    )
                    .await
                {
                    return;
                }
            }
            // A credential plugin that failed (an expired login) may work next time, as it
            // would for kubectl: try again, slower each time.
            Err(connect::ConnectError::Failed(reason)) => {
                let why = format!("Kubernetes is unreachable: {reason}");
                if !health.set(SourceState::Unreachable { reason }).await
                    || !refuse_ops(&tx, &mut ops, &why, backoff).await
                {
                    return;
                }
                backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
            }
        }
    };
    health.endpoint = Some(conn.server.clone());
    let (wtx, mut wrx) = mpsc::channel::<Msg>(4096);
    let mut tasks = Vec::new();
    let ns = conn.namespace.clone();
    let fallback = conn.fallback_namespace.clone();
    let client = conn.client.clone();
    tasks.push(tokio::spawn(watch::<KubeNode>(
        Api::all(client.clone()),
        None,
        Stream::Nodes,
        |n| convert::node(n).map(Obj::Node),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<Deployment>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<Deployment>(
        a,
        f,
        Stream::Deployments,
        |d| convert::deployment(d).map(Obj::Workload),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<StatefulSet>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<StatefulSet>(
        a,
        f,
        Stream::StatefulSets,
        |d| convert::statefulset(d).map(Obj::Workload),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<DaemonSet>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<DaemonSet>(
        a,
        f,
        Stream::DaemonSets,
        |d| convert::daemonset(d).map(Obj::Workload),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<Pod>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<Pod>(
        a,
        f,
        Stream::Pods,
        |p| convert::pod(p).map(Obj::Replica),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<ReplicaSet>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<ReplicaSet>(
        a,
        f,
        Stream::ReplicaSets,
        |r| convert::replicaset(r).map(Obj::Revision),
        wtx.clone(),
    )));
    let (a, f) = namespaced_apis::<KubeEvent>(&client, ns.as_deref(), fallback.as_deref());
    tasks.push(tokio::spawn(watch::<KubeEvent>(
        a,
        f,
        Stream::Events,
        |e| convert::event(e).map(Obj::Event),
        wtx.clone(),
    )));
    drop(wtx);

    let mut agg = Aggregator::default();
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut readyz = tokio::time::interval(READYZ_EVERY);
    let mut executor = exec::Executor::new(conn.writer.clone(), tx.clone());
    loop {
        tokio::select! {
            _ = tx.closed() => break,
            m = wrx.recv() => match m {
                Some(m) => agg.take(m),
                None => break,
            },
            _ = flush.tick() => {
                if !agg.flush(&s.cluster, &tx, &mut health).await {
                    break;
                }
            }
            _ = readyz.tick() => {
                let checks = connect::readyz(&conn.client).await;
                agg.pending.push(Change::ControlPlane(checks));
            }
            cmd = next_op(&mut ops) => match cmd {
                Some(cmd) => {
                    if let Some(w) = &ops {
                        executor.start(w, cmd);
                    }
                }
                None => ops = None,
            }
        }
    }
    for t in tasks {
        t.abort();
    }
}

/// Answers every operation with `why` for `how_long`. False when the console has gone.
async fn refuse_ops(
    tx: &mpsc::Sender<BackendMsg>,
    ops: &mut Option<Writer>,
    why: &str,
    how_long: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + how_long;
    loop {
        tokio::select! {
            _ = tx.closed() => return false,
            _ = tokio::time::sleep_until(until) => return true,
            cmd = next_op(ops) => match cmd {
                Some(cmd) => {
                    let msg = super::OpUpdate::outcome(cmd.op_id, Err(why.to_string()));
                    if tx.send(msg).await.is_err() {
                        return false;
                    }
                }
                None => *ops = None,
            }
        }
    }
}

/// (every namespace or the chosen one, the namespace to fall back to when that is forbidden).
fn namespaced_apis<K>(
    c: &Client,
    ns: Option<&str>,
    fallback: Option<&str>,
) -> (Api<K>, Option<Api<K>>)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => (Api::namespaced(c.clone(), ns), None),
        None => (
            Api::all(c.clone()),
            fallback.map(|f| Api::namespaced(c.clone(), f)),
        ),
    }
}

/// Watches one kind for as long as the backend runs, relisting with backoff after errors.
async fn watch<K>(
    api: Api<K>,
    fallback: Option<Api<K>>,
    stream: Stream,
    convert: fn(&K) -> Option<Obj>,
    tx: mpsc::Sender<Msg>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut api = api;
    let mut fallback = fallback;
    loop {
        let mut events = watcher(api.clone()).boxed();
        let mut listed: Vec<Obj> = Vec::new();
        let mut switch = false;
        while let Some(ev) = events.next().await {
            let msg = match ev {
                Ok(WatchEvent::Init) => {
                    listed.clear();
                    continue;
                }
                Ok(WatchEvent::InitApply(o)) => {
                    listed.extend(convert(&o));
                    continue;
                }
                Ok(WatchEvent::InitDone) => Msg::Listed(stream, std::mem::take(&mut listed)),
                Ok(WatchEvent::Apply(o)) => match convert(&o) {
                    Some(obj) => Msg::Applied(Box::new(obj)),
                    None => continue,
                },
                Ok(WatchEvent::Delete(o)) => {
                    match convert(&o).and_then(|x| x.id().map(str::to_string)) {
                        Some(id) => Msg::Deleted(stream, id),
                        None => continue,
                    }
                }
                Err(e) => {
                    let (text, forbidden) = connect::describe_watch_error(&e, stream.resource());
                    if forbidden && fallback.is_some() {
                        switch = true;
                    }
                    Msg::Failed(stream, text, forbidden)
                }
            };
            if tx.send(msg).await.is_err() {
                return;
            }
            if switch {
                break;
            }
        }
        match fallback.take() {
            Some(f) if switch => api = f,
            _ => return,
        }
    }
}

fn watcher<K>(
    api: Api<K>,
) -> impl futures_util::Stream<Item = Result<WatchEvent<K>, watcher::Error>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, watcher::Config::default().page_size(500)).default_backoff()
}

/// Reports health only when it changes.
struct Health<'a> {
    cluster: String,
    tx: &'a mpsc::Sender<BackendMsg>,
    last: Option<SourceHealth>,
    endpoint: Option<String>,
}

impl<'a> Health<'a> {
    fn new(s: &KubeSettings, tx: &'a mpsc::Sender<BackendMsg>) -> Health<'a> {
        Health {
            cluster: s.cluster.clone(),
            tx,
            last: None,
            endpoint: None,
        }
    }

    async fn set(&mut self, state: SourceState) -> bool {
        let h = SourceHealth::next(self.last.as_ref(), state, self.endpoint.clone(), Utc::now());
        if self.last.as_ref() == Some(&h) {
            return true;
        }
        self.last = Some(h.clone());
        self.tx
            .send(BackendMsg::Health {
                cluster: self.cluster.clone(),
                source: SourceKind::Kubernetes,
                health: h,
            })
            .await
            .is_ok()
    }
}

/// Collects the watchers' news and sends it in batches.
#[derive(Default)]
struct Aggregator {
    /// Ids last sent per stream, to turn a relist into removals.
    known: HashMap<Stream, HashSet<String>>,
    /// Streams that have listed at least once (or were refused).
    listed: HashSet<Stream>,
    /// The first full picture, gathered until every stream has listed.
    initial: Snapshot,
    sent_snapshot: bool,
    pending: Vec<Change>,
    /// Per stream: the error keeping it from listing, if any.
    failing: HashMap<Stream, (String, bool)>,
    history: history::History,
}

impl Aggregator {
    fn take(&mut self, m: Msg) {
        match m {
            Msg::Listed(stream, objs) => {
                self.listed.insert(stream);
                if self
                    .failing
                    .remove(&stream)
                    .is_some_and(|(_, forbidden)| forbidden)
                {
                    self.pending.push(Change::Denied {
                        what: stream.resource().into(),
                        reason: None,
                    });
                }
                let mut objs = objs;
                if stream == Stream::ReplicaSets {
                    let sets = objs
                        .into_iter()
                        .filter_map(|o| match o {
                            Obj::Revision(r) => Some(r),
                            _ => None,
                        })
                        .collect();
                    let changed = self.history.relist(sets);
                    // Listed after a refusal (RBAC changed): the refusal is over.
                    self.pending.push(Change::Denied {
                        what: Stream::ReplicaSets.resource().into(),
                        reason: None,
                    });
                    if self.sent_snapshot {
                        self.pending
                            .extend(changed.into_iter().map(Change::UpsertWorkload));
                    }
                    return;
                }
                if stream == Stream::Deployments {
                    objs = objs.into_iter().map(|o| self.with_history(o)).collect();
                }
                if stream == Stream::Events {
                    // Oldest first, so the store (newest on top) ends with the newest on top.
                    objs.sort_by_key(|o| match o {
                        Obj::Event(e) => e.at,
                        _ => Utc::now(),
                    });
                    let skip = objs.len().saturating_sub(INITIAL_EVENTS);
                    objs.drain(..skip);
                }
                let ids: HashSet<String> = objs
                    .iter()
                    .filter_map(|o| o.id().map(str::to_string))
                    .collect();
                let before = self.known.insert(stream, ids.clone()).unwrap_or_default();
                if stream == Stream::Deployments {
                    for gone in before.difference(&ids) {
                        self.history.forget_deployment(gone);
                    }
                }
                if self.sent_snapshot {
                    for gone in before.difference(&ids) {
                        self.pending.extend(stream.remove(gone.clone()));
                    }
                    self.pending
                        .extend(objs.into_iter().filter_map(Obj::upsert));
                } else {
                    self.add_initial(objs);
                }
            }
            Msg::Applied(obj) => {
                let obj = match *obj {
                    Obj::Revision(r) => {
                        if let Some(w) = self.history.set(r)
                            && self.sent_snapshot
                        {
                            self.pending.push(Change::UpsertWorkload(w));
                        }
                        return;
                    }
                    o => self.with_history(o),
                };
                let stream = match &obj {
                    Obj::Node(_) => Stream::Nodes,
                    Obj::Workload(w) => match convert::parse_workload_id(&w.id) {
                        Some((convert::Kind::StatefulSet, ..)) => Stream::StatefulSets,
                        Some((convert::Kind::DaemonSet, ..)) => Stream::DaemonSets,
                        _ => Stream::Deployments,
                    },
                    Obj::Replica(_) => Stream::Pods,
                    Obj::Event(_) => Stream::Events,
                    Obj::Revision(_) => Stream::ReplicaSets,
                };
                if let Some(id) = obj.id() {
                    self.known.entry(stream).or_default().insert(id.to_string());
                }
                if self.sent_snapshot {
                    self.pending.extend(obj.upsert());
                } else {
                    self.add_initial(vec![obj]);
                }
            }
            Msg::Deleted(Stream::ReplicaSets, id) => {
                if let Some(w) = self.history.remove_set(&id)
                    && self.sent_snapshot
                {
                    self.pending.push(Change::UpsertWorkload(w));
                }
            }
            Msg::Deleted(stream, id) => {
                if let Some(k) = self.known.get_mut(&stream) {
                    k.remove(&id);
                }
                if stream == Stream::Deployments {
                    self.history.forget_deployment(&id);
                }
                if self.sent_snapshot {
                    self.pending.extend(stream.remove(id));
                } else {
                    self.remove_initial(stream, &id);
                }
            }
            // ReplicaSets only name the image a rollback restores: without them the console
            // works as before, so they never make the source stale or hold up the snapshot.
            Msg::Failed(Stream::ReplicaSets, text, forbidden) => {
                self.listed.insert(Stream::ReplicaSets);
                if forbidden {
                    self.pending.push(Change::Denied {
                        what: Stream::ReplicaSets.resource().into(),
                        reason: Some(text),
                    });
                }
            }
            Msg::Failed(stream, text, forbidden) => {
                if forbidden {
                    // Refused is an answer: the snapshot does not wait for it.
                    self.listed.insert(stream);
                    self.pending.push(Change::Denied {
                        what: stream.resource().into(),
                        reason: Some(text.clone()),
                    });
                }
                self.failing.insert(stream, (text, forbidden));
            }
        }
    }

    /// A Deployment gets the image its previous revision ran.
    fn with_history(&mut self, o: Obj) -> Obj {
        match o {
            Obj::Workload(w) if w.id.starts_with("deployment/") => {
                Obj::Workload(self.history.deployment(w))
            }
            o => o,
        }
    }

    fn add_initial(&mut self, objs: Vec<Obj>) {
        let s = &mut self.initial;
        for o in objs {
            match o {
                Obj::Node(n) => s.nodes.get_or_insert_with(Vec::new).push(n),
                Obj::Workload(w) => s.workloads.get_or_insert_with(Vec::new).push(w),
                Obj::Replica(r) => s.replicas.get_or_insert_with(Vec::new).push(r),
                Obj::Event(e) => self.pending.push(Change::Event(e)),
                Obj::Revision(_) => {}
            }
        }
    }

    fn remove_initial(&mut self, stream: Stream, id: &str) {
        let s = &mut self.initial;
        match stream {
            Stream::Nodes => s.nodes.iter_mut().for_each(|v| v.retain(|n| n.id != id)),
            Stream::Pods => s.replicas.iter_mut().for_each(|v| v.retain(|r| r.id != id)),
            Stream::Events | Stream::ReplicaSets => {}
            _ => s
                .workloads
                .iter_mut()
                .for_each(|v| v.retain(|w| w.id != id)),
        }
    }

    async fn flush(
        &mut self,
        cluster: &str,
        tx: &mpsc::Sender<BackendMsg>,
        health: &mut Health<'_>,
    ) -> bool {
        let at = Utc::now();
        if !self.sent_snapshot && Stream::ALL.iter().all(|s| self.listed.contains(s)) {
            self.sent_snapshot = true;
            let mut snap = std::mem::take(&mut self.initial);
            if let Some(ws) = snap.workloads.as_mut() {
                self.history.fill(ws);
            }
            // Every kind is owned by this source, even when empty: an empty list is the truth.
            snap.nodes.get_or_insert_with(Vec::new);
            snap.workloads.get_or_insert_with(Vec::new);
            snap.replicas.get_or_insert_with(Vec::new);
            let msg = BackendMsg::Snapshot {
                cluster: cluster.to_string(),
                source: SourceKind::Kubernetes,
                at,
                snapshot: snap,
            };
            if tx.send(msg).await.is_err() {
                return false;
            }
        }
        if !self.pending.is_empty() {
            // Before the snapshot, only events and denials go out (the store shows them).
            let msg = BackendMsg::Changes {
                cluster: cluster.to_string(),
                source: SourceKind::Kubernetes,
                at,
                changes: std::mem::take(&mut self.pending),
            };
            if tx.send(msg).await.is_err() {
                return false;
            }
        }
        let failing: Vec<String> = self
            .failing
            .iter()
            .filter(|(_, (_, forbidden))| !forbidden)
            .map(|(s, (t, _))| format!("{}: {t}", s.resource()))
            .collect();
        // A kind RBAC refuses is not trouble with the data shown: it stays fresh and actions
        // stay possible (a namespace admin must be able to scale without seeing the nodes).
        // The refusals are `Change::Denied`, shown in their panes and the header.
        let state = if !failing.is_empty() {
            let reason = failing.join("; ");
            if self.sent_snapshot {
                SourceState::Degraded { reason }
            } else {
                SourceState::Unreachable { reason }
            }
        } else if self.sent_snapshot {
            SourceState::Connected
        } else {
            SourceState::Connecting
        };
        health.set(state).await
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
