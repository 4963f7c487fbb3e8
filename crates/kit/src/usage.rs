//! Sampling resource usage of what is on screen: the console says which objects it shows (a
//! `watch` channel, so only the latest set counts) and a sampler reads their usage every
//! `every` while the set is not empty, answering with `BackendMsg::Usage`. Nothing is read
//! for objects off screen, and nothing at all while no pane shows usage.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use clusterdeck_model::feed::BackendMsg;
use clusterdeck_model::usage::Sample;
use clusterdeck_model::{ObjectKind, SourceKind};

/// (kind, the engine's id) of an object shown.
pub type Shown = Vec<(ObjectKind, String)>;

/// What one round read: samples, and a problem that kept some or all from being read.
pub struct Round {
    pub samples: Vec<(ObjectKind, String, Sample)>,
    pub problem: Option<String>,
}

/// Reads the usage of the objects shown; keeps what it needs between rounds (CPU counters for
/// rates, connections, where a task runs).
pub trait Sampler: Send + 'static {
    fn sample(&mut self, shown: &Shown) -> impl Future<Output = Round> + Send;
}

#[derive(Clone, Debug)]
pub struct UsageHandle {
    pub cluster: String,
    pub source: SourceKind,
    shown: watch::Sender<Shown>,
}

impl UsageHandle {
    pub fn spawn<S: Sampler>(
        cluster: String,
        source: SourceKind,
        every: Duration,
        mut sampler: S,
        out: mpsc::Sender<BackendMsg>,
    ) -> UsageHandle {
        let (tx, mut rx) = watch::channel(Shown::new());
        let c = cluster.clone();
        tokio::spawn(async move {
            loop {
                // Idle until something is shown.
                let shown = rx.borrow_and_update().clone();
                if shown.is_empty() {
                    if rx.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                let round = sampler.sample(&shown).await;
                let msg = BackendMsg::Usage {
                    cluster: c.clone(),
                    source,
                    samples: round.samples,
                    problem: round.problem,
                };
                if out.send(msg).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = out.closed() => return,
                }
            }
        });
        UsageHandle {
            cluster,
            source,
            shown: tx,
        }
    }

    /// The objects now shown (the same set again changes nothing).
    pub fn show(&self, shown: Shown) {
        self.shown.send_if_modified(|cur| {
            if *cur == shown {
                false
            } else {
                *cur = shown;
                true
            }
        });
    }
}
