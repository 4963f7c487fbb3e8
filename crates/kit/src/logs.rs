//! Following logs: a handle the UI sends `Follow`/`Stop` to, separate from the write side so
//! read-only mode has it too.

use tokio::sync::mpsc;

use clusterdeck_model::SourceKind;

/// What the log follower is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum LogCommand {
    /// Follow a service's logs, or one task's when `task` is set (stops any previous follow).
    Follow {
        service: String,
        task: Option<String>,
    },
    Stop,
}

/// The handle the UI uses to follow logs; separate from the executor, so read-only mode has it.
#[derive(Clone, Debug)]
pub struct LogHandle {
    pub cluster: String,
    /// The backend whose objects it follows (a context may have Swarm and Kubernetes).
    pub source: SourceKind,
    pub tx: mpsc::Sender<LogCommand>,
}

impl LogHandle {
    /// The follower every backend shares, in a task of its own: one follow at a time, `follow`
    /// started for each Follow command, the previous one stopped (aborted) by any command.
    pub fn spawn<F, Fut>(cluster: String, source: SourceKind, follow: F) -> LogHandle
    where
        F: Fn(String, Option<String>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<LogCommand>(8);
        tokio::spawn(async move {
            let mut current: Option<tokio::task::JoinHandle<()>> = None;
            while let Some(cmd) = rx.recv().await {
                if let Some(h) = current.take() {
                    h.abort();
                }
                if let LogCommand::Follow { service, task } = cmd {
                    current = Some(tokio::spawn(follow(service, task)));
                }
            }
            if let Some(h) = current {
                h.abort();
            }
        });
        LogHandle {
            cluster,
            source,
            tx,
        }
    }
}
