//! Every mutation is a typed `OpRequest` that passes one gate:
//! read-only check → plan → confirmation → audit intent (fail closed) → execute → audit outcome.
//! This layer sits on the model only: it plans from the store's state and hands released
//! operations to a queue; which backend drains that queue is not its business.

mod activity;
pub mod audit;
mod executor;
mod gate;
mod launch;
mod plan;
mod request;
mod session;

pub use activity::Activity;
pub use clusterdeck_model::OpId;
pub use executor::{BackendHandle, Executor, OpCommand};
pub use gate::{ConfirmedOp, Gate, PendingOp, Released};
pub use launch::LaunchConfig;
pub use plan::{MAX_LAUNCH, MAX_REPLICAS, Plan, Risk, plan};
pub use request::{InstanceAction, Op, OpRequest, parse_image_ref, split_container};
pub use session::Session;

use clusterdeck_model as model;
