//! What every backend shares, so no backend writes it again:
//!
//! - [`spawn`]: a backend task with or without a write side ([`Writer`], which only this crate
//!   can make), supervised: a panic marks the source failed with the reason, gives every
//!   operation it held an outcome, and restarts it with backoff;
//! - [`Reporter`]: health (sent only when it changes, stale-since kept), snapshots, changes,
//!   operation progress and outcomes;
//! - [`Reporter::refuse_for`]: answering operations with a refusal while the engine is away;
//! - [`Follows`] and [`follow_until`]: following an operation until it settles, within a
//!   per-backend time limit;
//! - [`as_planned`] and [`Failed`]: comparing the target with what the confirmed plan showed
//!   right before a write, and ending the operation `refused` if it moved;
//! - [`liveness()`]: a probe on a schedule of its own, independent of data arriving;
//! - [`LogHandle`]: the log follower;
//! - [`tls`]: TLS client settings from PEM files (etcd, Docker over TCP);
//! - [`UsageHandle`]: sampling resource usage of the objects on screen, on a slow cadence.
//!
//! Backends never touch the store; the run loop applies their messages.

pub mod diff;
mod follow;
mod guard;
mod liveness;
mod logs;
mod read;
mod report;
mod supervise;
pub mod tls;
mod usage;
pub mod webhook;

pub use clusterdeck_model::feed::{BackendMsg, Change, OpUpdate, Snapshot};
pub use clusterdeck_ops::{BackendHandle, OpCommand};
pub use follow::{Follows, Step, follow_until};
pub use guard::{Failed, as_planned};
pub use liveness::liveness;
pub use logs::{LogCommand, LogHandle, LogItem};
pub use read::ReadHandle;
pub use usage::{Round, Sampler, Shown, UsageHandle};

/// The log followers' shared loop.
pub mod log_pump {
    pub use crate::logs::{ended, pump};
}
pub use report::Reporter;
pub use supervise::{Writer, next_op, spawn};
