//! Backends: each owns its client in its own task, sends a full `Snapshot` first and `Change`s
//! after, reports its health as data, and executes the operations the gate releases to it.
//! Backends never touch the store; the run loop applies their messages.

pub mod demo;
#[cfg(feature = "ec2")]
pub mod ec2;
pub mod etcd;
#[cfg(feature = "kube")]
pub mod kube;
pub mod registry;
pub mod swarm;

use tokio::sync::mpsc;

use crate::model::{
    ControlCheck, EtcdMember, Event, Instance, Node, Replica, SourceHealth, SourceKind, Time,
    Workload,
};
use crate::ops::{OpId, OpRequest};

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
}

impl OpUpdate {
    /// Progress of an operation still running.
    pub fn progress(op_id: OpId, progress: Option<(u32, u32)>, message: String) -> BackendMsg {
        BackendMsg::Op(OpUpdate {
            op_id,
            progress,
            message,
            outcome: None,
        })
    }

    /// The end of an operation.
    pub fn outcome(op_id: OpId, r: Result<String, String>) -> BackendMsg {
        BackendMsg::Op(OpUpdate {
            op_id,
            progress: None,
            message: String::new(),
            outcome: Some(r),
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
    /// Tags the image's registry offers (for the deploy prompt).
    Tags {
        image: String,
        tags: Vec<String>,
    },
}

/// An operation released by the gate (after the audit intent was written) to the backend that
/// owns its target.
#[derive(Clone, Debug, PartialEq)]
pub struct OpCommand {
    pub op_id: OpId,
    pub request: OpRequest,
}

/// The handle the executor uses to reach a running backend.
#[derive(Clone, Debug)]
pub struct BackendHandle {
    pub cluster: String,
    pub source: SourceKind,
    pub ops: mpsc::Sender<OpCommand>,
}

/// What the log follower is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum LogCommand {
    /// Follow a service's logs, or one task's when `task` is set (stops any previous follow).
    Follow {
        service: String,
        task: Option<String>,
    },
    Stop,
}

/// The write side of a backend: the queue of operations the gate released. Only a backend's
/// `spawn` makes one; a watch-only backend (read-only and wall mode) has none, and every function
/// that sends a change to an engine takes it as proof, so no path can write without it.
pub(crate) struct Writer {
    ops: mpsc::Receiver<OpCommand>,
}

impl Writer {
    pub(crate) fn new(ops: mpsc::Receiver<OpCommand>) -> Writer {
        Writer { ops }
    }
}

/// The next released operation; never resolves for a watch-only backend.
pub(crate) async fn next_op(w: &mut Option<Writer>) -> Option<OpCommand> {
    match w {
        Some(w) => w.ops.recv().await,
        None => std::future::pending().await,
    }
}

/// The handle the UI uses to follow logs; separate from the executor, so read-only mode has it.
#[derive(Clone, Debug)]
pub struct LogHandle {
    pub cluster: String,
    /// The backend whose objects it follows (a context may have Swarm and Kubernetes).
    pub source: SourceKind,
    pub tx: mpsc::Sender<LogCommand>,
}

impl LogHandle {
    /// The follower every backend shares, in a task of its own: one follow at a time, `follow`
    /// started for each Follow command, the previous one stopped (aborted) by any command.
    pub(crate) fn spawn<F, Fut>(cluster: String, source: SourceKind, follow: F) -> LogHandle
    where
        F: Fn(String, Option<String>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<LogCommand>(8);
        tokio::spawn(async move {
            let mut current: Option<tokio::task::JoinHandle<()>> = None;
            while let Some(cmd) = rx.recv().await {
                if let Some(h) = current.take() {
                    h.abort();
                }
                if let LogCommand::Follow { service, task } = cmd {
                    current = Some(tokio::spawn(follow(service, task)));
                }
            }
            if let Some(h) = current {
                h.abort();
            }
        });
        LogHandle {
            cluster,
            source,
            tx,
        }
    }
}
