//! The simulated cluster. Pure and deterministic: `tick(now)` advances it one step (the runner
//! calls it twice a second) and returns the changes and operation progress it produced.

use std::collections::{BTreeSet, HashMap, VecDeque};

use clusterdeck_kit::{Change, OpUpdate, Snapshot};
use clusterdeck_model::{
    Availability, EtcdMember, Event, Instance, Node, NodeStatus, ObjectKind, Origin, Reachability,
    Replica, ServiceMode, Severity, SourceKind, TaskState, Time, UpdateState, UpdateStatus,
    Workload,
};
use clusterdeck_ops::OpId;

use crate::build::{DemoSize, build};
use crate::rng::Rng;

/// Seconds of simulated time per tick.
pub const TICK_SECS: f64 = 0.5;
/// Terminal tasks kept per service beyond its live ones.
const HISTORY_PER_SERVICE: usize = 12;
/// A scripted incident every this many seconds, the first one sooner.
const INCIDENT_EVERY: f64 = 120.0;
const FIRST_INCIDENT: f64 = 60.0;

pub(super) struct Svc {
    pub w: Workload,
    /// Live task ids (desired running).
    pub live: Vec<String>,
    pub history: VecDeque<String>,
}

pub(super) enum RolloutKind {
    Deploy,
    Rollback,
    Restart,
}

pub(super) enum OpKind {
    Scale {
        svc: usize,
        target: u32,
    },
    Drain {
        node: String,
        queue: VecDeque<String>,
        moved: Vec<String>,
        total: u32,
    },
    Rollout {
        svc: usize,
        kind: RolloutKind,
        queue: VecDeque<String>,
        current: Option<String>,
        done: u32,
        total: u32,
    },
}

pub(super) struct RunningOp {
    /// None for the demo's own scripted changes (shown as external).
    pub id: Option<OpId>,
    pub kind: OpKind,
    pub started: f64,
}

pub struct DemoCluster {
    pub(super) rng: Rng,
    pub(super) nodes: Vec<Node>,
    pub(super) instances: Vec<Instance>,
    pub(super) services: Vec<Svc>,
    pub(super) tasks: HashMap<String, Replica>,
    pub(super) transitioning: BTreeSet<String>,
    pub(super) load: HashMap<String, u32>,
    pub(super) etcd: Vec<EtcdMember>,
    pub(super) ops: Vec<RunningOp>,
    pub(super) task_seq: u64,
    pub(super) elapsed: f64,
    pub(super) next_incident: f64,
    pub(super) incident_no: u32,
    pub(super) restore_at: Option<(f64, usize)>,
    pub(super) auto_rollback_at: Option<(f64, usize)>,
    pub(super) last_sample: f64,
    pub(super) now: Time,
    /// Whether random failures and scripted incidents run (off for benchmarks and some tests).
    pub lively: bool,
    pub(super) out: Vec<Change>,
    pub(super) op_out: Vec<OpUpdate>,
    pub(super) touched: BTreeSet<usize>,
}

/// What one tick produced.
#[derive(Debug, Default)]
pub struct TickOutput {
    pub changes: Vec<Change>,
    pub ops: Vec<OpUpdate>,
}

impl DemoCluster {
    pub fn new(size: DemoSize, seed: u64, now: Time) -> DemoCluster {
        let mut rng = Rng::new(seed);
        let built = build(size, &mut rng, now);
        let mut sim = DemoCluster {
            rng,
            nodes: built.nodes,
            instances: built.instances,
            services: built
                .services
                .into_iter()
                .map(|w| Svc {
                    w,
                    live: Vec::new(),
                    history: VecDeque::new(),
                })
                .collect(),
            tasks: HashMap::new(),
            transitioning: BTreeSet::new(),
            load: HashMap::new(),
            etcd: built.etcd,
            ops: Vec::new(),
            task_seq: 0,
            elapsed: 0.0,
            next_incident: FIRST_INCIDENT,
            incident_no: 0,
            restore_at: None,
            auto_rollback_at: None,
            last_sample: 0.0,
            now,
            lively: true,
            out: Vec::new(),
            op_out: Vec::new(),
            touched: BTreeSet::new(),
        };
        sim.place_initial_tasks();
        sim.out.clear();
        sim
    }

