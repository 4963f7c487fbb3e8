//! The action gate: read-only refusal, confirmation required, fail-closed audit, one rollout
//! per service, refusals on lost quorum — checked at the gate and through the app's keys.

use std::path::Path;

use chrono::Utc;
use tokio::sync::mpsc;

use clusterdeck::app::Modal;
use clusterdeck::backends::{BackendHandle, OpCommand};
use clusterdeck::input::Action;
use clusterdeck::model::store::ClusterState;
use clusterdeck::model::{Availability, SourceKind};
use clusterdeck::ops::audit::AuditLog;
use clusterdeck::ops::{Executor, Gate, Op, OpRequest, Risk};
use clusterdeck::ui::Pane;

use crate::support::*;

fn cluster() -> ClusterState {
    demo_app().store.clusters[0].clone()
}

fn scale(n: u32) -> OpRequest {
    OpRequest::named("demo", "web", Op::Scale { replicas: n })
}

fn gate_with_channel(audit: &Path) -> (Gate, mpsc::Receiver<OpCommand>) {
    let (tx, rx) = mpsc::channel(4);
    let handle = BackendHandle {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        ops: tx,
    };
    (
        Gate::live(
            AuditLog::new(audit),
            Executor::new(vec![handle]),
            operator(),
        ),
        rx,
    )
}

#[test]
fn read_only_refuses_before_planning() {
    let c = cluster();
    let err = Gate::read_only()
        .check(scale(5), Some(&c), &[])
        .expect_err("refused");
    assert!(err.starts_with("read-only mode"), "{err}");
}

#[test]
fn released_op_is_audited_then_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let (mut gate, mut rx) = gate_with_channel(&path);
    let c = cluster();
    let pending = gate.check(scale(5), Some(&c), &[]).expect("planned");
    assert_eq!(pending.plan().risk, Risk::Normal);
    assert_eq!(pending.plan().cli, "docker service scale web=5");
    let confirmed = pending.confirm("").expect("normal risk needs no typing");
    let rel = gate.release(confirmed, Some(&c), &[]).expect("released");
    let cmd = rx.try_recv().expect("sent to the backend");
    assert_eq!(cmd.op_id, rel.op_id);
    let records = AuditLog::new(&path).read_all().expect("readable");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].phase, "intent");
    assert_eq!(records[0].user, "alice");
    assert_eq!(records[0].ssh_client.as_deref(), Some("192.0.2.7"));
    assert_eq!(records[0].params["replicas"], 5);
    // The state before the change is recorded with the intent.
    assert_eq!(records[0].params["before"]["replicas"], 10);
}

#[test]
fn audit_that_cannot_be_written_means_nothing_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A path under a regular file can never be created.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").expect("write");
    let (mut gate, mut rx) = gate_with_channel(&blocker.join("audit.jsonl"));
    let c = cluster();
    let confirmed = gate
        .check(scale(5), Some(&c), &[])
        .expect("planned")
        .confirm("")
        .expect("confirmed");
    let err = gate
        .release(confirmed, Some(&c), &[])
        .expect_err("fail closed");
    assert!(
        err.contains("audit log") && err.contains("cannot be written"),
        "{err}"
    );
    assert!(rx.try_recv().is_err(), "nothing reached the backend");
}

#[test]
fn high_risk_needs_the_target_typed() {
    let c = cluster();
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let pending = gate.check(scale(0), Some(&c), &[]).expect("planned");
    assert_eq!(pending.plan().risk, Risk::High);
    assert_eq!(pending.plan().confirm_text.as_deref(), Some("service/web"));
    let refused = pending.confirm("wbe").expect_err("wrong text");
    assert!(refused.1.contains("type service/web"), "{}", refused.1);
    // The name without its kind is not what was asked for.
    let refused = refused
        .0
        .confirm("web")
        .expect_err("the kind is part of it");
    assert!(refused.0.confirm("service/web").is_ok());
}

