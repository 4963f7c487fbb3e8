//! Following pod logs through the API server (`pods/{name}/log?follow=true`): one pod's
//! containers, or every current pod of a workload (as stern does, not kubectl's one pod),
//! merged into the log view. With more than one stream each line says where it comes from
//! (`pod/container │ …`). A task of its own beside the watchers, so logs work in read-only
//! mode too; it connects on the first follow.

use std::sync::Arc;

use futures_util::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};
use kube::{Api, Client};
use tokio::sync::{Mutex, mpsc};

use crate::{KubeSettings, connect, convert};
use clusterdeck_kit::{BackendMsg, LogHandle, LogItem, log_pump};
use clusterdeck_model::SourceKind;

/// Lines asked for per stream when a follow starts.
const TAIL: i64 = 200;
/// A workload's pods followed at most: more would be a firehose, not something to read (the
/// view says so when there are more).
const MAX_PODS: usize = 10;

pub fn spawn_logs(settings: KubeSettings, tx: mpsc::Sender<BackendMsg>) -> LogHandle {
    // Connected on the first follow and kept; inside the follow task, so Stop (an abort)
    // also ends a connection still waiting on a credential plugin.
    let client: Arc<Mutex<Option<Client>>> = Arc::default();
    let cluster = settings.cluster.clone();
    let settings = Arc::new(settings);
    LogHandle::spawn(
        cluster,
        SourceKind::Kubernetes,
        move |service, task, previous| {
            follow(
                Arc::clone(&settings),
                Arc::clone(&client),
                (service, task, previous),
                tx.clone(),
            )
        },
    )
}

/// `pod/NS/NAME` (a task) or a workload id: the (namespace, pod, containers) to follow.
/// Also the number of pods there were before the cap.
async fn targets(
    client: &Client,
    workload: &str,
    pod: Option<&str>,
) -> Result<(Vec<(String, String, Vec<String>)>, usize), String> {
    let containers = |p: &Pod| -> Vec<String> {
        p.spec
            .iter()
            .flat_map(|s| &s.containers)
            .map(|c| c.name.clone())
            .collect()
    };
    if let Some(id) = pod {
        let (ns, name) = id
            .strip_prefix("pod/")
            .and_then(|r| r.split_once('/'))
            .ok_or_else(|| format!("{id} is not a pod"))?;
        let p = Api::<Pod>::namespaced(client.clone(), ns)
            .get(name)
            .await
            .map_err(|e| format!("pod {ns}/{name}: {e}"))?;
        return Ok((vec![(ns.into(), name.into(), containers(&p))], 1));
    }
    let (_, ns, _) = convert::parse_workload_id(workload)
        .ok_or_else(|| format!("{workload} is not a Kubernetes workload"))?;
    let list = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("listing the pods of {workload}: {e}"))?;
    let mut pods: Vec<(String, String, Vec<String>)> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| convert::owner_workload(p).as_deref() == Some(workload))
        .filter_map(|p| Some((ns.to_string(), p.metadata.name.clone()?, containers(p))))
        .collect();
    pods.sort();
    let total = pods.len();
    pods.truncate(MAX_PODS);
    if pods.is_empty() {
        return Err(format!("{workload} has no pods to follow"));
    }
    Ok((pods, total))
}

