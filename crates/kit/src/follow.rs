//! Following an operation until it settles: one shape for every backend. A backend that
//! re-reads its engine anyway (Swarm after each reconcile, EC2 after each poll) keeps its
//! operations in [`Follows`] and judges them against what it read; one whose operations run
//! in tasks of their own (Kubernetes) polls with [`follow_until`]. Both report progress only
//! when it changes and give up after the backend's time limit, saying so.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use clusterdeck_model::feed::OpId;

use crate::Reporter;

/// Where an operation stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Still going: (done, total) units and a line for the operator.
    Pending {
        progress: Option<(u32, u32)>,
        message: String,
    },
    /// Settled, well or not.
    Done(Result<String, String>),
}

impl Step {
    pub fn pending(progress: Option<(u32, u32)>, message: impl Into<String>) -> Step {
        Step::Pending {
            progress,
            message: message.into(),
        }
    }
}

fn over_limit(limit: Duration) -> String {
    format!(
        "not settled after {}s; still in progress on the engine",
        limit.as_secs()
    )
}

struct Following<G> {
    op_id: OpId,
    goal: G,
    started: Instant,
    last: Option<(Option<(u32, u32)>, String)>,
}

/// The operations a polling backend is following, each with what it waits for (`G`).
pub struct Follows<G> {
    limit: Duration,
    items: Vec<Following<G>>,
}

impl<G> Follows<G> {
    /// Operations not settled within `limit` end with an error that says so.
    pub fn new(limit: Duration) -> Follows<G> {
        Follows {
            limit,
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, op_id: OpId, goal: G) {
        self.items.push(Following {
            op_id,
            goal,
            started: Instant::now(),
            last: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Judges every operation against what the backend knows now (`judge` gets the goal and
    /// how long it has waited): outcomes for those that settled or ran out of time, progress
    /// for the rest when it changed.
    pub async fn check(&mut self, rep: &Reporter, mut judge: impl FnMut(&G, Duration) -> Step) {
        let mut keep = Vec::with_capacity(self.items.len());
        for mut f in std::mem::take(&mut self.items) {
            let waited = f.started.elapsed();
            match judge(&f.goal, waited) {
                Step::Done(result) => {
                    rep.outcome(f.op_id, result).await;
                }
                Step::Pending { .. } if waited > self.limit => {
                    rep.outcome(f.op_id, Err(over_limit(self.limit))).await;
                }
                Step::Pending { progress, message } => {
                    let now = (progress, message);
                    if f.last.as_ref() != Some(&now) {
                        rep.progress(&f.op_id, now.0, now.1.clone()).await;
                        f.last = Some(now);
                    }
                    keep.push(f);
                }
            }
        }
        self.items = keep;
    }
}

/// Polls `step` every `every` until the operation settles or `limit` passes, reporting
/// progress when it changes; returns the outcome (the caller sends it).
pub async fn follow_until<F, Fut>(
    rep: &Reporter,
    op_id: &OpId,
    limit: Duration,
    every: Duration,
    mut step: F,
) -> Result<String, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Step>,
{
    let started = Instant::now();
    let mut last = None;
    loop {
        match step().await {
            Step::Done(result) => return result,
            Step::Pending { progress, message } => {
                let now = (progress, message);
                if last.as_ref() != Some(&now) {
                    rep.progress(op_id, now.0, now.1.clone()).await;
                    last = Some(now);
                }
            }
        }
        if started.elapsed() > limit {
            return Err(over_limit(limit));
        }
        tokio::time::sleep(every).await;
    }
}
