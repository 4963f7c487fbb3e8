//! Starting a backend: with a write side or without one, and supervised.
//!
//! A [`Writer`] is the only way to receive released operations, and only [`spawn`] makes one:
//! a watch-only backend (read-only mode, the wall, a context marked `read_only`) gets `None`,
//! and every function of a backend that sends a change to an engine takes the writer as proof,
//! so no path can write without it.
//!
//! The supervisor runs the backend in a task of its own. If that task panics, the source is
//! reported failed with the panic's words (never left "connected"), every operation it held
//! gets an outcome that says its result is unknown, and the backend starts again after a
//! backoff that doubles up to five minutes. The UI keeps running; the process's panic hook
//! writes the full report to the log file (see the terminal module).

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};
use tokio::time::Instant;

use clusterdeck_model::feed::BackendMsg;
use clusterdeck_model::{SourceKind, SourceState};
use clusterdeck_ops::{BackendHandle, OpCommand};

use crate::Reporter;
use crate::report::OpenOps;

/// Operations queued for one backend before the gate refuses with "busy".
const QUEUE: usize = 16;
const RESTART_MIN: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(300);

/// The write side of a backend: the queue of operations the gate released to it.
pub struct Writer {
    rx: OwnedMutexGuard<mpsc::Receiver<OpCommand>>,
    open: OpenOps,
}

impl Writer {
    /// The next released operation (None once the gate has gone). It counts as open until
    /// `Reporter::outcome` is sent for it.
    pub async fn next(&mut self) -> Option<OpCommand> {
        let cmd = self.rx.recv().await?;
        if let Ok(mut open) = self.open.lock() {
            open.insert(cmd.op_id.clone());
        }
        Some(cmd)
    }
}

/// The next released operation; never resolves for a watch-only backend.
pub async fn next_op(w: &mut Option<Writer>) -> Option<OpCommand> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

/// Starts a supervised backend for `cluster`. `run` is the backend's body; it is called again
/// after a panic. With `writable`, the returned handle is how the executor reaches it; without,
/// there is no handle and `run` gets no writer.
pub fn spawn<F, Fut>(
    cluster: &str,
    source: SourceKind,
    writable: bool,
    tx: mpsc::Sender<BackendMsg>,
    run: F,
) -> Option<BackendHandle>
where
    F: Fn(Reporter, Option<Writer>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (handle, queue) = if writable {
        let (ops_tx, ops_rx) = mpsc::channel::<OpCommand>(QUEUE);
        let handle = BackendHandle {
            cluster: cluster.to_string(),
            source,
            ops: ops_tx,
        };
        (Some(handle), Some(Arc::new(Mutex::new(ops_rx))))
    } else {
        (None, None)
    };
    tokio::spawn(supervise(cluster.to_string(), source, tx, queue, run));
    handle
}

async fn supervise<F, Fut>(
    cluster: String,
    source: SourceKind,
    tx: mpsc::Sender<BackendMsg>,
    queue: Option<Arc<Mutex<mpsc::Receiver<OpCommand>>>>,
    run: F,
) where
    F: Fn(Reporter, Option<Writer>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let open = OpenOps::default();
    let mut backoff = RESTART_MIN;
    loop {
        let writer = match &queue {
            Some(q) => Some(Writer {
                rx: q.clone().lock_owned().await,
                open: open.clone(),
            }),
            None => None,
        };
        let rep = Reporter::new(cluster.clone(), source, tx.clone(), open.clone());
        let started = Instant::now();
        let ended = tokio::spawn(run(rep, writer)).await;
        let why = match ended {
            Err(e) if e.is_panic() => panic_text(e.into_panic()),
            // It returned (the console has gone) or was cancelled with the runtime.
            _ => return,
        };
        if started.elapsed() > RESTART_MAX {
            backoff = RESTART_MIN;
        }
        let mut rep = Reporter::new(cluster.clone(), source, tx.clone(), open.clone());
        let held: Vec<String> = open
            .lock()
            .map(|o| o.iter().cloned().collect())
            .unwrap_or_default();
        for op in held {
            let msg = format!(
                "unknown: the {} backend failed while this ran ({why}); check the cluster",
                source.label()
            );
            rep.outcome(op, Err(msg)).await;
        }
        let reason = format!(
            "the {} backend failed: {why}; restarting in {}s",
            source.label(),
            backoff.as_secs()
        );
        if !rep.health(SourceState::Failed { reason }).await {
            return;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(RESTART_MAX);
    }
}

/// The words a panic was raised with.
fn panic_text(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => match p.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "a panic without a message".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use clusterdeck_model::feed::OpUpdate;
    use clusterdeck_ops::{Op, OpRequest};

    /// A backend that panics while it holds an operation: the source is reported failed with
    /// the panic's words, the operation gets an outcome, and the backend runs again.
    #[tokio::test]
    async fn a_panicking_backend_is_reported_failed_and_restarted() {
        let (tx, mut rx) = mpsc::channel(64);
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let handle = spawn("c", SourceKind::Swarm, true, tx, move |mut rep, mut w| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                rep.health(SourceState::Connected).await;
                if run == 0 {
                    let _held = next_op(&mut w).await;
                    panic!("index out of bounds: the len is 0 but the index is 3");
                }
                rep.closed().await;
            }
        })
        .expect("writable");
        let op = OpCommand {
            op_id: "op-1".into(),
            request: OpRequest::named("c", "web", Op::Restart),
            expect: Default::default(),
        };
        handle.ops.send(op).await.expect("queued");
        let mut saw_outcome = false;
        let mut failed = None;
        while failed.is_none() {
            match rx.recv().await.expect("message") {
                BackendMsg::Op(OpUpdate {
                    op_id,
                    outcome: Some(Err(m)),
                    ..
                }) => {
                    assert_eq!(op_id, "op-1");
                    assert!(m.starts_with("unknown: the swarm backend failed"), "{m}");
                    saw_outcome = true;
                }
                BackendMsg::Health { health, .. } => {
                    if let SourceState::Failed { reason } = health.state {
                        failed = Some(reason);
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(saw_outcome, "the held operation got no outcome");
        let reason = failed.unwrap_or_default();
        assert!(reason.contains("index out of bounds"), "{reason}");
        assert!(reason.contains("restarting in 1s"), "{reason}");
        // After the backoff it runs again and reports itself connected.
        loop {
            if let BackendMsg::Health { health, .. } = rx.recv().await.expect("message")
                && health.state == SourceState::Connected
            {
                break;
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_watch_only_backend_has_no_handle_and_no_writer() {
        let (tx, mut rx) = mpsc::channel(4);
        let handle = spawn("c", SourceKind::Etcd, false, tx, |mut rep, w| async move {
            let state = if w.is_none() {
                SourceState::Connected
            } else {
                SourceState::Connecting
            };
            rep.health(state).await;
        });
        assert!(handle.is_none());
        match rx.recv().await {
            Some(BackendMsg::Health { health, .. }) => {
                assert_eq!(health.state, SourceState::Connected)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
