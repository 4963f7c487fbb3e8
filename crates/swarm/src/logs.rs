//! Following a service's or a task's logs. A task of its own, separate from the executor, so
//! logs work in read-only mode too. Lines are sent in batches; the UI keeps a bounded ring.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::connect::connect;
use clusterdeck_kit::{BackendMsg, LogHandle};
use clusterdeck_model::SourceKind;

/// Lines asked for when a follow starts.
const TAIL: &str = "200";
const BATCH_EVERY: Duration = Duration::from_millis(100);

pub fn spawn_logs(
    cluster: String,
    endpoints: Vec<String>,
    tx: mpsc::Sender<BackendMsg>,
) -> LogHandle {
    let c = cluster.clone();
    LogHandle::spawn(cluster, SourceKind::Swarm, move |service, task| {
        follow(c.clone(), endpoints.clone(), service, task, tx.clone())
    })
}

async fn follow(
    cluster: String,
    endpoints: Vec<String>,
    service: String,
    task: Option<String>,
    tx: mpsc::Sender<BackendMsg>,
) {
    let mut reasons = Vec::new();
    let mut docker = None;
    for ep in &endpoints {
        match connect(ep).await {
            Ok(c) => {
                docker = Some(c.docker);
                break;
            }
            Err(e) => reasons.push(e),
        }
    }
    let Some(docker) = docker else {
        let _ = tx
            .send(BackendMsg::Logs {
                cluster,
                lines: Vec::new(),
                ended: Some(reasons.join("; ")),
            })
            .await;
        return;
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
    pump(cluster, stream, tx).await;
}

async fn pump(
    cluster: String,
    mut stream: std::pin::Pin<
        Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>,
    >,
    tx: mpsc::Sender<BackendMsg>,
) {
    let mut batch: Vec<String> = Vec::new();
    let mut tick = tokio::time::interval(BATCH_EVERY);
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(out)) => {
                    let text = String::from_utf8_lossy(out.into_bytes().as_ref()).into_owned();
                    batch.extend(text.lines().map(str::to_string));
                }
                Some(Err(e)) => {
                    let _ = tx.send(BackendMsg::Logs { cluster, lines: batch, ended: Some(e.to_string()) }).await;
                    return;
                }
                None => {
                    let _ = tx.send(BackendMsg::Logs { cluster, lines: batch, ended: Some("the log stream ended".into()) }).await;
                    return;
                }
            },
            _ = tick.tick() => {
                if !batch.is_empty() && tx.send(BackendMsg::Logs { cluster: cluster.clone(), lines: std::mem::take(&mut batch), ended: None }).await.is_err() {
                    return;
                }
            }
        }
    }
}
