//! The built-in demo cluster behind `--demo`: an in-process simulation that behaves like a real
//! swarm (tasks fail and are rescheduled, scripted incidents, every action with realistic
//! progress), used for trying the console safely and for benchmarks. Never for backend tests.

mod build;
mod ops;
mod rng;
mod sim;

use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

pub use build::DemoSize;
pub use sim::{DemoCluster, TICK_SECS, TickOutput};

use super::{BackendHandle, BackendMsg, OpCommand, OpUpdate};
use crate::model::{SourceHealth, SourceKind, SourceState};

pub const DEMO_CONTEXT: &str = "demo";

/// Starts the demo in a task of its own, executing the operations released to the handle.
/// Sends a snapshot, then changes twice a second.
pub fn spawn(size: DemoSize, seed: u64, tx: mpsc::Sender<BackendMsg>) -> BackendHandle {
    let (ops_tx, ops_rx) = mpsc::channel::<OpCommand>(16);
    tokio::spawn(run(size, seed, tx, Some(ops_rx)));
    BackendHandle {
        cluster: DEMO_CONTEXT.to_string(),
        source: SourceKind::Swarm,
        ops: ops_tx,
    }
}

/// Starts a watch-only demo (read-only and wall mode): it has no operation queue at all.
pub fn spawn_watch(size: DemoSize, seed: u64, tx: mpsc::Sender<BackendMsg>) {
    tokio::spawn(run(size, seed, tx, None));
}

async fn run(
    size: DemoSize,
    seed: u64,
    tx: mpsc::Sender<BackendMsg>,
    mut ops: Option<mpsc::Receiver<OpCommand>>,
) {
    let name = DEMO_CONTEXT.to_string();
    {
        let mut sim = DemoCluster::new(size, seed, Utc::now());
        let mut health = SourceHealth::new(SourceState::Connected);
        health.endpoint = Some("built-in simulation".into());
        let sends = [
            BackendMsg::Health {
                cluster: name.clone(),
                source: SourceKind::Swarm,
                health,
            },
            BackendMsg::Snapshot {
                cluster: name.clone(),
                source: SourceKind::Swarm,
                at: Utc::now(),
                snapshot: sim.snapshot(),
            },
        ];
        for m in sends {
            if tx.send(m).await.is_err() {
                return;
            }
        }
        let mut tick = tokio::time::interval(Duration::from_secs_f64(TICK_SECS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let out = sim.tick(Utc::now());
                    if !out.changes.is_empty() {
                        let msg = BackendMsg::Changes {
                            cluster: name.clone(),
                            source: SourceKind::Swarm,
                            at: Utc::now(),
                            changes: out.changes,
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                    for u in out.ops {
                        if tx.send(BackendMsg::Op(u)).await.is_err() {
                            return;
                        }
                    }
                }
                cmd = next_op(&mut ops) => {
                    let Some(cmd) = cmd else { return };
                    if let Err(e) = sim.start_op(cmd.op_id.clone(), &cmd.request) {
                        let u = OpUpdate { op_id: cmd.op_id, progress: None, message: String::new(), outcome: Some(Err(e)) };
                        if tx.send(BackendMsg::Op(u)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// The next released operation; never resolves for a watch-only demo.
async fn next_op(ops: &mut Option<mpsc::Receiver<OpCommand>>) -> Option<OpCommand> {
    match ops {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