#[test]
fn draining_a_manager_is_high_risk_and_names_moving_tasks() {
    let c = cluster();
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let req = OpRequest::named(
        "demo",
        "mgr-1",
        Op::SetAvailability {
            availability: Availability::Drain,
        },
    );
    let p = gate.check(req, Some(&c), &[]).expect("planned");
    assert_eq!(p.plan().risk, Risk::High);
    let moving = c
        .replicas_on_node(&c.node_by_name("mgr-1").expect("mgr-1").id)
        .filter(|r| r.is_current())
        .count();
    assert!(
        p.plan()
            .delta
            .iter()
            .any(|d| d.contains(&format!("{moving} tasks move off mgr-1"))),
        "{:?}",
        p.plan().delta
    );
}

#[test]
fn deploy_needs_an_explicit_tag() {
    let c = cluster();
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let deploy = |image: &str| {
        OpRequest::named(
            "demo",
            "web",
            Op::Deploy {
                image: image.into(),
            },
        )
    };
    let err = gate
        .check(deploy("127.0.0.1:5000/shop/web"), Some(&c), &[])
        .expect_err("no tag");
    assert!(err.contains("no tag"), "{err}");
    let latest = gate
        .check(deploy("127.0.0.1:5000/shop/web:latest"), Some(&c), &[])
        .expect("typed out");
    assert_eq!(latest.plan().risk, Risk::High);
    assert!(
        gate.check(deploy("127.0.0.1:5000/shop/web:2.0.0"), Some(&c), &[])
            .is_ok()
    );
    assert!(
        gate.check(deploy("127.0.0.1:5000/shop/web@sha256:0123"), Some(&c), &[])
            .is_ok()
    );
}

#[test]
fn one_rollout_per_service() {
    let c = cluster();
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let running = vec![(
        OpRequest::named("demo", "web", Op::Restart),
        "bob".to_string(),
    )];
    let err = gate
        .check(
            OpRequest::named(
                "demo",
                "web",
                Op::Rollback {
                    from_revision: None,
                    to_revision: None,
                },
            ),
            Some(&c),
            &running,
        )
        .expect_err("one in flight");
    assert!(
        err.contains("already in flight") && err.contains("bob"),
        "{err}"
    );
    // Scaling is not a rollout and may proceed.
    assert!(gate.check(scale(11), Some(&c), &running).is_ok());
}

#[test]
fn invalid_requests_are_refused_with_reasons() {
    let c = cluster();
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let global = OpRequest::named("demo", "ingress", Op::Scale { replicas: 3 });
    assert!(
        gate.check(global, Some(&c), &[])
            .expect_err("global")
            .contains("global service")
    );
    let missing = OpRequest::named("demo", "nope", Op::Scale { replicas: 3 });
    assert!(
        gate.check(missing, Some(&c), &[])
            .expect_err("missing")
            .contains("no service named nope")
    );
    assert!(
        gate.check(scale(5000), Some(&c), &[])
            .expect_err("limit")
            .contains("limit")
    );
}

