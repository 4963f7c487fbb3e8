//! One reconcile: list nodes, services and tasks, convert them, and send the store what changed
//! since the last one (everything, the first time), with events for the changes a person
//! wants to see in the timeline.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bollard::models::{Node as ApiNode, Service, Task};
use bollard::query_parameters::{ListNodesOptions, ListTasksOptions};
use chrono::Utc;
use tokio::time::Instant;

use clusterdeck_kit::{Change, Snapshot};
use clusterdeck_model::{
    Event, Node, Origin, Reachability, Replica, Severity, SourceKind, TaskState, Workload,
};

use crate::{Backend, Connected, Failure, classify, connect, convert};

/// Availability samples kept per service (one a minute: an hour).
const HISTORY: usize = 60;

/// What was last sent to the store, to send only differences.
#[derive(Default)]
pub(crate) struct Mirror {
    pub(crate) nodes: HashMap<String, Node>,
    pub(crate) services: HashMap<String, Workload>,
    pub(crate) tasks: HashMap<String, Replica>,
    history: HashMap<String, VecDeque<u8>>,
    last_sample: Option<Instant>,
    loaded: bool,
}

impl Mirror {
    /// Whether a node list read now differs from what the store was sent (a node went down,
    /// a manager became unreachable: the engine sends no event for these).
    pub(crate) fn nodes_differ(&self, listed: &[ApiNode]) -> bool {
        if !self.loaded {
            return false;
        }
        let now: Vec<Node> = listed.iter().filter_map(convert::node).collect();
        now.len() != self.nodes.len() || now.iter().any(|n| self.nodes.get(&n.id) != Some(n))
    }
}

/// The node list alone, for the node watch.
pub(crate) async fn list_nodes(d: &bollard::Docker) -> Result<Vec<ApiNode>, String> {
    d.list_nodes(None::<ListNodesOptions>)
        .await
        .map_err(|e| e.to_string())
}

/// One event for the timeline: severity, object kind, target, message.
type Noted = (Severity, &'static str, String, String);

impl Backend {
    /// Lists nodes, services and tasks and sends what changed (everything, the first time).
    pub(crate) async fn reconcile(
        &mut self,
        c: &Connected,
        status: bool,
        fresh: bool,
    ) -> Result<(), Failure> {
        let (nodes, services, tasks) = list(c, status).await?;
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
        let workloads = self.mirror.workloads(&services, &tasks, &nodes);
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
            self.rep.snapshot(snap).await;
            return Ok(());
        }
        let mut noted = node_events(&self.mirror.nodes, &nodes);
        noted.extend(service_events(&self.mirror.services, &workloads));
        noted.extend(task_events(&self.mirror.tasks, &tasks, &workloads));
        let mut changes = Vec::new();
        diff(
            &self.mirror.nodes,
            &nodes,
            Change::UpsertNode,
            Change::RemoveNode,
            &mut changes,
        );
        diff(
            &self.mirror.services,
            &workloads,
            Change::UpsertWorkload,
            Change::RemoveWorkload,
            &mut changes,
        );
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
            noted
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

/// A service as the engine lists it, with its `PreviousSpec`'s image (bollard's model drops
/// that field, so services are read raw through the console's link).
pub(crate) struct Listed {
    pub service: Service,
    pub previous_image: Option<String>,
    /// What the last update changed (its spec against the previous one), in words.
    pub changed: Vec<String>,
}

/// The three lists, each bounded by the request timeout.
async fn list(
    c: &Connected,
    status: bool,
) -> Result<(Vec<ApiNode>, Vec<Listed>, Vec<Task>), Failure> {
    let d = &c.docker;
    let t = connect::REQUEST_TIMEOUT;
    let timeout =
        |what: &str| Failure::Connection(format!("{what}: no answer within {}s", t.as_secs()));
    let nodes = tokio::time::timeout(t, d.list_nodes(None::<ListNodesOptions>))
        .await
        .map_err(|_| timeout("list nodes"))?
        .map_err(|e| classify(&e))?;
    let path = if status {
        "/services?status=true"
    } else {
        "/services"
    };
    let raw = c.link.get_json(d, path, t).await.map_err(|(e, answered)| {
        if answered {
            Failure::Degraded(e)
        } else {
            Failure::Connection(format!("list services: {e}"))
        }
    })?;
    let services = raw
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            let service = serde_json::from_value::<Service>(v.clone()).ok()?;
            let previous_image = v["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"]
                .as_str()
                .map(str::to_string);
            Some(Listed {
                service,
                previous_image,
                changed: crate::diff::spec_diff(&v["PreviousSpec"], &v["Spec"]),
            })
        })
        .collect();
    let tasks = tokio::time::timeout(t, d.list_tasks(None::<ListTasksOptions>))
        .await
        .map_err(|_| timeout("list tasks"))?
        .map_err(|e| classify(&e))?;
    Ok((nodes, services, tasks))
}

