//! What counts as an incident, read from one cluster's state: every source's problems in one
//! vocabulary (Swarm managers and etcd members for quorum, the API server's readiness checks,
//! etcd alarms, nodes, workloads, tasks and pods, instances, the sources themselves).

use crate::input::Pane;
use crate::model::store::ClusterState;
use crate::model::{
    Health, InstanceState, NodeStatus, Quorum, QuorumVerdict, Replica, TaskState, Time,
};
use crate::ops::audit::AuditRecord;

use super::{IncidentKind, Thresholds};

/// Where the console takes the operator for an affected object: a pane and the row's id there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jump {
    pub pane: Pane,
    /// The row's id in that pane (node, workload, replica or instance id; etcd member id).
    pub id: String,
    /// For a replica: its workload, to drill into.
    pub workload: Option<String>,
}

/// One affected object as detected in one pass; the start is known only where the model has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    pub kind: IncidentKind,
    pub object: String,
    pub detail: String,
    pub since: Option<Time>,
    pub jump: Option<Jump>,
    /// What shows why: the failing task's error, the object's last events.
    pub evidence: Vec<String>,
    /// Reported only once it has lasted this long (a short dip is not an incident).
    pub grace: Option<chrono::Duration>,
}

impl Detected {
    fn new(kind: IncidentKind, object: impl Into<String>, detail: impl Into<String>) -> Detected {
        Detected {
            kind,
            object: object.into(),
            detail: detail.into(),
            since: None,
            jump: None,
            evidence: Vec::new(),
            grace: None,
        }
    }
    fn since(mut self, t: Option<Time>) -> Detected {
        self.since = t;
        self
    }
    fn jump(mut self, pane: Pane, id: &str, workload: Option<&str>) -> Detected {
        self.jump = Some(Jump {
            pane,
            id: id.to_string(),
            workload: workload.map(str::to_string),
        });
        self
    }
    fn evidence(mut self, lines: Vec<String>) -> Detected {
        self.evidence = lines;
        self
    }
}

/// Last events kept as evidence per object.
const EVIDENCE_EVENTS: usize = 3;

/// Every incident of one cluster now. `audit` is the recent audit log: an instance stopped by
/// an action recorded there is not an incident.
pub fn detect(c: &ClusterState, t: &Thresholds, audit: &[AuditRecord], now: Time) -> Vec<Detected> {
    let mut out = Vec::new();
    sources(c, &mut out);
    quorum(c, &mut out);
    control_plane(c, &mut out);
    nodes(c, &mut out);
    workloads(c, t, now, &mut out);
    instances(c, audit, t, &mut out);
    out
}

fn sources(c: &ClusterState, out: &mut Vec<Detected>) {
    for (kind, h) in &c.sources {
        if h.is_stale() {
            out.push(
                Detected::new(
                    IncidentKind::SourceDown,
                    kind.label(),
                    format!("{}: {}", h.label(), h.reason().unwrap_or("no reason given")),
                )
                .since(h.stale_since),
            );
        }
    }
}

fn quorum(c: &ClusterState, out: &mut Vec<Detected>) {
    if c.nodes.values().any(|n| n.is_manager()) {
        raft(c.quorum(), "managers", "managers", Pane::Overview, out);
    }
    if !c.etcd.is_empty() {
        raft(
            Quorum::from_etcd(&c.etcd),
            "etcd",
            "members",
            Pane::Quorum,
            out,
        );
        for m in &c.etcd {
            if !m.healthy {
                let why = m.problem.clone().unwrap_or_else(|| "not answering".into());
                out.push(
                    Detected::new(IncidentKind::NodeDown, format!("etcd {}", m.name), why).jump(
                        Pane::Quorum,
                        &m.id,
                        None,
                    ),
                );
            }
            for alarm in &m.alarms {
                out.push(
                    Detected::new(
                        IncidentKind::EtcdAlarm,
                        format!("etcd {}", m.name),
                        alarm.clone(),
                    )
                    .jump(Pane::Quorum, &m.id, None),
                );
            }
        }
    }
}