#[test]
fn keys_to_audit_through_the_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let (tx, mut rx) = mpsc::channel(4);
    let handle = BackendHandle {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        ops: tx,
    };
    let mut app = clusterdeck::app::App::new(
        Gate::live(
            AuditLog::new(&path),
            Executor::new(vec![handle]),
            operator(),
        ),
        clusterdeck::input::Keymap::defaults(),
        clusterdeck::ui::theme::Theme::builtin("dark").expect("theme"),
        settings(false),
    );
    load(&mut app, &demo_sim());
    app.go_pane(Pane::Nodes);
    // mgr-1 is the first node; pause it (normal risk).
    app.dispatch(Action::Pause);
    assert!(matches!(app.ui.modal, Some(Modal::Confirm { .. })));
    // Enter on the default button cancels.
    app.dispatch(Action::Confirm);
    assert!(app.ui.modal.is_none());
    assert!(!path.exists(), "a cancelled action writes nothing");
    app.dispatch(Action::Pause);
    app.dispatch(Action::SwitchButton);
    app.dispatch(Action::Confirm);
    let cmd = rx.try_recv().expect("released");
    assert_eq!(cmd.request.verb(), "pause");
    assert_eq!(app.inflight.len(), 1);
    // The backend reports the outcome; the app writes it.
    app.on_backend(clusterdeck::backends::BackendMsg::Op(
        clusterdeck::backends::OpUpdate {
            op_id: cmd.op_id.clone(),
            progress: None,
            message: String::new(),
            outcome: Some(Ok("mgr-1 is pause".into())),
            drift: None,
        },
    ));
    assert!(app.inflight.is_empty());
    let recs = AuditLog::new(&path).read_all().expect("log");
    assert_eq!(
        recs.iter().map(|r| r.phase.as_str()).collect::<Vec<_>>(),
        vec!["intent", "outcome"]
    );
    assert_eq!(recs[1].result.as_deref(), Some("ok"));
    assert_eq!(recs[1].op_id, cmd.op_id);
    let _ = Utc::now();
}

#[test]
fn a_read_only_context_refuses_at_the_gate_and_by_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let (gate, mut rx) = gate_with_channel(&path);
    let mut c = cluster();
    c.read_only = true;
    let err = gate
        .check(scale(5), Some(&c), &[])
        .expect_err("a read-only context refuses");
    assert_eq!(
        err,
        "context demo is read-only (config): scale web refused; nothing was sent"
    );

    let mut app = clusterdeck::app::App::new(
        gate,
        clusterdeck::input::Keymap::defaults(),
        clusterdeck::ui::theme::Theme::builtin("dark").expect("theme"),
        settings(false),
    );
    load(&mut app, &demo_sim());
    app.store.cluster_mut("demo").read_only = true;
    assert!(app.read_only_here());
    app.go_pane(Pane::Nodes);
    app.dispatch(Action::Pause);
    match &app.ui.modal {
        Some(Modal::Message { title, body, .. }) => {
            assert_eq!(title, "Refused");
            assert_eq!(
                body,
                "context demo is read-only (config): pause is not available"
            );
        }
        other => panic!("a refusal, not {other:?}"),
    }
    assert!(rx.try_recv().is_err(), "nothing reached the backend");
    assert!(!path.exists(), "nothing was audited: nothing was attempted");
}

/// A Kubernetes Deployment in the demo context, with the containers given.
fn with_deployment(containers: &[(&str, &str)]) -> ClusterState {
    let mut c = cluster();
    let mut w = c.workloads.values().next().expect("a workload").clone();
    w.id = "deployment/shop/web2".into();
    w.kind = clusterdeck::model::ObjectKind::Deployment;
    w.name = "shop/web2".into();
    w.containers = containers
        .iter()
        .map(|(n, i)| (n.to_string(), i.to_string()))
        .collect();
    w.image = containers[0].1.into();
    w.spec_version = 4;
    w.previous_image = Some("reg/web:1".into());
    c.workloads.insert(w.id.clone(), w);
    c
}

