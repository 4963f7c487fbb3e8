//! The store: the one owner of cluster state. Only the run loop mutates it, by applying backend
//! messages; views read it. Derived indexes are kept incrementally so one change costs
//! O(log n), not a rescan.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::feed::{BackendMsg, Change, Snapshot};
use crate::usage::Usage;
use crate::{
    ControlCheck, EtcdMember, Event, Health, Instance, InstanceState, Node, ObjectKind, Quorum,
    Replica, SourceHealth, SourceKind, SourceState, Target, Time, Workload,
};

/// Events kept per cluster; older ones fall off (the audit log is the durable record).
pub const EVENT_CAPACITY: usize = 1000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterState {
    pub name: String,
    pub production: bool,
    /// `read_only = true` in its `[[contexts]]` entry: the gate refuses every action on it.
    pub read_only: bool,
    pub sources: BTreeMap<SourceKind, SourceHealth>,
    pub nodes: HashMap<String, Node>,
    pub workloads: HashMap<String, Workload>,
    pub replicas: HashMap<String, Replica>,
    pub instances: HashMap<String, Instance>,
    pub etcd: Vec<EtcdMember>,
    /// The Kubernetes API server's readiness checks (empty without Kubernetes).
    pub control_plane: Vec<ControlCheck>,
    /// Kinds the credentials may not list, with the server's words ("forbidden: …").
    pub denied: BTreeMap<String, String>,
    /// Newest first.
    pub events: VecDeque<Event>,
    /// When a source last brought a change (the wall's "last change").
    pub last_change: Option<Time>,
    by_workload: HashMap<String, BTreeSet<String>>,
    by_node: HashMap<String, BTreeSet<String>>,
    running_on_node: HashMap<String, u32>,
    /// Current (non-history) replicas per workload, so a pane can find its visible window
    /// without sorting every replica.
    current_by_workload: HashMap<String, u32>,
    /// Instances by private address (two VPCs may reuse one).
    pub(crate) instance_by_ip: HashMap<String, Vec<String>>,
    /// Instances whose node cannot be told (their address is on several VPCs): instance id →
    /// the hostname they may run. No instance action is offered for them.
    pub ambiguous: HashMap<String, String>,
    /// CPU and memory of the objects shown lately (kind, the engine's id), sampled only while
    /// on screen; and why a source could not give some (per source).
    pub usage: HashMap<(ObjectKind, String), Usage>,
    pub usage_problem: BTreeMap<SourceKind, String>,
}

impl ClusterState {
    pub fn new(name: &str, production: bool) -> Self {
        ClusterState {
            name: name.to_string(),
            production,
            ..Default::default()
        }
    }

    pub fn quorum(&self) -> Quorum {
        Quorum::from_nodes(self.nodes.values())
    }

