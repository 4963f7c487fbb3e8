//! Every mutation is a typed `OpRequest` that passes one gate:
//! read-only check → plan → confirmation → audit intent (fail closed) → execute → audit outcome.

pub mod audit;
mod ec2_plan;
mod gate;
mod plan;
mod request;

pub use ec2_plan::MAX_LAUNCH;
pub use gate::{ConfirmedOp, Executor, Gate, PendingOp, Released};
pub use plan::{MAX_REPLICAS, Plan, Risk, plan};
pub use request::{InstanceAction, OpRequest, kube_target, parse_image_ref, split_container};

/// Operation ids are unique per host: time, process and sequence.
pub type OpId = String;
