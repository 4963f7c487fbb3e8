//! Following logs: a handle the UI sends `Follow`/`Stop` to, separate from the write side so
//! read-only mode has it too.

use tokio::sync::mpsc;

use clusterdeck_model::SourceKind;
use clusterdeck_model::feed::BackendMsg;

/// What the log follower is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum LogCommand {
    /// Follow a service's logs, or one task's when `task` is set (stops any previous follow).
    Follow {
        service: String,
        task: Option<String>,
        /// What the container left before its last restart (Kubernetes' `--previous`).
        previous: bool,
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
        F: Fn(String, Option<String>, bool) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<LogCommand>(8);
        tokio::spawn(async move {
            let mut current: Option<tokio::task::JoinHandle<()>> = None;
            while let Some(cmd) = rx.recv().await {
                if let Some(h) = current.take() {
                    h.abort();
                }
                if let LogCommand::Follow {
                    service,
                    task,
                    previous,
                } = cmd
                {
                    current = Some(tokio::spawn(follow(service, task, previous)));
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

/// What a log stream yields: lines, or a problem said in the view as it happens (a forbidden
/// pod among readable ones must not go unnoticed until every stream ends).
pub enum LogItem {
    Lines(Vec<String>),
    Problem(String),
}

/// Lines are sent in batches this often, so a chatty service costs one message per batch.
const BATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The follower's loop, the same for every backend: `first`, then what `stream` yields, sent in
/// batches until it ends (then the view says why) or the console goes away.
pub async fn pump<S>(tx: &mpsc::Sender<BackendMsg>, cluster: &str, first: Vec<LogItem>, stream: S)
where
    S: futures_util::Stream<Item = LogItem> + Unpin,
{
    use futures_util::StreamExt;
    let mut stream = futures_util::stream::iter(first).chain(stream);
    let mut batch = Vec::new();
    let mut problems = 0usize;
    let mut tick = tokio::time::interval(BATCH_EVERY);
    let send = |lines: Vec<String>, ended: Option<String>| BackendMsg::Logs {
        cluster: cluster.to_string(),
        lines,
        ended,
    };
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(LogItem::Lines(l)) => batch.extend(l),
                Some(LogItem::Problem(p)) => {
                    problems += 1;
                    batch.push(format!("── {p} ──"));
                }
                None => {
                    let why = if problems == 0 {
                        "the log stream ended".to_string()
                    } else {
                        format!("the log stream ended ({problems} problem(s), shown above)")
                    };
                    let _ = tx.send(send(batch, Some(why))).await;
                    return;
                }
            },
            _ = tick.tick() => {
                if !batch.is_empty() && tx.send(send(std::mem::take(&mut batch), None)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Tells the view a follow could not start (or ended before it did), and why.
pub async fn ended(tx: &mpsc::Sender<BackendMsg>, cluster: &str, why: String) {
    let _ = tx
        .send(BackendMsg::Logs {
            cluster: cluster.to_string(),
            lines: Vec::new(),
            ended: Some(why),
        })
        .await;
}
