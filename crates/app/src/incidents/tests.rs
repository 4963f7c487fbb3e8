//! The incident engine against hand-made states: each rule, the transitions, acks.

use super::*;
use crate::backends::{BackendMsg, Snapshot};
use crate::input::Pane;
use crate::model::store::Store;
use crate::model::{
    Change, EtcdMember, EtcdStatus, Instance, InstanceState, ObjectKind, Replica, ServiceMode,
    TaskState, UpdateConfig, Workload,
};
use crate::model::{Node, NodeRole, NodeStatus, SourceKind};
use chrono::{TimeZone, Utc};

fn t(s: i64) -> Time {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("valid time")
}

fn store(nodes: Vec<Node>) -> Store {
    let mut s = Store::default();
    s.apply(BackendMsg::Snapshot {
        cluster: "prod".into(),
        source: SourceKind::Swarm,
        at: t(0),
        snapshot: Snapshot {
            nodes: Some(nodes),
            ..Default::default()
        },
    });
    s
}

fn managers(down: usize) -> Vec<Node> {
    (0..3)
        .map(|i| {
            let mut n = Node::sample(NodeRole::Manager);
            n.id = format!("m{i}");
            n.hostname = format!("mgr{i}");
            n.leader = i == 2;
            if i < down {
                n.status = NodeStatus::Down;
                n.reachability = Some(crate::model::Reachability::Unreachable);
            }
            n
        })
        .collect()
}

#[test]
fn a_stopped_manager_is_a_node_down_and_quorum_at_risk_with_a_duration() {
    let s = store(managers(1));
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(10));
    let kinds: Vec<_> = inc.current.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        vec![IncidentKind::NodeDown, IncidentKind::QuorumAtRisk]
    );
    assert_eq!(inc.current[0].affected[0].object, "mgr0");
    // First seen at t(10); still the start 50 s later.
    inc.update(&s, &[], t(60));
    assert_eq!(inc.current[0].since(), Some(t(10)));
    assert_eq!(inc.worst_in("prod"), Some(IncidentKind::NodeDown));
}

#[test]
fn resolved_incidents_are_forgotten_and_memory_stays_bounded() {
    let mut inc = Incidents::default();
    for round in 0..100 {
        let s = store(managers(round % 3));
        inc.update(&s, &[], t(round as i64));
        assert!(inc.remembered() <= 4, "remembered {}", inc.remembered());
    }
    let s = store(managers(0));
    inc.update(&s, &[], t(1000));
    assert!(inc.current.is_empty());
    assert_eq!(inc.remembered(), 0);
    // A new occurrence starts a new duration.
    let s = store(managers(1));
    inc.update(&s, &[], t(2000));
    assert_eq!(inc.current[0].since(), Some(t(2000)));
}

#[test]
fn two_managers_down_is_quorum_lost() {
    let s = store(managers(2));
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(5));
    assert_eq!(inc.current[0].kind, IncidentKind::QuorumLost);
    assert!(inc.current[0].kind.is_critical());
    let down = inc
        .current
        .iter()
        .find(|i| i.kind == IncidentKind::NodeDown)
        .expect("nodes down");
    assert_eq!(down.affected.len(), 2);
}

fn workload(id: &str, desired: u32, running: u32) -> Workload {
    Workload {
        id: id.into(),
        kind: ObjectKind::Service,
        name: format!("{id}-svc"),
        mode: ServiceMode::Replicated,
        desired,
        running,
        image: "img:1".into(),
        containers: vec![],
        previous_image: None,
        changed: vec![],
        revisions: vec![],
        stack: None,
        update: None,
        update_config: UpdateConfig::default(),
        spec_version: 1,
        generation: 0,
        uid: None,
        availability: vec![],
    }
}

fn task(id: &str, workload: &str, state: TaskState, since: Time, error: Option<&str>) -> Replica {
    Replica {
        id: id.into(),
        kind: ObjectKind::Task,
        workload_id: workload.into(),
        slot: Some(1),
        node_id: None,
        desired: if state == TaskState::Running {
            TaskState::Running
        } else {
            TaskState::Shutdown
        },
        state,
        since,
        error: error.map(str::to_string),
        image: "img:1".into(),
        name: None,
        restarts: None,
        container: None,
    }
}

fn with(snapshot: Snapshot, source: SourceKind) -> Store {
    let mut s = Store::default();
    s.apply(BackendMsg::Snapshot {
        cluster: "prod".into(),
        source,
        at: t(0),
        snapshot,
    });
    s
}

fn kinds(inc: &Incidents) -> Vec<IncidentKind> {
    inc.current.iter().map(|i| i.kind).collect()
}

