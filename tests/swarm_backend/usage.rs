//! CPU and memory from the Docker stats API of the engine that runs each task (its node's own
//! endpoint, not the manager's): a busy loop shows CPU, a sleeping task next to nothing, a
//! worker node the sum of its tasks; a node whose engine cannot be found says so.

use std::time::{Duration, Instant};

use clusterdeck::backends::BackendMsg;
use clusterdeck::backends::swarm::{NodeEndpoints, spawn_usage};
use clusterdeck::model::ObjectKind;
use clusterdeck::model::usage::Sample;

use crate::swarm_support::*;

/// Samples until `done` says the round is what it waits for (or 60 s pass).
fn sample_until(
    nodes: NodeEndpoints,
    shown: Vec<(ObjectKind, String)>,
    done: impl Fn(&[(ObjectKind, String, Sample)], Option<&str>) -> bool,
) -> (Vec<(ObjectKind, String, Sample)>, Option<String>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let tls = Some(env("CD_SWARM_TLS_DIR").into());
        let h = spawn_usage("lab".into(), managers(), tls, nodes, tx);
        h.show(shown);
        let until = Instant::now() + Duration::from_secs(60);
        let mut last = (Vec::new(), None);
        while Instant::now() < until {
            let Ok(Some(BackendMsg::Usage {
                samples, problem, ..
            })) = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await
            else {
                break;
            };
            if done(&samples, problem.as_deref()) {
                return (samples, problem);
            }
            last = (samples, problem);
        }
        panic!("no round as expected within 60 s; the last: {last:?}")
    })
}

fn cpu(samples: &[(ObjectKind, String, Sample)], id: &str) -> Option<f64> {
    samples
        .iter()
        .find(|(_, i, _)| i == id)
        .and_then(|(_, _, s)| s.cpu_millis)
}

#[test]
fn a_busy_task_shows_cpu_an_idle_one_next_to_none_and_a_node_their_sum() {
    let _g = crate::lock();
    for name in ["t-busy", "t-idle"] {
        let _ = try_docker(&["service", "rm", name]);
    }
    let image = format!("{}:1", repo());
    // Both on the same worker, so the node's sum holds both (and the manager is not asked).
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "t-busy",
        "--constraint",
        "node.hostname==wrk1",
        &image,
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    create_service("t-idle", 1, "1", &["--constraint", "node.hostname==wrk1"]);
    eventually(90, "t-busy running", || {
        (running_tasks("t-busy").len() == 1).then_some(())
    });
    let busy = running_tasks("t-busy")[0].0.clone();
    let idle = running_tasks("t-idle")[0].0.clone();
    let node = docker(&["node", "inspect", "wrk1", "--format", "{{.ID}}"])
        .trim()
        .to_string();
    let nodes = NodeEndpoints {
        template: Some("tcp://{addr}:2376".into()),
        ..NodeEndpoints::default()
    };
    let shown = vec![
        (ObjectKind::Task, busy.clone()),
        (ObjectKind::Task, idle.clone()),
        (ObjectKind::Node, node.clone()),
    ];
    let (samples, problem) = sample_until(nodes, shown, |s, _| {
        cpu(s, &busy).is_some() && cpu(s, &idle).is_some() && cpu(s, &node).is_some()
    });
    assert_eq!(problem, None);
    let (b, i, n) = (
        cpu(&samples, &busy).unwrap_or_default(),
        cpu(&samples, &idle).unwrap_or_default(),
        cpu(&samples, &node).unwrap_or_default(),
    );
    // A busy loop takes most of a core on a shared machine; a sleep next to nothing.
    assert!(b > 300.0, "busy: {b:.0}m");
    assert!(i < 50.0, "idle: {i:.0}m");
    assert!(n >= b * 0.9, "the node holds both: {n:.0}m vs {b:.0}m");
    let mem = samples
        .iter()
        .find(|(_, id, _)| *id == idle)
        .and_then(|(_, _, s)| s.mem_bytes)
        .unwrap_or_default();
    assert!(mem > 0 && mem < 64 << 20, "a shell's memory: {mem}");

    // Without a way to the worker's engine (the managers are sockets), the reason is given.
    let shown = vec![(ObjectKind::Task, busy.clone())];
    let (samples, problem) = sample_until(NodeEndpoints::default(), shown, |_, p| p.is_some());
    assert!(samples.is_empty(), "{samples:?}");
    let problem = problem.unwrap_or_default();
    assert!(
        problem.contains("no engine endpoint for node wrk1"),
        "{problem}"
    );
    for name in ["t-busy", "t-idle"] {
        docker(&["service", "rm", name]);
    }
}