#[test]
fn a_kubernetes_deploy_names_its_container() {
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let deploy = |image: &str| {
        OpRequest::named(
            "demo",
            "shop/web2",
            Op::Deploy {
                image: image.into(),
            },
        )
    };
    // One container: named for the operator, in the plan, the cli and the audit.
    let one = with_deployment(&[("main", "reg/web:2")]);
    let p = gate
        .check(deploy("reg/web:3"), Some(&one), &[])
        .expect("planned");
    assert_eq!(
        p.request(),
        &OpRequest::new(
            "demo",
            clusterdeck::model::Target::object(
                clusterdeck::model::SourceKind::Kubernetes,
                clusterdeck::model::ObjectKind::Deployment,
                "deployment/shop/web2",
                "shop/web2"
            ),
            Op::Deploy {
                image: "main=reg/web:3".into()
            }
        )
    );
    assert_eq!(p.plan().delta[0], "main: image reg/web:2 → reg/web:3");
    assert_eq!(
        p.plan().cli,
        "kubectl set image -n shop deployment/web2 main=reg/web:3"
    );
    // Several: a bare image is refused with the names; a named one changes only that one.
    let two = with_deployment(&[("main", "reg/web:2"), ("proxy", "envoy:1.30")]);
    let err = gate
        .check(deploy("reg/web:3"), Some(&two), &[])
        .expect_err("which container?");
    assert_eq!(
        err,
        "shop/web2 has 2 containers (main, proxy): type CONTAINER=IMAGE:TAG"
    );
    let err = gate
        .check(deploy("sidecar=envoy:1.31"), Some(&two), &[])
        .expect_err("no such container");
    assert_eq!(
        err,
        "shop/web2 has no container `sidecar` (it has: main, proxy)"
    );
    let err = gate
        .check(deploy("proxy=envoy:1.30"), Some(&two), &[])
        .expect_err("already runs it");
    assert!(err.contains("already runs envoy:1.30"), "{err}");
    let p = gate
        .check(deploy("proxy=envoy:1.31"), Some(&two), &[])
        .expect("planned");
    assert_eq!(p.plan().delta[0], "proxy: image envoy:1.30 → envoy:1.31");
    assert_eq!(
        p.plan().cli,
        "kubectl set image -n shop deployment/web2 proxy=envoy:1.31"
    );
    // The tag rules are the same as Swarm's.
    let err = gate
        .check(deploy("proxy=envoy"), Some(&two), &[])
        .expect_err("no tag");
    assert!(err.contains("has no tag"), "{err}");
    // A Swarm service has one image: a container name is a mistake, said so.
    let err = gate
        .check(
            OpRequest::named(
                "demo",
                "web",
                Op::Deploy {
                    image: "main=reg/web:3".into(),
                },
            ),
            Some(&cluster()),
            &[],
        )
        .expect_err("swarm");
    assert!(err.contains("one image"), "{err}");
}

#[test]
fn a_kubernetes_rollback_names_the_image_it_restores() {
    let (gate, _rx) = gate_with_channel(Path::new("/proc/none/audit.jsonl"));
    let c = with_deployment(&[("main", "reg/web:2")]);
    let p = gate
        .check(
            OpRequest::named(
                "demo",
                "shop/web2",
                Op::Rollback {
                    from_revision: None,
                    to_revision: None,
                },
            ),
            Some(&c),
            &[],
        )
        .expect("planned");
    assert_eq!(p.plan().delta[0], "image reg/web:2 → reg/web:1");
    assert!(
        p.plan().delta[1].starts_with("revision 4 → "),
        "{:?}",
        p.plan().delta
    );
    assert_eq!(p.plan().cli, "kubectl rollout undo -n shop deployment/web2");
    // The revision the plan saw goes with the request, so the undo can refuse a moved target.
    assert_eq!(
        p.request(),
        &OpRequest::new(
            "demo",
            clusterdeck::model::Target::object(
                clusterdeck::model::SourceKind::Kubernetes,
                clusterdeck::model::ObjectKind::Deployment,
                "deployment/shop/web2",
                "shop/web2"
            ),
            Op::Rollback {
                from_revision: Some(4),
                to_revision: None,
            }
        )
    );
    assert_eq!(p.request().params()["from_revision"], 4);
}

