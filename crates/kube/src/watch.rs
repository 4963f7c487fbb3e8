//! One watcher per kind, each in a task of its own, converting objects as they arrive and
//! telling the aggregator what it saw.

use std::fmt::Debug;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Node as KubeNode, Pod};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use clusterdeck_kit::Change;
use clusterdeck_model::{Event, Node, Replica, Workload};

use crate::{connect, convert};

/// A converted object.
#[derive(Debug)]
pub(crate) enum Obj {
    Node(Node),
    Workload(Workload),
    Replica(Replica),
    Event(Event),
    /// A Deployment's ReplicaSet: history, never shown by itself.
    Revision(convert::Revision),
}

impl Obj {
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            Obj::Node(n) => Some(&n.id),
            Obj::Workload(w) => Some(&w.id),
            Obj::Replica(r) => Some(&r.id),
            Obj::Revision(r) => Some(&r.id),
            Obj::Event(_) => None,
        }
    }

    pub(crate) fn upsert(self) -> Option<Change> {
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
pub(crate) enum Msg {
    /// A complete (re)list of one stream.
    Listed(Stream, Vec<Obj>),
    Applied(Box<Obj>),
    Deleted(Stream, String),
    Failed(Stream, String, bool),
}

/// One watched kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Stream {
    Nodes,
    Deployments,
    StatefulSets,
    DaemonSets,
    Pods,
    Events,
    ReplicaSets,
}

impl Stream {
    pub(crate) const ALL: [Stream; 7] = [
        Stream::Nodes,
        Stream::Deployments,
        Stream::StatefulSets,
        Stream::DaemonSets,
        Stream::Pods,
        Stream::Events,
        Stream::ReplicaSets,
    ];

    /// The resource name the API server (and RBAC) uses.
    pub(crate) fn resource(self) -> &'static str {
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

    pub(crate) fn remove(self, id: String) -> Option<Change> {
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

/// Starts a watcher for every kind; the namespaced ones list every namespace or the chosen
/// one, falling back to the context's namespace when listing them all is forbidden.
pub(crate) fn start_all(conn: &connect::Conn, tx: mpsc::Sender<Msg>) -> Vec<JoinHandle<()>> {
    let c = &conn.client;
    let ns = conn.namespace.as_deref();
    let fb = conn.fallback_namespace.as_deref();
    let nodes = tokio::spawn(watch::<KubeNode>(
        Api::all(c.clone()),
        None,
        Stream::Nodes,
        |n| convert::node(n).map(Obj::Node),
        tx.clone(),
    ));
    vec![
        nodes,
        namespaced::<Deployment>(
            c,
            ns,
            fb,
            Stream::Deployments,
            |d| convert::deployment(d).map(Obj::Workload),
            &tx,
        ),
        namespaced::<StatefulSet>(
            c,
            ns,
            fb,
            Stream::StatefulSets,
            |d| convert::statefulset(d).map(Obj::Workload),
            &tx,
        ),
        namespaced::<DaemonSet>(
            c,
            ns,
            fb,
            Stream::DaemonSets,
            |d| convert::daemonset(d).map(Obj::Workload),
            &tx,
        ),
        namespaced::<Pod>(
            c,
            ns,
            fb,
            Stream::Pods,
            |p| convert::pod(p).map(Obj::Replica),
            &tx,
        ),
        namespaced::<ReplicaSet>(
            c,
            ns,
            fb,
            Stream::ReplicaSets,
            |r| convert::replicaset(r).map(Obj::Revision),
            &tx,
        ),
        namespaced::<KubeEvent>(
            c,
            ns,
            fb,
            Stream::Events,
            |e| convert::event(e).map(Obj::Event),
            &tx,
        ),
    ]
}

fn namespaced<K>(
    c: &Client,
    ns: Option<&str>,
    fallback: Option<&str>,
    stream: Stream,
    convert: fn(&K) -> Option<Obj>,
    tx: &mpsc::Sender<Msg>,
) -> JoinHandle<()>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    <K as Resource>::DynamicType: Default,
{
    let (api, fallback) = match ns {
        Some(ns) => (Api::namespaced(c.clone(), ns), None),
        None => (
            Api::all(c.clone()),
            fallback.map(|f| Api::namespaced(c.clone(), f)),
        ),
    };
    tokio::spawn(watch(api, fallback, stream, convert, tx.clone()))
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
