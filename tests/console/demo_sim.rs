//! The demo cluster behaves like a swarm: every action progresses and settles the way the real
//! engine's would. (The demo serves `--demo` and benchmarks; backend tests use real engines.)

use chrono::Duration;

use clusterdeck::backends::demo::{DemoCluster, DemoSize};
use clusterdeck::backends::{BackendMsg, OpUpdate};
use clusterdeck::model::store::Store;
use clusterdeck::model::{Availability, SourceKind, TaskState, UpdateState};
use clusterdeck::ops::{Op, OpRequest};

use crate::support::*;

/// Runs ticks into a store until the operation settles; returns its outcome and the store.
fn run(
    sim: &mut DemoCluster,
    store: &mut Store,
    op: &str,
    max_ticks: usize,
) -> Result<String, String> {
    let mut now = t0();
    for _ in 0..max_ticks {
        now += Duration::milliseconds(500);
        let out = sim.tick(now);
        store.apply(BackendMsg::Changes {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            at: now,
            changes: out.changes,
        });
        for OpUpdate { op_id, outcome, .. } in out.ops {
            if op_id == op
                && let Some(o) = outcome
            {
                return o;
            }
        }
    }
    Err(format!("{op} did not settle in {max_ticks} ticks"))
}

fn setup() -> (DemoCluster, Store) {
    let sim = demo_sim();
    let mut store = Store::default();
    store.apply(BackendMsg::Snapshot {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: t0(),
        snapshot: sim.snapshot(),
    });
    (sim, store)
}

#[test]
fn standard_size_matches_the_brief() {
    let (_, store) = setup();
    let c = &store.clusters[0];
    assert_eq!(c.nodes.values().filter(|n| n.is_manager()).count(), 3);
    assert_eq!(c.nodes.len(), 12);
    assert_eq!(c.workloads.len(), 25);
    assert!(c.replicas.len() >= 150, "{}", c.replicas.len());
    assert_eq!(c.instances.len(), 12);
    assert!(
        c.nodes
            .values()
            .all(|n| n.instance_id.is_some() && n.az.is_some()),
        "every node correlated"
    );
    assert_eq!(
        c.quorum().az.as_ref().map(|a| a.shape()),
        Some("1-1-1".into())
    );
    assert_eq!(c.etcd.len(), 3);
}

#[test]
fn scale_up_starts_tasks_until_all_run() {
    let (mut sim, mut store) = setup();
    sim.start_op(
        "op".into(),
        &OpRequest::named("demo", "web", Op::Scale { replicas: 13 }),
    )
    .expect("start");
    let out = run(&mut sim, &mut store, "op", 200);
    assert!(out.is_ok(), "{out:?}");
    let c = &store.clusters[0];
    let w = c.workload_by_name("web").expect("web");
    assert_eq!((w.running, w.desired), (13, 13));
    assert_eq!(
        c.replicas_of_workload(&w.id)
            .filter(|r| r.is_running())
            .count(),
        13
    );
}

#[test]
fn scale_down_stops_the_highest_slots() {
    let (mut sim, mut store) = setup();
    sim.start_op(
        "op".into(),
        &OpRequest::named("demo", "web", Op::Scale { replicas: 2 }),
    )
    .expect("start");
    assert!(run(&mut sim, &mut store, "op", 200).is_ok());
    let c = &store.clusters[0];
    let w = c.workload_by_name("web").expect("web");
    let mut slots: Vec<u32> = c
        .replicas_of_workload(&w.id)
        .filter(|r| r.is_current())
        .filter_map(|r| r.slot)
        .collect();
    slots.sort();
    assert_eq!(slots, vec![1, 2]);
}

