//! What backends tell the run loop: a full `Snapshot` first, `Change`s after, their health,
//! the progress of operations, followed log lines. Plain data, so the store (below every
//! backend) can apply it and tests can build it.

use crate::{
    ControlCheck, Drift, EtcdMember, Event, Instance, Node, Replica, SourceHealth, SourceKind,
    Time, Workload,
};

/// Operation ids are unique per host: time, process and sequence.
pub type OpId = String;

/// A full picture of what one source owns. `None` means "this source does not own that kind",
/// so an EC2 snapshot never wipes the Swarm nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub nodes: Option<Vec<Node>>,
    pub workloads: Option<Vec<Workload>>,
    pub replicas: Option<Vec<Replica>>,
    pub instances: Option<Vec<Instance>>,
    pub etcd: Option<Vec<EtcdMember>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    UpsertNode(Node),
    RemoveNode(String),
    UpsertWorkload(Workload),
    RemoveWorkload(String),
    UpsertReplica(Replica),
    RemoveReplica(String),
    UpsertInstance(Instance),
    RemoveInstance(String),
    Etcd(Vec<EtcdMember>),
    Event(Event),
    /// The API server's readiness checks, replacing the previous set.
    ControlPlane(Vec<ControlCheck>),
    /// What the credentials may not see (`what` is a kind such as "nodes"), or `None` once
    /// they may again.
    Denied {
        what: String,
        reason: Option<String>,
    },
}

/// Progress and outcome of an operation, reported by the backend executing it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpUpdate {
    pub op_id: OpId,
    /// (done, total) units: tasks started, tasks moved, tasks updated.
    pub progress: Option<(u32, u32)>,
    pub message: String,
    /// Set once, when the operation has settled.
    pub outcome: Option<Result<String, String>>,
    /// Set with an `Err` outcome when nothing was sent because the target moved since the
    /// plan the operator confirmed.
    pub drift: Option<Drift>,
}

impl OpUpdate {
    /// Progress of an operation still running.
    pub fn progress(op_id: OpId, progress: Option<(u32, u32)>, message: String) -> BackendMsg {
        BackendMsg::Op(OpUpdate {
            op_id,
            progress,
            message,
            outcome: None,
            drift: None,
        })
    }

    /// The end of an operation.
    pub fn outcome(op_id: OpId, r: Result<String, String>) -> BackendMsg {
        BackendMsg::Op(OpUpdate {
            op_id,
            progress: None,
            message: String::new(),
            outcome: Some(r),
            drift: None,
        })
    }

    /// The end of an operation refused because its target moved since the plan.
    pub fn refused(op_id: OpId, drift: Drift) -> BackendMsg {
        BackendMsg::Op(OpUpdate {
            op_id,
            progress: None,
            message: String::new(),
            outcome: Some(Err(drift.message())),
            drift: Some(drift),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum BackendMsg {
    Snapshot {
        cluster: String,
        source: SourceKind,
        at: Time,
        snapshot: Snapshot,
    },
    Changes {
        cluster: String,
        source: SourceKind,
        at: Time,
        changes: Vec<Change>,
    },
    Health {
        cluster: String,
        source: SourceKind,
        health: SourceHealth,
    },
    Op(OpUpdate),
    /// Log lines being followed; `ended` says why the stream stopped.
    Logs {
        cluster: String,
        lines: Vec<String>,
        ended: Option<String>,
    },
    /// An object as the engine reports it (JSON text), or why it could not be read.
    Described {
        cluster: String,
        kind: crate::ObjectKind,
        id: String,
        json: Result<String, String>,
    },
    /// Resource usage of the objects on screen (kind, the engine's id, the sample), or why
    /// none can be had (the metrics API missing, a node's engine out of reach).
    Usage {
        cluster: String,
        source: crate::SourceKind,
        samples: Vec<(crate::ObjectKind, String, crate::usage::Sample)>,
        problem: Option<String>,
    },
    /// Output of a job the console runs (a stack's plan or deploy, a pipeline hook), for
    /// the output view; `ended` says how it finished (a summary, or why it failed) and
    /// `after` what it left, for the audit outcome.
    Output {
        job: u64,
        lines: Vec<String>,
        ended: Option<Result<String, String>>,
        after: serde_json::Value,
    },
    /// Tags the image's registry offers (for the deploy prompt).
    Tags {
        image: String,
        tags: Vec<String>,
    },
}