async fn follow(
    settings: Arc<KubeSettings>,
    cached: Arc<Mutex<Option<Client>>>,
    (workload, pod, previous): (String, Option<String>, bool),
    tx: mpsc::Sender<BackendMsg>,
) {
    let cluster = settings.cluster.clone();
    let client = match connect::cached(&settings, &cached).await {
        Ok(c) => c,
        Err(why) => return log_pump::ended(&tx, &cluster, why).await,
    };
    let (pods, total) = match targets(&client, &workload, pod.as_deref()).await {
        Ok(p) => p,
        Err(e) => return log_pump::ended(&tx, &cluster, e).await,
    };
    let mut first: Vec<LogItem> = Vec::new();
    if pods.len() < total {
        first.push(LogItem::Lines(vec![format!(
            "── following {} of the {total} pods of {workload} (the first by name) ──",
            pods.len()
        )]));
    }
    let streams: Vec<(String, String, String)> = pods
        .into_iter()
        .flat_map(|(ns, p, cs)| cs.into_iter().map(move |c| (ns.clone(), p.clone(), c)))
        .collect();
    let labelled = streams.len() > 1;
    // All streams live in this task, so stopping the follow (abort) closes every one.
    let mut opened = Vec::new();
    for (ns, pod, container) in streams {
        // The previous container has ended: its lines are read whole, not followed.
        let lp = LogParams {
            container: Some(container.clone()),
            follow: !previous,
            previous,
            tail_lines: Some(TAIL),
            timestamps: true,
            ..LogParams::default()
        };
        let api = Api::<Pod>::namespaced(client.clone(), &ns);
        match api.log_stream(&pod, &lp).await {
            Ok(r) => {
                let prefix = if labelled {
                    format!("{pod}/{container} │ ")
                } else {
                    String::new()
                };
                let source = format!("{pod}/{container}");
                opened.push(lossy_lines(Box::pin(r), prefix, source).boxed());
            }
            Err(e) => first.push(LogItem::Problem(format!(
                "{pod}/{container}: cannot follow: {e}"
            ))),
        }
    }
    // One stream failing leaves the others.
    let items = futures_util::stream::select_all(opened).map(|item| match item {
        Ok(l) => LogItem::Lines(vec![l]),
        Err(e) => LogItem::Problem(e),
    });
    log_pump::pump(&tx, &cluster, first, items).await;
}

/// Longest line kept; the rest of a longer one is skipped, not buffered (Docker splits log
/// lines at 16 KiB too).
pub const MAX_LINE: usize = 16 * 1024;

/// The lines of one stream, each with `prefix`. Bytes that are not UTF-8 are shown replaced
/// rather than losing the line; a line longer than `MAX_LINE` is cut, saying so first; an error
/// ends the stream after it is said.
fn lossy_lines<R>(
    reader: R,
    prefix: String,
    source: String,
) -> impl futures_util::Stream<Item = Result<String, String>>
where
    R: futures_util::AsyncBufRead + Unpin,
{
    futures_util::stream::unfold(Some(reader), move |state| {
        let prefix = prefix.clone();
        let source = source.clone();
        async move {
            let mut r = state?;
            match bounded_line(&mut r, MAX_LINE).await {
                Ok(None) => None,
                Ok(Some((kept, total))) => {
                    let text = String::from_utf8_lossy(&kept);
                    let line = text.trim_end_matches(['\n', '\r']);
                    // Said first, where a narrow view still shows it.
                    let cut = if total > kept.len() {
                        format!("[line cut: {total} bytes, the first {} shown] ", kept.len())
                    } else {
                        String::new()
                    };
                    Some((Ok(format!("{prefix}{cut}{line}")), Some(r)))
                }
                Err(e) => Some((Err(format!("{source}: {e}")), None)),
            }
        }
    })
}

/// One line (with its newline, if any) of at most `max` bytes kept, and its whole length; the
/// bytes beyond `max` are read and dropped, never held. `None` at the end of the stream.
pub async fn bounded_line<R>(r: &mut R, max: usize) -> std::io::Result<Option<(Vec<u8>, usize)>>
where
    R: futures_util::AsyncBufRead + Unpin,
{
    let mut kept = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok((total > 0).then_some((kept, total)));
        }
        let (n, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        total += n;
        r.consume_unpin(n);
        if done {
            return Ok(Some((kept, total)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ten_megabyte_line_is_cut_and_the_next_line_is_whole() {
        let mut data = vec![b'x'; 10 * 1024 * 1024];
        data.extend_from_slice(b"\nnext line\n");
        let reader = futures_util::io::Cursor::new(data);
        let lines: Vec<Result<String, String>> = lossy_lines(reader, String::new(), "t".into())
            .collect()
            .await;
        assert_eq!(lines.len(), 2);
        let first = lines[0].as_ref().expect("a line");
        assert!(first.len() < MAX_LINE + 64, "{} bytes kept", first.len());
        assert!(
            first.starts_with("[line cut: 10485761 bytes, the first 16384 shown] xxx"),
            "{}",
            &first[..60]
        );
        assert_eq!(lines[1].as_deref(), Ok("next line"));
    }
}
