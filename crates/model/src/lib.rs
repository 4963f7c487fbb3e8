//! The normalized cluster model: one set of types for every backend (Swarm, Kubernetes, EC2,
//! etcd), so panes, planners and the store never care where a fact came from. The bottom layer:
//! it depends on no other part of clusterdeck.

mod correlate;
mod event;
pub mod facts;
pub mod feed;
mod instance;
mod kind;
mod node;
mod quorum;
mod replica;
pub mod sanitize;
mod source;
pub mod store;
pub mod usage;
mod workload;

pub use event::{Event, Origin, Severity};
pub use facts::{Drift, Facts, Moved};
pub use feed::{BackendMsg, Change, OpId, OpUpdate, Snapshot};
pub use instance::{Instance, InstanceFlags, InstanceState};
pub use kind::{ObjectKind, ObjectRef, SourceKind, Target};
pub use node::{Availability, Health, Node, NodeRole, NodeStatus, Reachability};
pub use quorum::{
    AzSpread, EtcdMember, EtcdStatus, Quorum, QuorumVerdict, fault_tolerance, quorum_size,
};
pub use replica::{Replica, TaskState};
pub use source::{ControlCheck, SourceHealth, SourceState};
pub use store::{ClusterState, Store};
pub use workload::{Revision, ServiceMode, UpdateConfig, UpdateState, UpdateStatus, Workload};

/// Timestamps are always UTC.
pub type Time = chrono::DateTime<chrono::Utc>;