    /// Replica ids of a workload, in id order.
    pub fn replicas_of_workload(&self, id: &str) -> impl Iterator<Item = &Replica> {
        self.by_workload
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|r| self.replicas.get(r))
    }

    pub fn replicas_on_node(&self, id: &str) -> impl Iterator<Item = &Replica> {
        self.by_node
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|r| self.replicas.get(r))
    }

    /// Running replicas placed on a node, from the per-node counts.
    pub fn running_total(&self) -> usize {
        self.running_on_node.values().map(|n| *n as usize).sum()
    }

    pub fn current_replicas(&self, workload_id: &str) -> u32 {
        self.current_by_workload
            .get(workload_id)
            .copied()
            .unwrap_or(0)
    }

    pub fn running_on_node(&self, id: &str) -> u32 {
        self.running_on_node.get(id).copied().unwrap_or(0)
    }

    /// Nodes whose health is ok (ready, reachable, schedulable as expected).
    pub fn healthy_nodes(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.health() == Health::Ok)
            .count()
    }

    /// Workloads running as many replicas as desired.
    pub fn workloads_at_desired(&self) -> usize {
        self.workloads.values().filter(|w| !w.is_degraded()).count()
    }

    pub fn running_instances(&self) -> usize {
        self.instances
            .values()
            .filter(|i| i.state == InstanceState::Running)
            .count()
    }

    /// Since when a workload is short: its oldest replica that should run but does not.
    pub fn short_since(&self, workload_id: &str) -> Option<Time> {
        self.replicas_of_workload(workload_id)
            .filter(|r| r.is_current() && !r.is_running())
            .map(|r| r.since)
            .min()
    }

    pub fn workload_by_name(&self, name: &str) -> Option<&Workload> {
        self.workloads
            .get(name)
            .or_else(|| self.workloads.values().find(|w| w.name == name))
    }

    /// Every object called `name` (or with that id), as targets: nodes by hostname, workloads
    /// by name, instances by id or Name tag.
    pub fn targets_named(&self, name: &str) -> Vec<Target> {
        let nodes = self
            .nodes
            .values()
            .filter(|n| n.hostname == name || n.id == name)
            .map(Node::target);
        let workloads = self
            .workloads
            .values()
            .filter(|w| w.name == name || w.id == name)
            .map(Workload::target);
        let instances = self
            .instances
            .values()
            .filter(|i| i.id == name || i.name == name)
            .map(Instance::target);
        nodes.chain(workloads).chain(instances).collect()
    }

    /// Whether the replica is on a node that is down or unreachable: whatever state it last
    /// reported, its real state is unknown and it does not count as running.
    pub fn on_node_down(&self, r: &Replica) -> bool {
        r.node_id
            .as_ref()
            .and_then(|n| self.nodes.get(n))
            .is_some_and(|n| !n.is_up())
    }

    pub fn node_by_name(&self, name: &str) -> Option<&Node> {
        self.nodes
            .values()
            .find(|n| n.hostname == name || n.id == name)
    }

    /// The worst health among this cluster's configured sources, with its age.
    pub fn stale_since(&self) -> Option<Time> {
        self.sources.values().filter_map(|h| h.stale_since).min()
    }

    /// Adds or removes a replica from the derived indexes. Emptied entries are dropped so
    /// churn (tasks come and go, nodes are replaced) never grows the indexes.
    fn index_replica(&mut self, r: &Replica, add: bool) {
        index_set(&mut self.by_workload, &r.workload_id, &r.id, add);
        if r.is_current() {
            count(&mut self.current_by_workload, &r.workload_id, add);
        }
        if let Some(node) = &r.node_id {
            index_set(&mut self.by_node, node, &r.id, add);
            if r.is_running() {
                count(&mut self.running_on_node, node, add);
            }
        }
    }

    fn upsert_replica(&mut self, r: Replica) -> bool {
        if let Some(old) = self.replicas.get(&r.id) {
            if *old == r {
                return false;
            }
            let old = old.clone();
            self.index_replica(&old, false);
        }
        self.index_replica(&r, true);
        self.replicas.insert(r.id.clone(), r);
        true
    }

    fn remove_replica(&mut self, id: &str) -> bool {
        match self.replicas.remove(id) {
            Some(old) => {
                self.index_replica(&old, false);
                true
            }
            None => false,
        }
    }

    /// Correlate a node with a cloud instance by private address or `ip-a-b-c-d` hostname.
    fn apply_snapshot(&mut self, s: Snapshot) {
        let correlate = s.nodes.is_some() || s.instances.is_some();
        if let Some(nodes) = s.nodes {
            self.nodes = nodes.into_iter().map(|n| (n.id.clone(), n)).collect();
        }
        if let Some(ws) = s.workloads {
            self.workloads = ws.into_iter().map(|w| (w.id.clone(), w)).collect();
        }
        if let Some(rs) = s.replicas {
            self.replicas.clear();
            self.by_workload.clear();
            self.by_node.clear();
            self.running_on_node.clear();
            self.current_by_workload.clear();
            for r in rs {
                self.upsert_replica(r);
            }
        }
        if let Some(is) = s.instances {
            self.instances = is.into_iter().map(|i| (i.id.clone(), i)).collect();
        }
        if let Some(e) = s.etcd {
            self.etcd = e;
        }
        if correlate {
            self.correlate_all();
        }
    }

    /// Applies one change; returns whether anything visible changed.
    fn apply_change(&mut self, c: Change) -> bool {
        match c {
            Change::UpsertNode(mut n) => {
                if let Some(old) = self.nodes.get(&n.id) {
                    // Correlation fields belong to the store, not to the node's backend.
                    n.instance_id = n.instance_id.or(old.instance_id.clone());
                    n.az = n.az.or(old.az.clone());
                    if *old == n {
                        return false;
                    }
                }
                let id = n.id.clone();
                self.nodes.insert(id.clone(), n);
                self.correlate_node(&id);
                true
            }
            Change::RemoveNode(id) => self.nodes.remove(&id).is_some(),
            Change::UpsertWorkload(w) => {
                if self.workloads.get(&w.id) == Some(&w) {
                    return false;
                }
                self.workloads.insert(w.id.clone(), w);
                true
            }
            Change::RemoveWorkload(id) => self.workloads.remove(&id).is_some(),
            Change::UpsertReplica(r) => self.upsert_replica(r),
            Change::RemoveReplica(id) => self.remove_replica(&id),
            Change::UpsertInstance(mut i) => {
                if let Some(old) = self.instances.get(&i.id) {
                    i.node_id = i.node_id.or(old.node_id.clone());
                    if *old == i {
                        return false;
                    }
                }
                let ip = i.private_ip.clone();
                let az_changed = self.instances.get(&i.id).is_none_or(|o| o.az != i.az);
                let new_ip = ip.as_ref().is_some_and(|ip| {
                    !self
                        .instance_by_ip
                        .get(ip)
                        .is_some_and(|ids| ids.contains(&i.id))
                });
                if let Some(ip) = ip.as_ref().filter(|_| new_ip) {
                    self.instance_by_ip
                        .entry(ip.clone())
                        .or_default()
                        .push(i.id.clone());
                }
                self.instances.insert(i.id.clone(), i);
                // An instance that appears after its node (EC2 polls, Swarm streams).
                if let Some(ip) = ip.filter(|_| new_ip || az_changed) {
                    let nodes: Vec<String> = self
                        .nodes
                        .values()
                        .filter(|n| {
                            hostname_ip(&n.hostname).unwrap_or_else(|| n.addr.clone()) == ip
                        })
                        .map(|n| n.id.clone())
                        .collect();
                    for n in nodes {
                        self.correlate_node(&n);
                    }
                }
                true
            }
            Change::RemoveInstance(id) => {
                for ids in self.instance_by_ip.values_mut() {
                    ids.retain(|i| *i != id);
                }
                self.ambiguous.remove(&id);
                self.instances.remove(&id).is_some()
            }
            Change::Etcd(m) => {
                if self.etcd == m {
                    return false;
                }
                self.etcd = m;
                true
            }
            Change::Event(e) => {
                self.events.push_front(e);
                self.events.truncate(EVENT_CAPACITY);
                true
            }
            Change::ControlPlane(checks) => {
                if self.control_plane == checks {
                    return false;
                }
                self.control_plane = checks;
                true
            }
            Change::Denied { what, reason } => match reason {
                Some(r) => self.denied.insert(what, r.clone()).as_ref() != Some(&r),
                None => self.denied.remove(&what).is_some(),
            },
        }
    }

    fn touch_source(&mut self, source: SourceKind, at: Time) {
        let h = self
            .sources
            .entry(source)
            .or_insert_with(|| SourceHealth::new(SourceState::Connected));
        h.last_update = Some(at);
    }
}