#[test]
fn failing_tasks_in_the_window_are_a_crash_loop_with_the_error_and_a_jump_to_the_task() {
    let mut replicas: Vec<Replica> = (0..3)
        .map(|i| {
            task(
                &format!("t{i}"),
                "w",
                TaskState::Failed,
                t(i * 10),
                Some(&format!("exit {i}")),
            )
        })
        .collect();
    replicas.push(task("old", "w", TaskState::Failed, t(-5000), Some("old")));
    let s = with(
        Snapshot {
            workloads: Some(vec![workload("w", 1, 0)]),
            replicas: Some(replicas),
            ..Default::default()
        },
        SourceKind::Swarm,
    );
    let mut inc = Incidents::default();
    // Within the 30 s grace the shortfall is not yet an incident; the loop already is.
    inc.update(&s, &[], t(25));
    assert_eq!(kinds(&inc), vec![IncidentKind::CrashLoop]);
    let a = &inc.current[0].affected[0];
    assert_eq!(a.detail, "3 tasks failed in 10m");
    assert_eq!(a.evidence[0], "w-svc.1: exit 2");
    let jump = a.jump.as_ref().expect("a jump");
    assert_eq!((jump.pane, jump.id.as_str()), (Pane::Replicas, "t2"));
    assert_eq!(jump.workload.as_deref(), Some("w"));
    // After the grace period it is also below desired, since its first failed replica.
    inc.update(&s, &[], t(60));
    assert_eq!(
        kinds(&inc),
        vec![IncidentKind::CrashLoop, IncidentKind::BelowDesired]
    );
    // Running as desired again, started after the last failure: the loop is over, though
    // the failures are still within the window.
    let mut fixed = s.clone();
    fixed.apply(BackendMsg::Changes {
        cluster: "prod".into(),
        source: SourceKind::Swarm,
        at: t(40),
        changes: vec![
            Change::UpsertWorkload(workload("w", 1, 1)),
            Change::UpsertReplica(task("ok", "w", TaskState::Running, t(35), None)),
        ],
    });
    let mut after = Incidents::default();
    after.update(&fixed, &[], t(60));
    assert!(after.current.is_empty(), "{:?}", after.current);
    // Two failures are not a loop.
    let mut small = Incidents::new(Thresholds {
        crash_loop_failures: 4,
        ..Thresholds::default()
    });
    small.update(&s, &[], t(25));
    assert!(small.current.is_empty());
}

#[test]
fn etcd_members_down_alarms_and_quorum_are_incidents() {
    let m = |name: &str, up: bool, alarms: Vec<&str>| EtcdMember {
        id: format!("id-{name}"),
        name: name.into(),
        peer_urls: vec![],
        client_urls: vec![],
        leader: name == "e1" && up,
        learner: false,
        healthy: up,
        status: up.then(|| EtcdStatus {
            leader_id: Some("id-e1".into()),
            ..EtcdStatus::default()
        }),
        problem: (!up).then(|| "connection refused".into()),
        alarms: alarms.into_iter().map(str::to_string).collect(),
    };
    let s = with(
        Snapshot {
            etcd: Some(vec![
                m("e1", true, vec!["NOSPACE"]),
                m("e2", true, vec![]),
                m("e3", false, vec![]),
            ]),
            ..Default::default()
        },
        SourceKind::Etcd,
    );
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(1));
    assert_eq!(
        kinds(&inc),
        vec![
            IncidentKind::EtcdAlarm,
            IncidentKind::NodeDown,
            IncidentKind::QuorumAtRisk
        ]
    );
    assert_eq!(inc.current[0].affected[0].detail, "NOSPACE");
    assert_eq!(inc.current[1].affected[0].object, "etcd e3");
    assert!(inc.current[2].affected[0].detail.contains("2/3 members"));
}

#[test]
fn a_failing_readyz_check_is_api_not_ready_with_the_checks_as_evidence() {
    let mut s = Store::default();
    s.apply(BackendMsg::Changes {
        cluster: "prod".into(),
        source: SourceKind::Kubernetes,
        at: t(0),
        changes: vec![Change::ControlPlane(vec![
            crate::model::ControlCheck {
                name: "etcd".into(),
                ok: false,
                detail: "etcd failed: reason withheld".into(),
            },
            crate::model::ControlCheck {
                name: "ping".into(),
                ok: true,
                detail: String::new(),
            },
        ])],
    });
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(1));
    assert_eq!(kinds(&inc), vec![IncidentKind::ApiNotReady]);
    assert_eq!(inc.current[0].affected[0].detail, "readyz failing: etcd");
    assert!(inc.current[0].kind.is_critical());
}