fn raft(q: Quorum, object: &str, members: &str, pane: Pane, out: &mut Vec<Detected>) {
    let kind = match q.verdict {
        QuorumVerdict::Lost => IncidentKind::QuorumLost,
        QuorumVerdict::AtRisk => IncidentKind::QuorumAtRisk,
        _ => return,
    };
    let detail = match q.verdict {
        QuorumVerdict::Lost => q.summary(),
        _ => format!(
            "{}/{} {members} reachable, tolerates {} more",
            q.reachable, q.managers, q.tolerates_now
        ),
    };
    let mut d = Detected::new(kind, object, detail);
    d.jump = Some(Jump {
        pane,
        id: String::new(),
        workload: None,
    });
    out.push(d);
}

fn control_plane(c: &ClusterState, out: &mut Vec<Detected>) {
    let failing: Vec<_> = c.control_plane.iter().filter(|k| !k.ok).collect();
    if failing.is_empty() {
        return;
    }
    let names: Vec<&str> = failing.iter().map(|k| k.name.as_str()).collect();
    let evidence = failing
        .iter()
        .map(|k| format!("{}: {}", k.name, k.detail))
        .collect();
    out.push(
        Detected::new(
            IncidentKind::ApiNotReady,
            "api server",
            format!("readyz failing: {}", names.join(", ")),
        )
        .jump(Pane::Overview, "", None)
        .evidence(evidence),
    );
}

fn nodes(c: &ClusterState, out: &mut Vec<Detected>) {
    for n in c.nodes.values() {
        let role = if n.is_manager() { "manager" } else { "worker" };
        let detail = match n.health() {
            Health::Critical => match n.reachability {
                Some(crate::model::Reachability::Unreachable) if n.status == NodeStatus::Ready => {
                    format!("{role} unreachable")
                }
                _ => format!("{role} {}", n.status.label()),
            },
            // Kubernetes' "Ready: Unknown": the node stopped reporting.
            Health::Unknown if n.status == NodeStatus::Unknown => {
                format!("{role} not reporting")
            }
            _ => continue,
        };
        out.push(
            Detected::new(IncidentKind::NodeDown, n.hostname.clone(), detail)
                .jump(Pane::Nodes, &n.id, None)
                .evidence(events_of(c, &n.hostname)),
        );
    }
}

fn workloads(c: &ClusterState, t: &Thresholds, now: Time, out: &mut Vec<Detected>) {
    let window = chrono::Duration::seconds(t.crash_loop_window_secs as i64);
    let grace = chrono::Duration::seconds(t.below_desired_grace_secs as i64);
    for w in c.workloads.values() {
        // A workload at its desired count with no paused update has none of these incidents
        // (a crash loop's tasks that failed are replaced by ones running since): nothing of
        // its replicas or events is read, which keeps a recompute over 10,000 replicas short.
        let paused = w.update.as_ref().is_some_and(|u| u.state.is_paused());
        if !w.is_degraded() && !paused {
            continue;
        }
        let failing = newest_failure(c, &w.id);
        let mut evidence: Vec<String> = failing
            .and_then(|r| r.error.as_ref())
            .map(|e| {
                let task = failing.map(|r| r.label(&w.name)).unwrap_or_default();
                vec![format!("{task}: {e}")]
            })
            .unwrap_or_default();
        evidence.extend(events_of(c, &w.name));
        // Crash loop: tasks that failed within the window, or a pod's container restarts.
        let failures: Vec<Time> = c
            .replicas_of_workload(&w.id)
            .filter(|r| matches!(r.state, TaskState::Failed | TaskState::Rejected))
            .filter(|r| now - r.since <= window)
            .map(|r| r.since)
            .collect();
        let failed_recently = failures.len() as u32;
        // A pod restarting in place (Kubernetes' CrashLoopBackOff): not running now.
        let restarts = c
            .replicas_of_workload(&w.id)
            .filter(|r| r.is_current() && !r.is_running() && now - r.since <= window)
            .filter_map(|r| r.restarts)
            .max()
            .unwrap_or(0);
        // Failing still: short of desired, or a failure newer than every running task's start.
        let newest_running = c
            .replicas_of_workload(&w.id)
            .filter(|r| r.is_running())
            .map(|r| r.since)
            .max();
        let still = w.is_degraded()
            || failures
                .iter()
                .max()
                .is_some_and(|f| newest_running.is_none_or(|r| *f > r));
        let loops = if still { failed_recently } else { 0 }.max(restarts);
        if loops >= t.crash_loop_failures {
            let what = if restarts > failed_recently {
                format!("{restarts} restarts")
            } else {
                format!("{failed_recently} tasks failed")
            };
            let mut d = Detected::new(
                IncidentKind::CrashLoop,
                w.name.clone(),
                format!(
                    "{what} in {}",
                    super::short_duration(t.crash_loop_window_secs)
                ),
            )
            .since(failures.iter().min().copied())
            .evidence(evidence.clone());
            d.jump = jump_to_failure(w, failing);
            out.push(d);
        }
        if w.is_degraded() {
            let mut d = Detected::new(
                IncidentKind::BelowDesired,
                w.name.clone(),
                format!("{}/{}", w.running, w.desired),
            )
            .since(c.short_since(&w.id))
            .evidence(evidence.clone());
            // A rolling update or a task being replaced dips for a moment.
            d.grace = Some(grace);
            d.jump = jump_to_failure(w, failing);
            out.push(d);
        }
        if let Some(u) = w.update.as_ref().filter(|u| u.state.is_paused()) {
            let mut d = Detected::new(
                IncidentKind::UpdatePaused,
                w.name.clone(),
                u.message.clone(),
            )
            .since(u.started_at)
            .evidence(evidence);
            d.jump = jump_to_failure(w, failing);
            out.push(d);
        }
    }
}