fn count(counts: &mut HashMap<String, u32>, key: &str, add: bool) {
    if add {
        *counts.entry(key.to_string()).or_default() += 1;
    } else if let Some(c) = counts.get_mut(key) {
        *c = c.saturating_sub(1);
        if *c == 0 {
            counts.remove(key);
        }
    }
}

fn index_set(index: &mut HashMap<String, BTreeSet<String>>, key: &str, id: &str, add: bool) {
    if add {
        index
            .entry(key.to_string())
            .or_default()
            .insert(id.to_string());
    } else if let Some(set) = index.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            index.remove(key);
        }
    }
}

/// `ip-10-0-1-12` (EC2's default private DNS hostname) → `10.0.1.12`.
pub fn hostname_ip(hostname: &str) -> Option<String> {
    let rest = hostname.strip_prefix("ip-")?;
    let rest = rest.split('.').next()?;
    let parts: Vec<&str> = rest.split('-').collect();
    (parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok())).then(|| parts.join("."))
}

#[derive(Clone, Debug, Default)]
pub struct Store {
    pub clusters: Vec<ClusterState>,
}

impl Store {
    pub fn cluster(&self, name: &str) -> Option<&ClusterState> {
        self.clusters.iter().find(|c| c.name == name)
    }

    pub fn cluster_mut(&mut self, name: &str) -> &mut ClusterState {
        let idx = match self.clusters.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.clusters.push(ClusterState::new(name, false));
                self.clusters.len() - 1
            }
        };
        &mut self.clusters[idx]
    }

    /// Applies a backend message; returns whether the screen needs redrawing.
    /// Operation updates are not store state and are handled by the app.
    pub fn apply(&mut self, msg: BackendMsg) -> bool {
        match msg {
            BackendMsg::Snapshot {
                cluster,
                source,
                at,
                snapshot,
            } => {
                let c = self.cluster_mut(&cluster);
                c.apply_snapshot(snapshot);
                c.touch_source(source, at);
                c.last_change = Some(at);
                true
            }
            BackendMsg::Changes {
                cluster,
                source,
                at,
                changes,
            } => {
                let c = self.cluster_mut(&cluster);
                let mut any = false;
                for ch in changes {
                    any |= c.apply_change(ch);
                }
                c.touch_source(source, at);
                if any {
                    c.last_change = Some(at);
                }
                any
            }
            BackendMsg::Health {
                cluster,
                source,
                mut health,
            } => {
                let c = self.cluster_mut(&cluster);
                let old = c.sources.get(&source);
                // Keep the first moment the data went stale, and the last fresh update.
                if let Some(old) = old {
                    if health.is_stale() && old.is_stale() {
                        health.stale_since = old.stale_since.or(health.stale_since);
                    }
                    health.last_update = health.last_update.or(old.last_update);
                }
                if old == Some(&health) {
                    false
                } else {
                    c.sources.insert(source, health);
                    true
                }
            }
            BackendMsg::Usage {
                cluster,
                source,
                samples,
                problem,
            } => {
                let c = self.cluster_mut(&cluster);
                let now = samples.first().map(|s| s.2.at);
                for (kind, id, sample) in samples {
                    c.usage.entry((kind, id)).or_default().push(sample);
                }
                // What has not been on screen for two minutes is forgotten.
                if let Some(now) = now {
                    c.usage.retain(|_, u| {
                        u.latest().is_some_and(|s| {
                            now.signed_duration_since(s.at) < chrono::TimeDelta::minutes(2)
                        })
                    });
                }
                match problem {
                    Some(p) => c.usage_problem.insert(source, p),
                    None => c.usage_problem.remove(&source),
                };
                true
            }
            BackendMsg::Op(_)
            | BackendMsg::Tags { .. }
            | BackendMsg::Output { .. }
            | BackendMsg::Logs { .. }
            | BackendMsg::Described { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_hostnames_parse() {
        assert_eq!(
            hostname_ip("ip-172-31-182-20"),
            Some("172.31.182.20".into())
        );
        assert_eq!(
            hostname_ip("ip-10-0-1-12.us-west-1.compute.internal"),
            Some("10.0.1.12".into())
        );
        assert_eq!(hostname_ip("ip-10-0-1"), None);
        assert_eq!(hostname_ip("mgr1"), None);
    }

    fn changes(store: &mut Store, source: SourceKind, changes: Vec<Change>) {
        store.apply(BackendMsg::Changes {
            cluster: "c".into(),
            source,
            at: chrono::Utc::now(),
            changes,
        });
    }

    #[test]
    fn nodes_and_instances_correlate_whichever_arrives_first() {
        let now = chrono::Utc::now();
        let mut store = Store::default();
        let mut by_addr = Node::sample(crate::NodeRole::Manager);
        by_addr.id = "n1".into();
        by_addr.addr = "10.0.1.11".into();
        let mut by_name = Node::sample(crate::NodeRole::Worker);
        by_name.id = "n2".into();
        by_name.hostname = "ip-10-0-2-12".into();
        by_name.addr = "192.168.0.9".into();
        changes(
            &mut store,
            SourceKind::Swarm,
            vec![Change::UpsertNode(by_addr), Change::UpsertNode(by_name)],
        );
        // The instances come later (EC2 is polled).
        let a = Instance::sample("i-a", "mgr", "us-west-1a", Some("10.0.1.11"), now);
        let b = Instance::sample("i-b", "wrk", "us-west-1b", Some("10.0.2.12"), now);
        let lone = Instance::sample("i-c", "spare", "us-west-1c", Some("10.0.3.13"), now);
        changes(
            &mut store,
            SourceKind::Ec2,
            vec![
                Change::UpsertInstance(a),
                Change::UpsertInstance(b),
                Change::UpsertInstance(lone),
            ],
        );
        let c = store.cluster("c").expect("cluster");
        assert_eq!(c.nodes["n1"].instance_id.as_deref(), Some("i-a"));
        assert_eq!(c.nodes["n1"].az.as_deref(), Some("us-west-1a"));
        assert_eq!(c.nodes["n2"].instance_id.as_deref(), Some("i-b"));
        assert_eq!(c.instances["i-a"].node_id.as_deref(), Some("n1"));
        assert_eq!(c.instances["i-b"].node_id.as_deref(), Some("n2"));
        assert_eq!(c.instances["i-c"].node_id, None);
        // A node update keeps the correlation the store made.
        let mut again = c.nodes["n1"].clone();
        again.instance_id = None;
        again.az = None;
        again.engine = "27.0".into();
        changes(
            &mut store,
            SourceKind::Swarm,
            vec![Change::UpsertNode(again)],
        );
        let c = store.cluster("c").expect("cluster");
        assert_eq!(c.nodes["n1"].instance_id.as_deref(), Some("i-a"));
        assert_eq!(c.nodes["n1"].az.as_deref(), Some("us-west-1a"));
    }
}