    fn place_initial_tasks(&mut self) {
        for s in 0..self.services.len() {
            match self.services[s].w.mode {
                ServiceMode::Replicated => {
                    for slot in 1..=self.services[s].w.desired {
                        let node = self.pick_node();
                        let id = self.new_task(s, Some(slot), node);
                        self.settle(&id);
                    }
                }
                ServiceMode::Global => {
                    let nodes: Vec<String> = self.nodes.iter().map(|n| n.id.clone()).collect();
                    self.services[s].w.desired = nodes.len() as u32;
                    for n in nodes {
                        let id = self.new_task(s, None, Some(n));
                        self.settle(&id);
                    }
                }
            }
            self.recount(s);
        }
        self.touched.clear();
    }

    /// Marks a task running at once (initial placement).
    fn settle(&mut self, id: &str) {
        self.transitioning.remove(id);
        if let Some(t) = self.tasks.get_mut(id) {
            t.state = TaskState::Running;
            t.since = self.now - chrono::Duration::minutes(30 + (self.task_seq % 600) as i64);
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            nodes: Some(self.nodes.clone()),
            workloads: Some(self.services.iter().map(|s| s.w.clone()).collect()),
            replicas: Some(self.tasks.values().cloned().collect()),
            instances: Some(self.instances.clone()),
            etcd: Some(self.etcd.clone()),
        }
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// A service by its id (what operations carry) or its name.
    pub(super) fn svc_by_name(&self, key: &str) -> Option<usize> {
        self.services
            .iter()
            .position(|s| s.w.id == key || s.w.name == key)
    }

    pub(super) fn node_by_name(&self, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.hostname == name || n.id == name)
    }

    /// Least-loaded active, ready node.
    pub(super) fn pick_node(&mut self) -> Option<String> {
        self.nodes
            .iter()
            .filter(|n| n.availability == Availability::Active && n.status == NodeStatus::Ready)
            .min_by(|a, b| {
                let load = |n: &Node| self.load.get(&n.id).copied().unwrap_or(0);
                load(a).cmp(&load(b)).then_with(|| a.id.cmp(&b.id))
            })
            .map(|n| n.id.clone())
    }

    pub(super) fn new_task(
        &mut self,
        svc: usize,
        slot: Option<u32>,
        node: Option<String>,
    ) -> String {
        self.task_seq += 1;
        let id = format!("t{:07}{}", self.task_seq, self.rng.hex(5));
        let t = Replica {
            id: id.clone(),
            kind: ObjectKind::Task,
            workload_id: self.services[svc].w.id.clone(),
            slot,
            node_id: node.clone(),
            desired: TaskState::Running,
            state: if node.is_some() {
                TaskState::New
            } else {
                TaskState::Pending
            },
            since: self.now,
            error: None,
            image: self.services[svc].w.image.clone(),
            name: None,
            restarts: None,
            container: None,
        };
        if let Some(n) = &node {
            *self.load.entry(n.clone()).or_default() += 1;
        }
        self.out.push(Change::UpsertReplica(t.clone()));
        self.tasks.insert(id.clone(), t);
        self.transitioning.insert(id.clone());
        self.services[svc].live.push(id.clone());
        self.touched.insert(svc);
        id
    }

    /// Ends a live task (shutdown by the orchestrator, or failed) and moves it to history.
    pub(super) fn end_task(&mut self, id: &str, state: TaskState, error: Option<String>) {
        let Some(t) = self.tasks.get_mut(id) else {
            return;
        };
        t.desired = TaskState::Shutdown;
        t.state = state;
        t.since = self.now;
        t.error = error;
        let t = t.clone();
        if let Some(n) = &t.node_id
            && let Some(l) = self.load.get_mut(n)
        {
            *l = l.saturating_sub(1);
        }
        self.transitioning.remove(id);
        self.out.push(Change::UpsertReplica(t.clone()));
        if let Some(s) = self.services.iter().position(|s| s.w.id == t.workload_id) {
            let svc = &mut self.services[s];
            svc.live.retain(|x| x != id);
            svc.history.push_back(id.to_string());
            while svc.history.len() > HISTORY_PER_SERVICE {
                if let Some(old) = svc.history.pop_front() {
                    self.tasks.remove(&old);
                    self.out.push(Change::RemoveReplica(old));
                }
            }
            self.touched.insert(s);
        }
    }