impl Mirror {
    /// Services as workloads, with the image of the engine's previous spec and their
    /// availability sampled once a minute.
    /// A task on a node that is down still says "running" in the engine until it is
    /// rescheduled: it is not counted as running (it is unknown).
    pub(crate) fn workloads(
        &mut self,
        services: &[Listed],
        tasks: &HashMap<String, Replica>,
        nodes: &HashMap<String, Node>,
    ) -> HashMap<String, Workload> {
        let mut by_service: HashMap<&str, Vec<&Replica>> = HashMap::new();
        for r in tasks.values() {
            by_service
                .entry(r.workload_id.as_str())
                .or_default()
                .push(r);
        }
        let sample = self
            .last_sample
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        let mut workloads = HashMap::new();
        for listed in services {
            let s = &listed.service;
            let Some(id) = s.id.clone() else { continue };
            let ts = by_service.get(id.as_str()).cloned().unwrap_or_default();
            let prev = listed.previous_image.clone();
            let hist = self.history.entry(id.clone()).or_default();
            let Some(mut w) = convert::workload(s, &ts, prev, hist.iter().copied().collect())
            else {
                continue;
            };
            w.changed = listed.changed.clone();
            let up = |n: &String| nodes.get(n).is_some_and(Node::is_up);
            let running_up = ts
                .iter()
                .filter(|t| t.desired == TaskState::Running && t.is_running())
                .filter(|t| t.node_id.as_ref().is_none_or(up))
                .count() as u32;
            w.running = w.running.min(running_up);
            if sample {
                let pct =
                    ((w.running.min(w.desired) * 100).checked_div(w.desired)).unwrap_or(100) as u8;
                hist.push_back(pct);
                while hist.len() > HISTORY {
                    hist.pop_front();
                }
            }
            let availability = hist.iter().copied().collect();
            workloads.insert(id, Workload { availability, ..w });
        }
        // A removed service's availability history goes with it (ids are never reused).
        self.history.retain(|id, _| workloads.contains_key(id));
        if sample {
            self.last_sample = Some(Instant::now());
        }
        workloads
    }
}

fn node_events(old: &HashMap<String, Node>, new: &HashMap<String, Node>) -> Vec<Noted> {
    let mut out = Vec::new();
    for (id, n) in new {
        let Some(o) = old.get(id) else { continue };
        let host = n.hostname.clone();
        if o.reachability != n.reachability && n.reachability == Some(Reachability::Unreachable) {
            let msg = format!("manager {host} is unreachable");
            out.push((Severity::Critical, "node", host, msg));
        } else if o.status != n.status {
            let msg = format!("node {host} is {}", n.status.label());
            out.push((Severity::Warn, "node", host, msg));
        } else if o.availability != n.availability {
            let msg = format!(
                "node {host} availability {} → {}",
                o.availability.label(),
                n.availability.label()
            );
            out.push((Severity::Info, "node", host, msg));
        }
    }
    out
}

fn service_events(old: &HashMap<String, Workload>, new: &HashMap<String, Workload>) -> Vec<Noted> {
    let mut out = Vec::new();
    let info = |name: &str, msg: String| (Severity::Info, "service", name.to_string(), msg);
    for (id, w) in new {
        let Some(o) = old.get(id) else {
            out.push(info(&w.name, format!("service {} created", w.name)));
            continue;
        };
        if o.image != w.image {
            out.push(info(
                &w.name,
                format!("{} image {} → {}", w.name, o.image, w.image),
            ));
        }
        if o.desired != w.desired {
            let msg = format!("{} replicas {} → {}", w.name, o.desired, w.desired);
            out.push(info(&w.name, msg));
        }
        let (os, ns) = (
            o.update.as_ref().map(|u| u.state),
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
            let msg = format!("{} update {}: {}", w.name, u.state.label(), u.message);
            out.push((sev, "service", w.name.clone(), msg));
        }
    }
    for (id, o) in old {
        if !new.contains_key(id) {
            out.push(info(&o.name, format!("service {} removed", o.name)));
        }
    }
    out
}

fn task_events(
    old: &HashMap<String, Replica>,
    new: &HashMap<String, Replica>,
    services: &HashMap<String, Workload>,
) -> Vec<Noted> {
    let mut out = Vec::new();
    for (id, t) in new {
        if t.state != TaskState::Failed || old.get(id).is_some_and(|o| o.state == t.state) {
            continue;
        }
        let name = services
            .get(&t.workload_id)
            .map_or("?", |w| w.name.as_str())
            .to_string();
        let msg = format!(
            "task {id} of {name} failed: {}",
            t.error.as_deref().unwrap_or("no error given")
        );
        out.push((Severity::Warn, "task", name, msg));
    }
    out
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
