//! The normalized cluster model: one set of types for every backend (Swarm, Kubernetes, EC2,
//! etcd), so panes, planners and the store never care where a fact came from.

mod event;
mod instance;
mod node;
mod quorum;
mod replica;
mod source;
mod workload;

pub use crate::config::discovery::SourceKind;
pub use event::{Event, Origin, Severity};
pub use instance::{Instance, InstanceFlags, InstanceState};
pub use node::{Availability, Health, Node, NodeRole, NodeStatus, Reachability};
pub use quorum::{
    AzSpread, EtcdMember, EtcdStatus, Quorum, QuorumVerdict, fault_tolerance, quorum_size,
};
pub use replica::{Replica, TaskState};
pub use source::{ControlCheck, SourceHealth, SourceState};
pub use workload::{ServiceMode, UpdateConfig, UpdateState, UpdateStatus, Workload};

/// Timestamps are always UTC.
pub type Time = chrono::DateTime<chrono::Utc>;