#[test]
fn an_instance_stopped_outside_the_console_is_an_incident_one_stopped_by_it_is_not() {
    let mut i = Instance::sample("i-1", "web", "eu-west-1a", None, t(0));
    i.state = InstanceState::Stopped;
    i.state_since = t(100);
    let s = with(
        Snapshot {
            instances: Some(vec![i]),
            ..Default::default()
        },
        SourceKind::Ec2,
    );
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(110));
    assert_eq!(kinds(&inc), vec![IncidentKind::InstanceDown]);
    assert_eq!(inc.current[0].since(), Some(t(100)));
    let intent = AuditRecord {
        phase: "intent".into(),
        verb: "stop".into(),
        time: t(90).to_rfc3339(),
        object: Some(crate::ops::audit::AuditObject {
            kind: "instance".into(),
            id: "i-1".into(),
        }),
        ..AuditRecord::default()
    };
    let mut inc = Incidents::default();
    inc.update(&s, std::slice::from_ref(&intent), t(110));
    assert!(inc.current.is_empty(), "{:?}", inc.current);
    // An intent for another instance does not excuse this one.
    let mut other = intent;
    other.object = Some(crate::ops::audit::AuditObject {
        kind: "instance".into(),
        id: "i-2".into(),
    });
    inc.update(&s, &[other], t(111));
    assert_eq!(kinds(&inc), vec![IncidentKind::InstanceDown]);
    // Running, with a failing status check: an incident too, whatever the audit log says.
    let mut sick = Instance::sample("i-3", "db", "eu-west-1a", None, t(0));
    sick.flags.impaired = Some("system".into());
    let s = with(
        Snapshot {
            instances: Some(vec![sick]),
            ..Default::default()
        },
        SourceKind::Ec2,
    );
    let mut inc = Incidents::default();
    inc.update(&s, &[], t(5));
    assert_eq!(
        inc.current[0].affected[0].detail,
        "system status check impaired"
    );
}

#[test]
fn transitions_new_escalated_resolved_with_the_duration() {
    let mut inc = Incidents::default();
    let n = inc.update(&store(managers(1)), &[], t(10));
    let tr: Vec<_> = n.iter().map(|n| (n.transition, n.incident.kind)).collect();
    assert!(tr.contains(&(Transition::New, IncidentKind::NodeDown)));
    let n = inc.update(&store(managers(2)), &[], t(20));
    let tr: Vec<_> = n.iter().map(|n| (n.transition, n.incident.kind)).collect();
    assert!(
        tr.contains(&(Transition::Escalated, IncidentKind::NodeDown)),
        "{tr:?}"
    );
    assert!(tr.contains(&(Transition::New, IncidentKind::QuorumLost)));
    assert!(tr.contains(&(Transition::Resolved, IncidentKind::QuorumAtRisk)));
    let down = &inc.current[1];
    assert_eq!(down.kind, IncidentKind::NodeDown);
    assert!(
        down.changes.iter().any(|c| c.1.starts_with("+ mgr1")),
        "{:?}",
        down.changes
    );
    let n = inc.update(&store(managers(0)), &[], t(70));
    assert!(inc.current.is_empty());
    let r = inc
        .resolved
        .iter()
        .find(|r| r.incident.kind == IncidentKind::NodeDown)
        .expect("resolved node down");
    assert_eq!(r.lasted(), chrono::Duration::seconds(60));
    assert!(n.iter().all(|n| n.transition == Transition::Resolved));
    // Resolved incidents are listed for a while, then forgotten.
    inc.update(&store(managers(0)), &[], t(70 + 3601));
    assert!(inc.resolved.is_empty());
}

#[test]
fn acks_belong_to_the_open_occurrence_only() {
    let mut inc = Incidents::default();
    inc.update(&store(managers(1)), &[], t(10));
    let key = key("prod", IncidentKind::NodeDown);
    let ack = Annotation {
        at: t(12),
        who: "alice".into(),
        text: "rolling back".into(),
        ack: true,
    };
    assert!(inc.annotate(&key, ack.clone()));
    // The same ack read back from the timeline is not a second one.
    assert!(!inc.annotate(&key, ack));
    inc.update(&store(managers(1)), &[], t(15));
    let down = inc
        .current
        .iter()
        .find(|i| i.kind == IncidentKind::NodeDown)
        .expect("node down");
    assert_eq!(down.ack().map(|a| a.who.as_str()), Some("alice"));
    // Resolved, then back: the old ack does not cover the new occurrence.
    inc.update(&store(managers(0)), &[], t(20));
    inc.update(&store(managers(1)), &[], t(30));
    let down = &inc.current[0];
    assert_eq!(down.kind, IncidentKind::NodeDown);
    assert!(down.ack().is_none());
    // Nor does an ack written before the resolution, read late from the timeline.
    assert!(!inc.annotate(
        &key,
        Annotation {
            at: t(18),
            who: "bob".into(),
            text: String::new(),
            ack: true,
        }
    ));
}