/// The workload's failing task to select, or the workload itself.
fn jump_to_failure(w: &crate::model::Workload, failing: Option<&Replica>) -> Option<Jump> {
    Some(match failing {
        Some(r) => Jump {
            pane: Pane::Replicas,
            id: r.id.clone(),
            workload: Some(w.id.clone()),
        },
        None => Jump {
            pane: Pane::Services,
            id: w.id.clone(),
            workload: None,
        },
    })
}

/// The newest task or pod of a workload that says why it fails.
pub fn newest_failure<'a>(c: &'a ClusterState, workload: &str) -> Option<&'a Replica> {
    c.replicas_of_workload(workload)
        .filter(|r| r.error.is_some() && !r.is_running())
        .max_by_key(|r| r.since)
}

fn instances(c: &ClusterState, audit: &[AuditRecord], t: &Thresholds, out: &mut Vec<Detected>) {
    for i in c.instances.values() {
        let down = matches!(
            i.state,
            InstanceState::Stopping
                | InstanceState::Stopped
                | InstanceState::ShuttingDown
                | InstanceState::Terminated
        );
        if let Some(which) = i.flags.impaired.as_ref().filter(|_| !down) {
            out.push(
                Detected::new(
                    IncidentKind::InstanceDown,
                    format!("{} {}", i.id, i.name),
                    format!("{} status check impaired", which),
                )
                .jump(Pane::Instances, &i.id, None),
            );
            continue;
        }
        if !down || intended(audit, &i.id, i.state_since, t) {
            continue;
        }
        out.push(
            Detected::new(
                IncidentKind::InstanceDown,
                format!("{} {}", i.id, i.name),
                format!("{}, not by this console", i.state.label()),
            )
            .since(Some(i.state_since))
            .jump(Pane::Instances, &i.id, None),
        );
    }
}

/// Whether the audit log has an intent to stop or terminate this instance shortly before its
/// state changed (an action of an operator, not a failure).
fn intended(audit: &[AuditRecord], id: &str, at: Time, t: &Thresholds) -> bool {
    let window = chrono::Duration::seconds(t.intent_window_secs as i64);
    audit.iter().any(|r| {
        r.phase == "intent"
            && matches!(r.verb.as_str(), "stop" | "terminate")
            && r.object.as_ref().is_some_and(|o| o.id == id)
            // Clocks and the engine's coarse timestamps: an intent a little after counts.
            && chrono::DateTime::parse_from_rfc3339(&r.time).is_ok_and(|w| {
                let d = at - w.with_timezone(&chrono::Utc);
                d <= window && d >= -chrono::Duration::seconds(60)
            })
    })
}

/// The newest events naming an object, newest first.
fn events_of(c: &ClusterState, name: &str) -> Vec<String> {
    c.events
        .iter()
        .filter(|e| e.target == name)
        .take(EVIDENCE_EVENTS)
        .map(|e| format!("{} {}", e.at.format("%H:%M:%S"), e.message))
        .collect()
}