    pub(super) fn recount(&mut self, s: usize) {
        let svc = &self.services[s];
        let running = svc
            .live
            .iter()
            .filter(|id| self.tasks.get(*id).is_some_and(|t| t.is_running()))
            .count() as u32;
        self.services[s].w.running = running;
    }

    pub(super) fn event(
        &mut self,
        origin: Origin,
        severity: Severity,
        object: &str,
        target: &str,
        message: String,
    ) {
        self.out.push(Change::Event(Event {
            at: self.now,
            source: SourceKind::Swarm,
            origin,
            severity,
            object: object.to_string(),
            target: target.to_string(),
            message,
        }));
    }

    pub(super) fn emit_node(&mut self, i: usize) {
        self.out.push(Change::UpsertNode(self.nodes[i].clone()));
    }

    fn is_bad_image(image: &str) -> bool {
        let (_, tag, _) = clusterdeck_ops::parse_image_ref(image);
        tag.is_some_and(|t| t.contains("broken") || t.contains("bad"))
    }

    /// Advances every task that is on its way to running (or to stopping).
    fn advance_tasks(&mut self) {
        let ids: Vec<String> = self.transitioning.iter().cloned().collect();
        for id in ids {
            let Some(t) = self.tasks.get_mut(&id) else {
                self.transitioning.remove(&id);
                continue;
            };
            let next = match t.state {
                TaskState::New => TaskState::Pending,
                TaskState::Pending if t.node_id.is_none() => TaskState::Pending,
                TaskState::Pending => TaskState::Assigned,
                TaskState::Assigned => TaskState::Preparing,
                TaskState::Preparing => TaskState::Starting,
                TaskState::Starting if Self::is_bad_image(&t.image) => TaskState::Failed,
                TaskState::Starting => TaskState::Running,
                other => other,
            };
            t.state = next;
            t.since = self.now;
            if next == TaskState::Failed {
                let svc_id = t.workload_id.clone();
                let slot = t.slot;
                let node = t.node_id.clone();
                self.end_task(
                    &id,
                    TaskState::Failed,
                    Some(
                        "task: non-zero exit (1): exec /app/start: no such file or directory"
                            .into(),
                    ),
                );
                self.replace_after_failure(&svc_id, slot, node);
                continue;
            }
            let t = t.clone();
            if next == TaskState::Running {
                self.transitioning.remove(&id);
            }
            if let Some(s) = self.services.iter().position(|s| s.w.id == t.workload_id) {
                self.touched.insert(s);
            }
            self.out.push(Change::UpsertReplica(t));
        }
    }

    /// The restart policy: a failed task gets a successor in its slot.
    fn replace_after_failure(&mut self, svc_id: &str, slot: Option<u32>, node: Option<String>) {
        let Some(s) = self.services.iter().position(|s| s.w.id == svc_id) else {
            return;
        };
        let node = match (self.services[s].w.mode, node) {
            (ServiceMode::Global, n) => n,
            (ServiceMode::Replicated, _) => self.pick_node(),
        };
        self.new_task(s, slot, node);
    }

    fn random_failure(&mut self) {
        if self.services.is_empty() || !self.rng.chance(30) {
            return;
        }
        let s = self.rng.below(self.services.len() as u64) as usize;
        if self.services[s].live.is_empty() {
            return;
        }
        let i = self.rng.below(self.services[s].live.len() as u64) as usize;
        let id = self.services[s].live[i].clone();
        let Some(t) = self.tasks.get(&id) else { return };
        if !t.is_running() {
            return;
        }
        let (slot, node) = (t.slot, t.node_id.clone());
        let name = self.services[s].w.name.clone();
        self.end_task(
            &id,
            TaskState::Failed,
            Some("task: non-zero exit (137): container killed (OOM)".into()),
        );
        self.event(
            Origin::External,
            Severity::Warn,
            "task",
            &name,
            format!("task {id} of {name} failed: OOM killed; rescheduling"),
        );
        let svc_id = self.services[s].w.id.clone();
        self.replace_after_failure(&svc_id, slot, node);
    }

