//! A silent partition between the console and the API server: packets dropped, no error,
//! on the console's path only (a TCP relay of its own in front of the API server, its port
//! dropped by an iptables rule that carries its own comment tag; kwok and the controllers keep
//! their direct path). The source turns stale within 15 s with the reason, a write is refused,
//! an operation confirmed at the moment of the drop never runs, and the source recovers by
//! itself within 30 s of the rule's removal.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::kube_backend::{CLUSTER, deployment, namespace};
use crate::kube_support::{env, kubectl, kubectl_json, kubectl_with};
use crate::netfault::{DropRule, relay};
use crate::swarm_support::Console;
use clusterdeck::backends::kube::{self, KubeSettings};
use clusterdeck::model::{SourceKind, SourceState};
use clusterdeck::ops::{Op, OpRequest};

fn state(c: &Console) -> Option<SourceState> {
    Some(
        c.cluster()?
            .sources
            .get(&SourceKind::Kubernetes)?
            .state
            .clone(),
    )
}

#[test]
fn a_silent_partition_turns_the_source_stale_refuses_writes_and_recovers() {
    namespace("t-part");
    deployment("t-part", "web", 1, "registry.k8s.io/pause:3.10", "");
    // The admin kubeconfig, pointed at the relay.
    let raw = kubectl_with(
        Some(Path::new(&env("CD_KUBECONFIG"))),
        &["config", "view", "--raw", "--minify", "-o", "json"],
    )
    .expect("kubectl config view");
    let mut kc: serde_json::Value = serde_json::from_str(&raw).expect("json");
    let server = kc["clusters"][0]["cluster"]["server"]
        .as_str()
        .expect("server")
        .to_string();
    let upstream = server.trim_start_matches("https://").to_string();
    let port = relay(&upstream);
    kc["clusters"][0]["cluster"]["server"] = format!("https://127.0.0.1:{port}").into();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("relayed.json");
    std::fs::write(&path, kc.to_string()).expect("write the kubeconfig");
    let s = KubeSettings {
        cluster: CLUSTER.into(),
        kubeconfig: Some(path),
        context: None,
        namespace: Some("t-part".into()),
    };
    let mut c = Console::with(CLUSTER, |tx| kube::spawn(s, true, tx).into_iter().collect());
    c.wait(60, "connected, the deployment shown", |c| {
        let cl = c.cluster()?;
        (matches!(state(c)?, SourceState::Connected)
            && cl.workloads.contains_key("deployment/t-part/web"))
        .then_some(())
    });

    // Planned before the drop, confirmed at the moment of it.
    let pending = c.plan(OpRequest::named(
        CLUSTER,
        "t-part/web",
        Op::Scale { replicas: 3 },
    ));
    let mut rule = DropRule::install(port, "kube-partition");
    let dropped = Instant::now();
    let op = c
        .confirm(pending, "")
        .expect("released before the data went stale");

    let reason = c.wait(20, "stale, with the reason", |c| match state(c)? {
        SourceState::Unreachable { reason } => Some(reason),
        _ => None,
    });
    let took = dropped.elapsed();
    eprintln!("stale after {took:?}: {reason}");
    assert!(took <= Duration::from_secs(15), "stale after {took:?}");
    assert!(reason.contains("no answer from"), "{reason}");
    let cluster = c.cluster().expect("state").clone();
    assert!(
        cluster.sources[&SourceKind::Kubernetes].is_stale(),
        "shown stale, not live"
    );
    let refused = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "t-part/web", Op::Scale { replicas: 2 }),
            Some(&cluster),
            &[],
        )
        .expect_err("a write to stale data");
    assert!(refused.contains("stale"), "{refused}");
    let r = c.outcome(&op, 30);
    assert!(
        r.is_err(),
        "the operation confirmed at the drop did not run: {r:?}"
    );

    rule.remove();
    let removed = Instant::now();
    c.wait(30, "connected again", |c| {
        matches!(state(c)?, SourceState::Connected).then_some(())
    });
    eprintln!("recovered {:?} after the rule's removal", removed.elapsed());
    // Nothing arrives late: the deployment still wants 1.
    std::thread::sleep(Duration::from_secs(5));
    let d = kubectl_json(&["-n", "t-part", "get", "deployment", "web"]);
    assert_eq!(
        d["spec"]["replicas"], 1,
        "the scale never reached the API server"
    );
    kubectl(&["delete", "namespace", "t-part", "--wait=false"]);
}