#[test]
fn drain_moves_every_task_off_the_node() {
    let (mut sim, mut store) = setup();
    let node = store.clusters[0]
        .node_by_name("wrk-01")
        .expect("wrk-01")
        .id
        .clone();
    let before = store.clusters[0]
        .replicas_on_node(&node)
        .filter(|r| r.is_current())
        .count();
    assert!(before > 0);
    sim.start_op(
        "op".into(),
        &OpRequest::named(
            "demo",
            "wrk-01",
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
    )
    .expect("start");
    let out = run(&mut sim, &mut store, "op", 400);
    assert!(out.as_ref().is_ok_and(|m| m.contains("drained")), "{out:?}");
    let c = &store.clusters[0];
    assert_eq!(
        c.replicas_on_node(&node).filter(|r| r.is_current()).count(),
        0
    );
    assert_eq!(
        c.node_by_name("wrk-01").map(|n| n.availability),
        Some(Availability::Drain)
    );
    // Replicated services are whole again elsewhere.
    assert!(
        c.workloads
            .values()
            .filter(|w| w.mode == clusterdeck::model::ServiceMode::Replicated)
            .all(|w| w.running == w.desired)
    );
}

#[test]
fn deploy_rolls_task_by_task_then_rollback_restores() {
    let (mut sim, mut store) = setup();
    let old = store.clusters[0]
        .workload_by_name("auth")
        .expect("auth")
        .image
        .clone();
    sim.start_op(
        "d".into(),
        &OpRequest::named(
            "demo",
            "auth",
            Op::Deploy {
                image: "127.0.0.1:5000/shop/auth:2.0.0".into(),
            },
        ),
    )
    .expect("start");
    assert!(run(&mut sim, &mut store, "d", 400).is_ok());
    let c = &store.clusters[0];
    let w = c.workload_by_name("auth").expect("auth");
    assert_eq!(
        w.update.as_ref().map(|u| u.state),
        Some(UpdateState::Completed)
    );
    assert!(
        c.replicas_of_workload(&w.id)
            .filter(|r| r.is_current())
            .all(|r| r.image.ends_with(":2.0.0"))
    );
    sim.start_op(
        "r".into(),
        &OpRequest::named(
            "demo",
            "auth",
            Op::Rollback {
                from_revision: None,
                to_revision: None,
            },
        ),
    )
    .expect("start");
    assert!(run(&mut sim, &mut store, "r", 400).is_ok());
    let c = &store.clusters[0];
    let w = c.workload_by_name("auth").expect("auth");
    assert_eq!(w.image, old);
    assert_eq!(
        w.update.as_ref().map(|u| u.state),
        Some(UpdateState::RollbackCompleted)
    );
    assert!(
        c.replicas_of_workload(&w.id)
            .filter(|r| r.is_current())
            .all(|r| r.image == old)
    );
}

#[test]
fn a_failing_image_pauses_the_update_with_the_task_error() {
    let (mut sim, mut store) = setup();
    sim.start_op(
        "d".into(),
        &OpRequest::named(
            "demo",
            "auth",
            Op::Deploy {
                image: "127.0.0.1:5000/shop/auth:3.0.0-broken".into(),
            },
        ),
    )
    .expect("start");
    let out = run(&mut sim, &mut store, "d", 400);
    let err = out.expect_err("paused");
    assert!(err.contains("update paused"), "{err}");
    let c = &store.clusters[0];
    let w = c.workload_by_name("auth").expect("auth");
    assert_eq!(
        w.update.as_ref().map(|u| u.state),
        Some(UpdateState::Paused)
    );
    assert!(
        c.replicas_of_workload(&w.id)
            .any(|r| r.state == TaskState::Failed && r.error.is_some())
    );
}

#[test]
fn restart_replaces_every_task() {
    let (mut sim, mut store) = setup();
    let w = store.clusters[0]
        .workload_by_name("email")
        .expect("email")
        .clone();
    let before: Vec<String> = store.clusters[0]
        .replicas_of_workload(&w.id)
        .filter(|r| r.is_current())
        .map(|r| r.id.clone())
        .collect();
    sim.start_op("x".into(), &OpRequest::named("demo", "email", Op::Restart))
        .expect("start");
    assert!(run(&mut sim, &mut store, "x", 200).is_ok());
    let after: Vec<String> = store.clusters[0]
        .replicas_of_workload(&w.id)
        .filter(|r| r.is_current())
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|id| !before.contains(id)));
}

#[test]
fn the_lively_demo_has_incidents_and_recovers() {
    let mut sim = DemoCluster::new(DemoSize::standard(), 3, t0());
    let mut store = Store::default();
    store.apply(BackendMsg::Snapshot {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: t0(),
        snapshot: sim.snapshot(),
    });
    let mut now = t0();
    let mut saw_unreachable = false;
    let mut saw_paused = false;
    // 280 simulated seconds: incidents at 60 s (manager lost for 45 s) and 180 s (bad deploy).
    for _ in 0..560 {
        now += Duration::milliseconds(500);
        let out = sim.tick(now);
        store.apply(BackendMsg::Changes {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            at: now,
            changes: out.changes,
        });
        let c = &store.clusters[0];
        saw_unreachable |= c.quorum().reachable < 3;
        saw_paused |= c
            .workloads
            .values()
            .any(|w| w.update.as_ref().is_some_and(|u| u.state.is_paused()));
    }
    assert!(saw_unreachable, "a manager became unreachable");
    assert!(saw_paused, "a rolling update paused");
    assert_eq!(
        store.clusters[0].quorum().reachable,
        3,
        "the manager came back"
    );
    // History stays bounded however long the demo runs.
    assert!(sim.task_count() < 152 + 25 * 13, "{}", sim.task_count());
}

#[test]
fn demo_scale_builds_the_benchmark_cluster() {
    let sim = DemoCluster::new(DemoSize::scaled(10_000), 1, t0());
    let s = sim.snapshot();
    assert_eq!(s.nodes.as_ref().map(Vec::len), Some(1000));
    assert_eq!(s.instances.as_ref().map(Vec::len), Some(2000));
    assert_eq!(s.replicas.as_ref().map(Vec::len), Some(10_000));
}