    fn scripted_incidents(&mut self) {
        if let Some((at, i)) = self.restore_at
            && self.elapsed >= at
        {
            self.restore_at = None;
            self.nodes[i].reachability = Some(Reachability::Reachable);
            self.emit_node(i);
            let h = self.nodes[i].hostname.clone();
            self.event(
                Origin::External,
                Severity::Info,
                "node",
                &h,
                format!("manager {h} is reachable again"),
            );
        }
        if let Some((at, s)) = self.auto_rollback_at
            && self.elapsed >= at
        {
            self.auto_rollback_at = None;
            if self.services[s]
                .w
                .update
                .as_ref()
                .is_some_and(|u| u.state.is_paused())
            {
                let name = self.services[s].w.name.clone();
                self.event(
                    Origin::External,
                    Severity::Info,
                    "service",
                    &name,
                    format!("CI rolled back {name}"),
                );
                let _ = self.start_rollout(None, s, RolloutKind::Rollback);
            }
        }
        if self.elapsed < self.next_incident {
            return;
        }
        self.next_incident += INCIDENT_EVERY;
        self.incident_no += 1;
        if self.incident_no % 2 == 1 {
            // A manager stops answering Raft but still reports Ready.
            let managers: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_manager() && !self.nodes[i].leader)
                .collect();
            if let Some(&i) = managers.last() {
                self.nodes[i].reachability = Some(Reachability::Unreachable);
                self.emit_node(i);
                let h = self.nodes[i].hostname.clone();
                self.event(
                    Origin::External,
                    Severity::Critical,
                    "node",
                    &h,
                    format!("manager {h} is unreachable"),
                );
                self.restore_at = Some((self.elapsed + 45.0, i));
            }
        } else if let Some(s) = self.svc_by_name("reports").or(if self.services.is_empty() {
            None
        } else {
            Some(0)
        }) {
            // CI deploys a build whose entrypoint is missing; the update pauses.
            let (repo, _, _) = clusterdeck_ops::parse_image_ref(&self.services[s].w.image);
            let image = format!("{repo}:2.0.0-broken");
            if self.services[s]
                .w
                .update
                .as_ref()
                .is_none_or(|u| !u.state.in_progress())
            {
                let name = self.services[s].w.name.clone();
                self.event(
                    Origin::External,
                    Severity::Info,
                    "service",
                    &name,
                    format!("CI deploys {image} to {name}"),
                );
                let _ = self.start_deploy(None, s, image);
                self.auto_rollback_at = Some((self.elapsed + 90.0, s));
            }
        }
    }

    fn sample_availability(&mut self) {
        if self.elapsed - self.last_sample < 60.0 {
            return;
        }
        self.last_sample = self.elapsed;
        for s in 0..self.services.len() {
            let w = &mut self.services[s].w;
            let pct =
                ((w.running.min(w.desired) * 100).checked_div(w.desired)).unwrap_or(100) as u8;
            w.availability.push(pct);
            if w.availability.len() > 60 {
                w.availability.remove(0);
            }
            self.touched.insert(s);
        }
    }

    /// One step of simulated time.
    pub fn tick(&mut self, now: Time) -> TickOutput {
        self.now = now;
        self.elapsed += TICK_SECS;
        self.advance_tasks();
        if self.lively {
            self.random_failure();
            self.scripted_incidents();
        }
        self.progress_ops();
        self.sample_availability();
        let touched: Vec<usize> = std::mem::take(&mut self.touched).into_iter().collect();
        for s in touched {
            self.recount(s);
            self.out
                .push(Change::UpsertWorkload(self.services[s].w.clone()));
        }
        TickOutput {
            changes: std::mem::take(&mut self.out),
            ops: std::mem::take(&mut self.op_out),
        }
    }

    pub(super) fn set_update(
        &mut self,
        s: usize,
        state: UpdateState,
        message: &str,
        progress: Option<(u32, u32)>,
    ) {
        let started = self.services[s]
            .w
            .update
            .as_ref()
            .and_then(|u| u.started_at)
            .unwrap_or(self.now);
        self.services[s].w.update = Some(UpdateStatus {
            state,
            message: message.to_string(),
            started_at: Some(started),
            progress,
        });
        self.touched.insert(s);
    }
}
