//! The built-in demo cluster behind `--demo`: an in-process simulation that behaves like a real
//! swarm (tasks fail and are rescheduled, scripted incidents, every action with realistic
//! progress), used for trying the console safely and for benchmarks. Never for backend tests.

mod build;
mod ops;
mod rng;
mod sim;
mod start;

use std::time::Duration;

use tokio::sync::mpsc;

pub use build::DemoSize;
pub use sim::{DemoCluster, TICK_SECS, TickOutput};

use clusterdeck_kit::{BackendHandle, BackendMsg, OpUpdate, Reporter, Writer, next_op};
use clusterdeck_model::{SourceKind, SourceState};

pub const DEMO_CONTEXT: &str = "demo";

/// Starts the demo in a task of its own; with `writable` it executes the operations released
/// to the returned handle (through the same `Writer` as every backend). Sends a snapshot, then
/// changes twice a second.
pub fn spawn(
    size: DemoSize,
    seed: u64,
    writable: bool,
    tx: mpsc::Sender<BackendMsg>,
) -> Option<BackendHandle> {
    clusterdeck_kit::spawn(
        DEMO_CONTEXT,
        SourceKind::Swarm,
        writable,
        tx,
        move |rep, w| run(size, seed, rep, w),
    )
}

async fn run(size: DemoSize, seed: u64, mut rep: Reporter, mut ops: Option<Writer>) {
    let mut sim = DemoCluster::new(size, seed, chrono::Utc::now());
    rep.set_endpoint(Some("built-in simulation".into()));
    if !rep.health(SourceState::Connected).await || !rep.snapshot(sim.snapshot()).await {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(TICK_SECS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let out = sim.tick(chrono::Utc::now());
                if !out.changes.is_empty() && !rep.changes(out.changes).await {
                    return;
                }
                for u in out.ops {
                    if !report(&rep, u).await {
                        return;
                    }
                }
            }
            cmd = next_op(&mut ops) => {
                let Some(cmd) = cmd else { return };
                if let Err(e) = sim.start_op(cmd.op_id.clone(), &cmd.request)
                    && !rep.outcome(cmd.op_id, Err(e)).await
                {
                    return;
                }
            }
        }
    }
}

/// The simulation's news about an operation, through the reporter (which closes it).
async fn report(rep: &Reporter, u: OpUpdate) -> bool {
    match u.outcome {
        Some(result) => rep.outcome(u.op_id, result).await,
        None => rep.progress(&u.op_id, u.progress, u.message).await,
    }
}
