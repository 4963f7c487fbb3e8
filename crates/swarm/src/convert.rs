//! Docker Engine API objects (bollard) → the normalized model.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    self as m, NodeSpecAvailabilityEnum, NodeSpecRoleEnum, NodeState, ServiceUpdateStatusStateEnum,
};
use chrono::{DateTime, Utc};

use clusterdeck_model::{
    Availability, Node, NodeRole, NodeStatus, ObjectKind, Reachability, Replica, ServiceMode,
    SourceKind, TaskState, Time, UpdateConfig, UpdateState, UpdateStatus, Workload,
};

pub const STACK_LABEL: &str = "com.docker.stack.namespace";

pub fn time(s: Option<&String>) -> Option<Time> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub fn node(n: &m::Node) -> Option<Node> {
    let id = n.id.clone()?;
    let spec = n.spec.as_ref();
    let desc = n.description.as_ref();
    let status = n.status.as_ref();
    let role = match spec.and_then(|s| s.role) {
        Some(NodeSpecRoleEnum::MANAGER) => NodeRole::Manager,
        _ => NodeRole::Worker,
    };
    let availability = match spec.and_then(|s| s.availability) {
        Some(NodeSpecAvailabilityEnum::PAUSE) => Availability::Pause,
        Some(NodeSpecAvailabilityEnum::DRAIN) => Availability::Drain,
        _ => Availability::Active,
    };
    let state = match status.and_then(|s| s.state) {
        Some(NodeState::READY) => NodeStatus::Ready,
        Some(NodeState::DOWN) => NodeStatus::Down,
        Some(NodeState::DISCONNECTED) => NodeStatus::Disconnected,
        _ => NodeStatus::Unknown,
    };
    let ms = n.manager_status.as_ref();
    let reachability = (role == NodeRole::Manager).then(|| match ms.and_then(|m| m.reachability) {
        Some(m::Reachability::REACHABLE) => Reachability::Reachable,
        Some(m::Reachability::UNREACHABLE) => Reachability::Unreachable,
        _ => Reachability::Unknown,
    });
    let labels: BTreeMap<String, String> = spec
        .and_then(|s| s.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    Some(Node {
        source: SourceKind::Swarm,
        hostname: desc
            .and_then(|d| d.hostname.clone())
            .unwrap_or_else(|| id.clone()),
        id,
        role,
        availability,
        status: state,
        reachability,
        leader: ms.and_then(|m| m.leader).unwrap_or(false),
        addr: status.and_then(|s| s.addr.clone()).unwrap_or_default(),
        engine: desc
            .and_then(|d| d.engine.as_ref())
            .and_then(|e| e.engine_version.clone())
            .unwrap_or_default(),
        labels,
        taints: Vec::new(),
        instance_id: None,
        az: None,
    })
}

pub fn task_state(s: Option<m::TaskState>) -> TaskState {
    use m::TaskState as S;
    match s {
        Some(S::NEW) | None => TaskState::New,
        Some(S::ALLOCATED) | Some(S::PENDING) => TaskState::Pending,
        Some(S::ASSIGNED) => TaskState::Assigned,
        Some(S::ACCEPTED) => TaskState::Accepted,
        Some(S::PREPARING) => TaskState::Preparing,
        Some(S::READY) => TaskState::Ready,
        Some(S::STARTING) => TaskState::Starting,
        Some(S::RUNNING) => TaskState::Running,
        Some(S::COMPLETE) => TaskState::Complete,
        Some(S::SHUTDOWN) => TaskState::Shutdown,
        Some(S::FAILED) => TaskState::Failed,
        Some(S::REJECTED) => TaskState::Rejected,
        Some(S::REMOVE) => TaskState::Remove,
        Some(S::ORPHANED) => TaskState::Orphaned,
    }
}

pub fn replica(t: &m::Task) -> Option<Replica> {
    let status = t.status.as_ref();
    let error = status.and_then(|s| s.err.clone()).filter(|e| !e.is_empty());
    Some(Replica {
        id: t.id.clone()?,
        kind: ObjectKind::Task,
        workload_id: t.service_id.clone()?,
        slot: t.slot.and_then(|s| u32::try_from(s).ok()),
        node_id: t.node_id.clone().filter(|n| !n.is_empty()),
        desired: task_state(t.desired_state),
        state: task_state(status.and_then(|s| s.state)),
        since: time(status.and_then(|s| s.timestamp.as_ref()))
            .or_else(|| time(t.updated_at.as_ref()))
            .unwrap_or_else(Utc::now),
        error,
        image: t
            .spec
            .as_ref()
            .and_then(|s| s.container_spec.as_ref())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        name: None,
        restarts: None,
        container: status
            .and_then(|s| s.container_status.as_ref())
            .and_then(|c| c.container_id.clone())
            .filter(|c| !c.is_empty()),
    })
}

pub fn service_image(s: &m::Service) -> String {
    s.spec
        .as_ref()
        .and_then(|s| s.task_template.as_ref())
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn update_state(s: ServiceUpdateStatusStateEnum) -> Option<UpdateState> {
    use ServiceUpdateStatusStateEnum as S;
    Some(match s {
        S::UPDATING => UpdateState::Updating,
        S::PAUSED => UpdateState::Paused,
        S::COMPLETED => UpdateState::Completed,
        S::ROLLBACK_STARTED => UpdateState::RollbackStarted,
        S::ROLLBACK_PAUSED => UpdateState::RollbackPaused,
        S::ROLLBACK_COMPLETED => UpdateState::RollbackCompleted,
        S::EMPTY => return None,
    })
}

/// `tasks` are this service's tasks; they give the running count on engines without
/// `ServiceStatus` (API < 1.41) and the rollout progress.
pub fn workload(
    s: &m::Service,
    tasks: &[&Replica],
    previous_image: Option<String>,
    history: Vec<u8>,
) -> Option<Workload> {
    let spec = s.spec.as_ref()?;
    let mode = spec.mode.as_ref();
    let global = mode.is_some_and(|m| m.global.is_some());
    let live: Vec<&&Replica> = tasks
        .iter()
        .filter(|r| r.desired == TaskState::Running)
        .collect();
    let running_from_tasks = live.iter().filter(|r| r.is_running()).count() as u32;
    let desired_from_spec = mode
        .and_then(|m| m.replicated.as_ref())
        .and_then(|r| r.replicas)
        .and_then(|r| u32::try_from(r).ok());
    let (running, desired) = match &s.service_status {
        Some(st) => (
            st.running_tasks.map_or(running_from_tasks, |n| n as u32),
            st.desired_tasks
                .map(|n| n as u32)
                .or(desired_from_spec)
                .unwrap_or(live.len() as u32),
        ),
        None => (
            running_from_tasks,
            desired_from_spec.unwrap_or(live.len() as u32),
        ),
    };
    let image = service_image(s);
    let update = s.update_status.as_ref().and_then(|u| {
        let state = update_state(u.state?)?;
        // Progress: live tasks already on the service's current image and running.
        let done = live
            .iter()
            .filter(|r| r.is_running() && r.image == image)
            .count() as u32;
        Some(UpdateStatus {
            state,
            message: u.message.clone().unwrap_or_default(),
            started_at: time(u.started_at.as_ref()),
            progress: Some((done, desired.max(done))),
        })
    });
    let uc = spec.update_config.as_ref();
    let labels: HashMap<String, String> = spec.labels.clone().unwrap_or_default();
    Some(Workload {
        id: s.id.clone()?,
        kind: ObjectKind::Service,
        name: spec.name.clone().unwrap_or_default(),
        mode: if global {
            ServiceMode::Global
        } else {
            ServiceMode::Replicated
        },
        desired,
        running,
        image,
        containers: Vec::new(),
        previous_image,
        changed: Vec::new(),
        revisions: Vec::new(),
        stack: labels.get(STACK_LABEL).cloned(),
        update,
        update_config: UpdateConfig {
            parallelism: uc
                .and_then(|u| u.parallelism)
                .map_or(1, |p| p.max(0) as u32),
            delay_secs: uc
                .and_then(|u| u.delay)
                .map_or(0, |d| (d.max(0) / 1_000_000_000) as u64),
            failure_action: uc
                .and_then(|u| u.failure_action)
                .map_or_else(|| "pause".into(), |f| f.to_string()),
        },
        spec_version: s.version.as_ref().and_then(|v| v.index).unwrap_or(0),
        generation: 0,
        uid: None,
        availability: history,
    })
}
