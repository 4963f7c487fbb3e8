//! Property: applying a snapshot equals applying the same state as a stream of changes, so a
//! backend may send either and the console shows the same thing.

use std::collections::BTreeMap;

use proptest::prelude::*;

use clusterdeck::backends::{BackendMsg, Change, Snapshot};
use clusterdeck::model::store::Store;
use clusterdeck::model::{ObjectKind, Replica, SourceKind, TaskState};

use crate::support::*;

const STATES: [TaskState; 5] = [
    TaskState::Pending,
    TaskState::Running,
    TaskState::Failed,
    TaskState::Shutdown,
    TaskState::Starting,
];

#[derive(Clone, Debug)]
enum Op {
    Upsert {
        id: u8,
        workload: u8,
        node: Option<u8>,
        state: usize,
    },
    Remove {
        id: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..40, 0u8..5, proptest::option::of(0u8..6), 0usize..STATES.len())
            .prop_map(|(id, workload, node, state)| Op::Upsert { id, workload, node, state }),
        1 => (0u8..40).prop_map(|id| Op::Remove { id }),
    ]
}

fn replica(id: u8, workload: u8, node: Option<u8>, state: usize) -> Replica {
    Replica {
        id: format!("t{id}"),
        kind: ObjectKind::Task,
        workload_id: format!("w{workload}"),
        slot: Some(u32::from(id)),
        node_id: node.map(|n| format!("n{n}")),
        desired: TaskState::Running,
        state: STATES[state],
        since: t0(),
        error: None,
        image: "img:1".into(),
        name: None,
        restarts: None,
        container: None,
    }
}

fn base_snapshot() -> Snapshot {
    let mut s = demo_sim().snapshot();
    s.replicas = Some(Vec::new());
    s
}

proptest! {
    #[test]
    fn snapshot_equals_changes(ops in proptest::collection::vec(op(), 0..120)) {
        let mut by_changes = Store::default();
        by_changes.apply(BackendMsg::Snapshot { cluster: "c".into(), source: SourceKind::Swarm, at: t0(), snapshot: base_snapshot() });
        let mut expected: BTreeMap<u8, Replica> = BTreeMap::new();
        let mut changes = Vec::new();
        for o in &ops {
            match *o {
                Op::Upsert { id, workload, node, state } => {
                    let r = replica(id, workload, node, state);
                    expected.insert(id, r.clone());
                    changes.push(Change::UpsertReplica(r));
                }
                Op::Remove { id } => {
                    expected.remove(&id);
                    changes.push(Change::RemoveReplica(format!("t{id}")));
                }
            }
        }
        by_changes.apply(BackendMsg::Changes { cluster: "c".into(), source: SourceKind::Swarm, at: t0(), changes });

        let mut snap = base_snapshot();
        snap.replicas = Some(expected.into_values().collect());
        let mut by_snapshot = Store::default();
        by_snapshot.apply(BackendMsg::Snapshot { cluster: "c".into(), source: SourceKind::Swarm, at: t0(), snapshot: snap });

        let a = &by_changes.clusters[0];
        let b = &by_snapshot.clusters[0];
        prop_assert_eq!(&a.replicas, &b.replicas);
        for w in 0..5u8 {
            let id = format!("w{w}");
            let x: Vec<_> = a.replicas_of_workload(&id).map(|r| r.id.clone()).collect();
            let y: Vec<_> = b.replicas_of_workload(&id).map(|r| r.id.clone()).collect();
            prop_assert_eq!(x, y);
        }
        for n in 0..6u8 {
            let id = format!("n{n}");
            prop_assert_eq!(a.running_on_node(&id), b.running_on_node(&id));
            let x: Vec<_> = a.replicas_on_node(&id).map(|r| r.id.clone()).collect();
            let y: Vec<_> = b.replicas_on_node(&id).map(|r| r.id.clone()).collect();
            prop_assert_eq!(x, y);
        }
        // The whole state, derived indexes included.
        prop_assert_eq!(a, b);
    }
}

proptest! {
    /// The replicas pane's window (resolved from per-service counts in the default view) is
    /// always the same slice as the full ordering, for every sort, filter and history setting.
    #[test]
    fn replica_window_is_a_slice_of_the_full_order(
        from in 0usize..200,
        len in 0usize..60,
        history in any::<bool>(),
        column in 0usize..4,
        reverse in any::<bool>(),
        filtered in any::<bool>(),
        ticks in 0usize..40,
    ) {
        use clusterdeck::app::view::{SortSpec, replica_rows, replica_window};
        let mut sim = demo_sim();
        let mut store = Store::default();
        store.apply(BackendMsg::Snapshot { cluster: "c".into(), source: SourceKind::Swarm, at: t0(), snapshot: sim.snapshot() });
        let mut now = t0();
        for _ in 0..ticks {
            now += chrono::Duration::milliseconds(500);
            let out = sim.tick(now);
            store.apply(BackendMsg::Changes { cluster: "c".into(), source: SourceKind::Swarm, at: now, changes: out.changes });
        }
        let c = &store.clusters[0];
        let sort = SortSpec { column, reverse };
        let filter = if filtered { "api" } else { "" };
        let all = replica_rows(c, None, history, filter, sort);
        let (total, start, window) = replica_window(c, None, history, filter, sort, |_| (from, len));
        prop_assert_eq!(total, all.len());
        prop_assert_eq!(start, from);
        let to = (from + len).min(all.len());
        let expected: Vec<&str> = all.get(from.min(to)..to).unwrap_or_default().iter().map(|r| r.id.as_str()).collect();
        let got: Vec<&str> = window.iter().map(|r| r.id.as_str()).collect();
        prop_assert_eq!(got, expected);
    }
}
