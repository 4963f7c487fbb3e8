//! Following a service's or a task's logs. A task of its own, separate from the executor, so
//! logs work in read-only mode too. Lines are sent in batches; the UI keeps a bounded ring.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use clusterdeck_kit::{BackendMsg, LogHandle, LogItem, log_pump};
use clusterdeck_model::SourceKind;

/// Lines asked for when a follow starts.
const TAIL: &str = "200";

pub fn spawn_logs(
    cluster: String,
    endpoints: Vec<String>,
    tls: Option<std::path::PathBuf>,
    tx: mpsc::Sender<BackendMsg>,
) -> LogHandle {
    let c = cluster.clone();
    // A Swarm task that ends is replaced by a new task: there is no previous container.
    LogHandle::spawn(
        cluster,
        SourceKind::Swarm,
        move |service, task, _previous| {
            follow(
                c.clone(),
                endpoints.clone(),
                tls.clone(),
                service,
                task,
                tx.clone(),
            )
        },
    )
}

async fn follow(
    cluster: String,
    endpoints: Vec<String>,
    tls: Option<std::path::PathBuf>,
    service: String,
    task: Option<String>,
    tx: mpsc::Sender<BackendMsg>,
) {
    let docker = match crate::connect_any(&endpoints, tls.as_deref()).await {
        Ok(c) => c.docker,
        Err(why) => return log_pump::ended(&tx, &cluster, why).await,
    };
    let opts = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        tail: TAIL.into(),
        ..Default::default()
    };
    let stream: std::pin::Pin<
        Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    > = match &task {
        Some(t) => Box::pin(docker.task_logs(t, Some(opts))),
        None => Box::pin(docker.service_logs(&service, Some(opts))),
    };
    let items = stream.map(|item| match item {
        Ok(out) => {
            let text = String::from_utf8_lossy(out.into_bytes().as_ref()).into_owned();
            LogItem::Lines(text.lines().map(str::to_string).collect())
        }
        Err(e) => LogItem::Problem(e.to_string()),
    });
    log_pump::pump(&tx, &cluster, Vec::new(), items).await;
}
