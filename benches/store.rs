//! Store cost at `--demo-scale 10000` (about 1,000 nodes, 10,000 replicas, 2,000 instances).
//!
//! - `replica_change`: one `BackendMsg::Changes` with one `UpsertReplica` that moves a task
//!   between running and failed (so the per-node and per-service indexes are updated), applied
//!   to the populated store. Building the message is outside the timing.
//! - `replica_unchanged`: the same upsert with nothing changed (the early-out path).
//! - `demo_tick`: one tick's worth of changes from the lively simulation, for reference.
//! - `snapshot`: a full snapshot applied to an empty store (start-up), for reference.
//! - `demo_build`: building the simulated cluster itself (`DemoCluster::new`), which the
//!   binary does once at start-up before the first snapshot; it explains the start-up CPU.
//!
//! Run: `cargo bench --bench store` (criterion flags after `--`). Figures: docs/performance.md.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use clusterdeck::backends::demo::{DemoCluster, DemoSize};
use clusterdeck::backends::{BackendMsg, Change, Snapshot};
use clusterdeck::model::store::Store;
use clusterdeck::model::{Replica, SourceKind, TaskState, Time};

const SCALE: usize = 10_000;
const SEED: u64 = 1;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

fn snapshot_msg(snapshot: Snapshot, at: Time) -> BackendMsg {
    BackendMsg::Snapshot {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at,
        snapshot,
    }
}

fn changes_msg(changes: Vec<Change>, at: Time) -> BackendMsg {
    BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at,
        changes,
    }
}

fn scaled() -> (DemoCluster, Store) {
    let mut sim = DemoCluster::new(DemoSize::scaled(SCALE), SEED, t0());
    sim.lively = false;
    let mut store = Store::default();
    store.apply(snapshot_msg(sim.snapshot(), t0()));
    let c = store.cluster("demo").expect("demo cluster");
    assert!(c.replicas.len() >= SCALE, "replicas: {}", c.replicas.len());
    (sim, store)
}

/// A running replica placed on a node, so the change touches every index.
fn running_replica(store: &Store) -> Replica {
    let c = store.cluster("demo").expect("demo cluster");
    let mut ids: Vec<&String> = c
        .replicas
        .values()
        .filter(|r| r.is_running() && r.node_id.is_some())
        .map(|r| &r.id)
        .collect();
    ids.sort();
    c.replicas[ids[0]].clone()
}

fn replica_change(c: &mut Criterion) {
    let (_, mut store) = scaled();
    let mut r = running_replica(&store);
    let at = t0() + chrono::Duration::seconds(10);
    let mut g = c.benchmark_group("store");
    g.bench_function("replica_change", |b| {
        b.iter_batched(
            || {
                if r.state == TaskState::Running {
                    r.state = TaskState::Failed;
                    r.error = Some("task: non-zero exit (137)".into());
                } else {
                    r.state = TaskState::Running;
                    r.error = None;
                }
                changes_msg(vec![Change::UpsertReplica(r.clone())], at)
            },
            |msg| assert!(store.apply(msg)),
            BatchSize::SmallInput,
        )
    });
    let same = store.cluster("demo").expect("demo cluster").replicas[&r.id].clone();
    g.bench_function("replica_unchanged", |b| {
        b.iter_batched(
            || changes_msg(vec![Change::UpsertReplica(same.clone())], at),
            |msg| assert!(!store.apply(msg)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn demo_tick(c: &mut Criterion) {
    let (mut sim, mut store) = scaled();
    sim.lively = true;
    let mut at = t0();
    let mut g = c.benchmark_group("store");
    g.bench_function("demo_tick", |b| {
        b.iter_batched(
            || {
                at += chrono::Duration::milliseconds(500);
                changes_msg(sim.tick(at).changes, at)
            },
            |msg| black_box(store.apply(msg)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn snapshot(c: &mut Criterion) {
    let (sim, _) = scaled();
    let snap = sim.snapshot();
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.bench_function("snapshot", |b| {
        b.iter_batched(
            || (Store::default(), snapshot_msg(snap.clone(), t0())),
            |(mut store, msg)| {
                store.apply(msg);
                // Returned so it is dropped outside the timing.
                store
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn demo_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.bench_function("demo_build", |b| {
        b.iter(|| DemoCluster::new(DemoSize::scaled(SCALE), SEED, t0()))
    });
    g.finish();
}

criterion_group!(benches, replica_change, demo_tick, snapshot, demo_build);
criterion_main!(benches);