/// A Deployment and a StatefulSet both called `same/web`: each row says its kind, and the row
/// selected is the object the prompt and the plan are about (kind and id, never the name).
#[test]
fn the_selected_row_is_the_object_planned_when_names_repeat() {
    use clusterdeck::backends::{BackendMsg, Snapshot};
    use clusterdeck::model::ObjectKind;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let (tx, _rx) = mpsc::channel(4);
    let handle = BackendHandle {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        ops: tx,
    };
    let mut app = clusterdeck::app::App::new(
        Gate::live(
            AuditLog::new(Path::new("/proc/none/audit.jsonl")),
            Executor::new(vec![handle]),
            operator(),
        ),
        clusterdeck::input::Keymap::defaults(),
        clusterdeck::ui::theme::Theme::builtin("dark").expect("theme"),
        settings(false),
    );
    let template = cluster()
        .workloads
        .values()
        .next()
        .expect("a workload")
        .clone();
    let workload = |kind: ObjectKind, replicas: u32| {
        let mut w = template.clone();
        w.kind = kind;
        w.id = format!("{}/same/web", kind.label());
        w.name = "same/web".into();
        w.desired = replicas;
        w.running = replicas;
        w.update = None;
        // (The template is any workload of the map: a global one cannot be scaled.)
        w.mode = clusterdeck::model::ServiceMode::Replicated;
        w.containers = vec![("main".into(), w.image.clone())];
        w
    };
    app.store.apply(BackendMsg::Snapshot {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        at: Utc::now(),
        snapshot: Snapshot {
            workloads: Some(vec![
                workload(ObjectKind::Deployment, 2),
                workload(ObjectKind::StatefulSet, 1),
            ]),
            ..Snapshot::default()
        },
    });
    app.go_pane(Pane::Services);
    let screen = screen(&app, 100, 30);
    assert!(screen.contains("deploy/same/web "), "{screen}");
    assert!(screen.contains("sts/same/web "), "{screen}");
    for row in 0..2 {
        app.ui.selected.insert(Pane::Services, row);
        let w = app.selected_workload().expect("a row").clone();
        app.dispatch(Action::Scale);
        let input = app.ui.input.as_ref().expect("the scale prompt");
        assert_eq!(input.text, w.desired.to_string(), "its own count");
        for _ in 0..input.text.len() {
            app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        }
        app.on_key(KeyEvent::new(KeyCode::Char('3'), KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let Some(Modal::Confirm { pending, .. }) = &app.ui.modal else {
            panic!("no plan: {:?}", app.ui.status);
        };
        assert_eq!(pending.request().target.id(), w.id);
        assert_eq!(
            pending.plan().cli,
            format!("kubectl scale -n same {}/web --replicas=3", w.kind.label())
        );
        assert!(
            pending.plan().delta[0].starts_with(&format!("replicas {} → 3", w.desired)),
            "{:?}",
            pending.plan().delta
        );
        app.ui.modal = None;
    }
}

/// The refusals that hold whatever the operation are checked again when the operator
/// confirms: a source that went stale while the modal was open, or a target someone else
/// changed, ends the operation `refused` (intent and outcome audited) and nothing is sent.
#[test]
fn a_plan_confirmed_after_its_source_went_stale_or_its_target_moved_is_refused() {
    use clusterdeck::model::{SourceHealth, SourceState};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.jsonl");
    let (mut gate, mut rx) = gate_with_channel(&path);
    let mut c = cluster();
    let pending = gate.check(scale(5), Some(&c), &[]).expect("planned");
    c.sources.insert(
        SourceKind::Swarm,
        SourceHealth::new(SourceState::Unreachable {
            reason: "no answer from mgr1 for 15 s".into(),
        }),
    );
    let err = gate
        .release(pending.confirm("").expect("confirmed"), Some(&c), &[])
        .expect_err("stale now");
    assert!(
        err.contains("no answer from mgr1") && err.contains("checked again at confirmation"),
        "{err}"
    );
    assert!(rx.try_recv().is_err(), "nothing reached the backend");

    let mut c = cluster();
    let pending = gate.check(scale(5), Some(&c), &[]).expect("planned");
    let id = c.workload_by_name("web").expect("web").id.clone();
    if let Some(w) = c.workloads.get_mut(&id) {
        w.desired = 7;
    }
    let err = gate
        .release(pending.confirm("").expect("confirmed"), Some(&c), &[])
        .expect_err("moved");
    assert_eq!(
        err,
        "web changed since you confirmed (replicas 10 → 7 by someone else); nothing done"
    );
    assert!(rx.try_recv().is_err(), "nothing reached the backend");
    let recs = AuditLog::new(&path).read_all().expect("log");
    let results: Vec<(&str, Option<&str>)> = recs
        .iter()
        .map(|r| (r.phase.as_str(), r.result.as_deref()))
        .collect();
    assert_eq!(
        results,
        [
            ("intent", None),
            ("outcome", Some("refused")),
            ("intent", None),
            ("outcome", Some("refused")),
        ]
    );
    assert_eq!(recs[3].params["expected"]["replicas"], "10");
    assert_eq!(recs[3].params["found"]["replicas"], "7");
}

/// `u` on a Deployment that keeps several earlier revisions asks which one (the previous one
/// offered), and the plan is for the revision typed.
#[test]
fn rollback_asks_which_revision_when_several_are_kept() {
    use clusterdeck::backends::{BackendMsg, Snapshot};
    use clusterdeck::model::ObjectKind;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let (tx, _rx) = mpsc::channel(4);
    let handle = BackendHandle {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        ops: tx,
    };
    let mut app = clusterdeck::app::App::new(
        Gate::live(
            AuditLog::new(Path::new("/proc/none/audit.jsonl")),
            Executor::new(vec![handle]),
            operator(),
        ),
        clusterdeck::input::Keymap::defaults(),
        clusterdeck::ui::theme::Theme::builtin("dark").expect("theme"),
        settings(false),
    );
    let mut w = cluster()
        .workloads
        .values()
        .next()
        .expect("a workload")
        .clone();
    w.kind = ObjectKind::Deployment;
    w.id = "deployment/shop/web".into();
    w.name = "shop/web".into();
    w.mode = clusterdeck::model::ServiceMode::Replicated;
    w.update = None;
    w.image = "app:3".into();
    w.spec_version = 3;
    let rev = |number: u64, cause: Option<&str>| clusterdeck::model::Revision {
        number,
        image: format!("app:{number}"),
        cause: cause.map(str::to_string),
        changes: if number == 3 {
            vec![]
        } else {
            vec![
                format!("image app:3 → app:{number}"),
                "env DEBUG removed".to_string(),
            ]
        },
        ..Default::default()
    };
    w.revisions = vec![rev(3, None), rev(2, None), rev(1, Some("first release"))];
    app.store.apply(BackendMsg::Snapshot {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        at: Utc::now(),
        snapshot: Snapshot {
            workloads: Some(vec![w]),
            ..Snapshot::default()
        },
    });
    app.go_pane(Pane::Services);
    app.dispatch(Action::Rollback);
    let input = app.ui.input.as_ref().expect("the revision prompt");
    assert_eq!(input.text, "2", "the previous revision offered");
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("revisions: 3 (current) app:3 · 2 app:2 · 1 app:1 \"first release\""),
        "{s}"
    );
    app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let err = app.ui.input.as_ref().and_then(|i| i.error.clone());
    assert!(
        err.is_some_and(|e| e.contains("not a revision")),
        "kept with the reason"
    );
    app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Char('1'), KeyModifiers::NONE));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let Some(Modal::Confirm { pending, .. }) = &app.ui.modal else {
        panic!("no plan: {:?}", app.ui.input)
    };
    assert_eq!(
        pending.plan().cli,
        "kubectl rollout undo -n shop deployment/web --to-revision=1"
    );
    assert!(
        pending.plan().delta[0].contains("app:3 → app:1"),
        "{:?}",
        pending.plan().delta
    );
    assert!(
        pending
            .plan()
            .delta
            .iter()
            .any(|l| l.trim() == "env DEBUG removed"),
        "the rest of the template's change: {:?}",
        pending.plan().delta
    );
    assert_eq!(pending.request().params()["from_revision"], 3);
}
