//! Rendering: TestBackend + insta snapshots of every pane and state at 80x24 and 200x50, with
//! per-cell colour checks where colour carries meaning.

use chrono::Duration;
use insta::assert_snapshot;
use ratatui::style::{Color, Modifier};

use clusterdeck::app::view::Drill;
use clusterdeck::app::{Input, InputKind, Modal, PromptKind};
use clusterdeck::backends::{BackendMsg, Change};
use clusterdeck::config::discovery::{DiscoveredSource, Discovery};
use clusterdeck::input::Action;
use clusterdeck::model::{
    Event, NodeRole, Origin, Reachability, Severity, SourceHealth, SourceKind, SourceState,
};
use clusterdeck::ops::audit::AuditRecord;
use clusterdeck::ops::{Op, OpRequest};
use clusterdeck::ui::Pane;
use clusterdeck::ui::theme::{Role, Theme};

use crate::support::*;

const PANES: [Pane; 9] = Pane::ALL;

#[test]
fn every_pane_at_80x24_and_200x50() {
    let mut app = demo_app();
    add_events(&mut app);
    add_audit(&mut app);
    for pane in PANES {
        app.go_pane(pane);
        for (w, h) in [(80, 24), (200, 50)] {
            let name = format!("{}_{w}x{h}", pane.command());
            assert_snapshot!(name, screen(&app, w, h));
        }
    }
}

fn add_events(app: &mut clusterdeck::app::App) {
    let evs = [
        (
            Origin::External,
            Severity::Critical,
            "node",
            "mgr-3",
            "manager mgr-3 is unreachable",
        ),
        (
            Origin::Console,
            Severity::Info,
            "service",
            "web",
            "scale web 10 → 12",
        ),
        (
            Origin::External,
            Severity::Warn,
            "task",
            "api",
            "task t1 of api failed: OOM killed; rescheduling",
        ),
    ];
    for (i, (origin, severity, object, target, message)) in evs.into_iter().enumerate() {
        event(
            app,
            Change::Event(Event {
                at: t0() + Duration::minutes(i as i64 + 1),
                source: SourceKind::Swarm,
                origin,
                severity,
                object: object.into(),
                target: target.into(),
                message: message.into(),
            }),
        );
    }
}

fn audit_record(op: &str, phase: &str, result: Option<&str>) -> AuditRecord {
    AuditRecord {
        v: 1,
        time: "2026-11-21T09:05:00.000Z".into(),
        op_id: op.into(),
        phase: phase.into(),
        user: "alice".into(),
        uid: None,
        claimed_user: None,
        ssh_client: Some("192.0.2.7".into()),
        tty: Some("/dev/pts/3".into()),
        host: "bastion".into(),
        context: "demo".into(),
        backend: "swarm".into(),
        verb: "scale".into(),
        target: "web".into(),
        object: None,
        params: serde_json::json!({"replicas": 12}),
        cli: "docker service scale web=12".into(),
        result: result.map(str::to_string),
        message: result.map(|_| "web: 12/12 running".to_string()),
        duration_ms: result.map(|_| 3400),
        prev_sha256: String::new(),
        seq: 0,
        sha256: String::new(),
    }
}

fn add_audit(app: &mut clusterdeck::app::App) {
    app.audit.push(audit_record("op-1", "intent", None));
    app.audit.push(audit_record("op-1", "outcome", Some("ok")));
}

#[test]
fn drill_down_into_a_service_and_back() {
    let mut app = demo_app();
    app.go_pane(Pane::Services);
    // Services are sorted by name: api is first.
    app.dispatch(Action::Drill);
    assert_eq!(app.ui.pane, Pane::Replicas);
    assert!(matches!(app.ui.drill, Some(Drill::Service(_))));
    assert_snapshot!("replicas_of_api_80x24", screen(&app, 80, 24));
    app.dispatch(Action::Back);
    assert_eq!(app.ui.pane, Pane::Services);
    assert_eq!(app.ui.drill, None);
}

#[test]
fn drill_down_into_a_node() {
    let mut app = demo_app();
    app.go_pane(Pane::Nodes);
    app.dispatch(Action::Drill);
    assert!(matches!(app.ui.drill, Some(Drill::Node(_))));
    assert_snapshot!("replicas_on_mgr1_80x24", screen(&app, 80, 24));
}

#[test]
fn loading_and_not_configured_sources() {
    let mut app = read_only_app();
    app.sources = vec![
        DiscoveredSource {
            kind: SourceKind::Swarm,
            context: "default".into(),
            discovery: Discovery::NotConfigured {
                hint: "set DOCKER_HOST or add docker.hosts to a [[contexts]] entry".into(),
            },
        },
        DiscoveredSource {
            kind: SourceKind::Ec2,
            context: "default".into(),
            discovery: Discovery::NotConfigured {
                hint: "set AWS_REGION and credentials (AWS_PROFILE or ~/.aws/credentials)".into(),
            },
        },
    ];
    assert_snapshot!("loading_80x24", screen(&app, 80, 24));
    app.go_pane(Pane::Nodes);
    assert_snapshot!("empty_nodes_80x24", screen(&app, 80, 24));
}

fn lose_managers(app: &mut clusterdeck::app::App, n: usize) {
    let mut managers: Vec<_> = app.store.clusters[0]
        .nodes
        .values()
        .filter(|n| n.role == NodeRole::Manager && !n.leader)
        .cloned()
        .collect();
    managers.sort_by(|a, b| b.hostname.cmp(&a.hostname));
    for mut m in managers.into_iter().take(n) {
        m.reachability = Some(Reachability::Unreachable);
        event(app, Change::UpsertNode(m));
    }
}

#[test]
fn stale_and_quorum_lost() {
    let mut app = demo_app();
    lose_managers(&mut app, 2);
    let mut h = SourceHealth::new(SourceState::Unreachable {
        reason: "The swarm does not have a leader".into(),
    });
    h.stale_since = Some(now() - Duration::minutes(3));
    app.on_backend(BackendMsg::Health {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        health: h,
    });
    app.settle(now());
    let buf = render(&app, 80, 24);
    assert_snapshot!("quorum_lost_stale_80x24", text(&buf));
    // The verdict is danger-coloured and carried by a symbol too.
    // (The overview's verdict; the strip above says it too, in the alert colours.)
    let (x, y) = find(&buf, "✗ QUORUM LOST  no leader").expect("verdict on screen");
    assert_eq!(
        buf[(x, y)].fg,
        app.theme.style(Role::Danger).fg.unwrap_or(Color::Reset)
    );
    // The lost managers are crossed out.
    let (x, y) = find(&buf, "✗ mgr-3").expect("crossed-out manager");
    assert!(buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT));
    assert_snapshot!("quorum_lost_stale_200x50", screen(&app, 200, 50));

    // Writes are refused with the reason, before any confirmation.
    let err = app
        .begin_op(OpRequest::named("demo", "web", Op::Scale { replicas: 3 }))
        .expect_err("refused");
    assert!(err.contains("unreachable"), "{err}");
}

#[test]
fn one_manager_down_is_at_risk() {
    let mut app = demo_app();
    lose_managers(&mut app, 1);
    let s = screen(&app, 80, 24);
    assert!(s.contains("▲ at risk"), "{s}");
    assert!(s.contains("tolerates 0 more"), "{s}");
    assert_snapshot!("quorum_at_risk_80x24", s);
}

#[test]
fn confirm_modal_defaults_to_cancel_and_needs_typing_for_high_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = live_app(&dir.path().join("audit.jsonl"));
    load(&mut app, &demo_sim());
    app.go_pane(Pane::Services);
    app.begin_op(OpRequest::named("demo", "web", Op::Scale { replicas: 14 }))
        .expect("planned");
    let buf = render(&app, 80, 24);
    assert_snapshot!("confirm_scale_80x24", text(&buf));
    let (x, y) = find(&buf, "› Cancel ‹").expect("cancel button focused");
    assert_eq!(
        buf[(x, y)].bg,
        app.theme.style(Role::Selection).bg.unwrap_or(Color::Reset)
    );

    app.ui.modal = None;
    app.begin_op(OpRequest::named("demo", "web", Op::Scale { replicas: 0 }))
        .expect("planned");
    assert_snapshot!("confirm_scale_to_zero_80x24", screen(&app, 80, 24));
    assert_snapshot!("confirm_scale_to_zero_200x50", screen(&app, 200, 50));
}

#[test]
fn drain_plan_lists_tasks_that_move() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = live_app(&dir.path().join("audit.jsonl"));
    load(&mut app, &demo_sim());
    app.begin_op(OpRequest::named(
        "demo",
        "mgr-2",
        Op::SetAvailability {
            availability: clusterdeck::model::Availability::Drain,
        },
    ))
    .expect("planned");
    let s = screen(&app, 100, 30);
    assert!(s.contains("tasks move off mgr-2"), "{s}");
    assert!(s.contains("type node/mgr-2 to confirm"), "{s}");
    assert_snapshot!("confirm_drain_manager_100x30", s);
}

#[test]
fn read_only_refusal_and_hidden_keys() {
    let mut app = read_only_app();
    load(&mut app, &demo_sim());
    app.go_pane(Pane::Services);
    app.dispatch(Action::Scale);
    assert!(matches!(app.ui.modal, Some(Modal::Message { .. })));
    let s = screen(&app, 80, 24);
    assert!(s.contains("read-only"), "{s}");
    assert_snapshot!("read_only_refusal_80x24", s);
    app.ui.modal = None;
    app.dispatch(Action::Help);
    let help = screen(&app, 80, 40);
    assert!(
        !help.contains("scale service"),
        "mutating keys hidden in read-only help"
    );
    assert!(help.contains("filter rows"));
    assert_snapshot!("help_read_only_80x40", help);
}

#[test]
fn help_lists_the_live_keymap() {
    let mut app = demo_app();
    app.dispatch(Action::Help);
    let s = screen(&app, 100, 60);
    assert!(s.contains("scale service"));
    assert_snapshot!("help_100x60", s);
}

#[test]
fn prompt_keeps_invalid_input_with_an_error() {
    let mut app = demo_app();
    app.ui.input = Some(Input {
        kind: InputKind::Prompt(PromptKind::Scale {
            target: clusterdeck::model::Target::named("web"),
        }),
        text: "five".into(),
        error: Some("`five` is not a replica count: enter a whole number 0–1000".into()),
    });
    assert_snapshot!("prompt_error_80x24", screen(&app, 80, 24));
}

#[test]
fn filter_narrows_rows() {
    let mut app = demo_app();
    app.go_pane(Pane::Services);
    app.ui.filters.insert(Pane::Services, "pay".into());
    let s = screen(&app, 80, 24);
    assert!(s.contains("payments") && !s.contains("api "), "{s}");
}

#[test]
fn too_small_and_tiny_sizes_never_panic() {
    let mut app = demo_app();
    assert_snapshot!("too_small_50x10", screen(&app, 50, 10));
    for pane in PANES {
        app.go_pane(pane);
        for (w, h) in [
            (1, 1),
            (0, 0),
            (59, 14),
            (60, 15),
            (61, 16),
            (159, 29),
            (160, 30),
            (300, 100),
        ] {
            let _ = render(&app, w, h);
        }
    }
}

#[test]
fn hostile_strings_are_sanitised_on_screen() {
    let mut app = demo_app();
    let mut node = app.store.clusters[0]
        .nodes
        .values()
        .next()
        .cloned()
        .expect("a node");
    node.hostname = "evil\x1b]0;pwned\x07\x1b[2Jname\u{202e}".into();
    event(&mut app, Change::UpsertNode(node));
    app.go_pane(Pane::Nodes);
    let buf = render(&app, 120, 30);
    for cell in buf.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || c == '\u{202e}'),
            "{:?}",
            cell.symbol()
        );
    }
    assert!(text(&buf).contains("evilname"));
}

#[test]
fn every_theme_renders_and_mono_has_no_colour() {
    let mut app = demo_app();
    app.go_pane(Pane::Services);
    for name in Theme::builtin_names() {
        app.theme = Theme::builtin(name).expect("builtin");
        let _ = render(&app, 120, 30);
    }
    app.theme = Theme::builtin("mono").expect("mono");
    let buf = render(&app, 120, 30);
    for cell in buf.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
    // Selection stays visible without colour.
    let sel = app.theme.style(Role::Selection);
    assert!(sel.add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn pods_show_their_names_and_restarts() {
    let mut app = demo_app();
    // A Kubernetes source in the context brings the RST column.
    app.on_backend(BackendMsg::Health {
        cluster: "demo".into(),
        source: SourceKind::Kubernetes,
        health: SourceHealth::new(SourceState::Connected),
    });
    let web = app.store.clusters[0]
        .workloads
        .values()
        .find(|w| w.name == "web")
        .expect("web")
        .id
        .clone();
    for (pod, restarts) in [
        ("shop/web-7d4b9c8f6-x2kqz", 0),
        ("shop/web-7d4b9c8f6-q9zzt", 14),
        ("shop/web-7d4b9c8f6-loop1", 1234),
    ] {
        let mut r = app.store.clusters[0]
            .replicas_of_workload(&web)
            .next()
            .expect("a web replica")
            .clone();
        r.id = format!("pod/{pod}");
        r.slot = None;
        r.name = Some(pod.into());
        r.restarts = Some(restarts);
        event(&mut app, Change::UpsertReplica(r));
    }
    app.go_pane(Pane::Replicas);
    app.ui.filters.insert(Pane::Replicas, "7d4b9c8f6".into());
    let narrow = screen(&app, 80, 24);
    assert!(narrow.contains(" RST "), "{narrow}");
    // 18 columns: the generated suffix survives, the middle goes.
    assert!(narrow.contains("shop/web…8f6-x2kqz"), "{narrow}");
    let wide = screen(&app, 200, 50);
    let row = |name: &str| {
        wide.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in\n{wide}"))
            .to_string()
    };
    assert!(row("shop/web-7d4b9c8f6-q9zzt").contains(" 14 "), "{wide}");
    assert!(row("shop/web-7d4b9c8f6-x2kqz").contains(" 0 "), "{wide}");
    assert!(row("shop/web-7d4b9c8f6-loop1").contains(" 999+ "), "{wide}");
    // Sorted by restarts, the crash-looping pod comes first.
    app.ui.sort.insert(
        Pane::Replicas,
        clusterdeck::app::view::SortSpec {
            column: 4,
            reverse: false,
        },
    );
    let sorted = screen(&app, 200, 50);
    let first = sorted.find("q9zzt").expect("q9zzt shown");
    assert!(
        sorted.find("loop1").expect("loop1 shown") < first,
        "{sorted}"
    );
    assert!(
        first < sorted.find("x2kqz").expect("x2kqz shown"),
        "{sorted}"
    );
    // Swarm's tasks have no restart count: the column stays away without Kubernetes.
    let swarm_only = screen(&demo_app(), 200, 50);
    assert!(!swarm_only.contains(" RST "));
}

/// The header says when the audit trail is not whole: records not reaching syslog (since when,
/// why) and a chain that restarted.
#[test]
fn the_header_warns_of_unshipped_audit_and_a_restarted_chain() {
    let mut app = demo_app();
    let quiet = screen(&app, 200, 30);
    assert!(!quiet.contains("audit not shipped") && !quiet.contains("RESTARTED"));
    app.audit_unshipped = Some(clusterdeck::ops::audit::ship::ShipFailure {
        since: (now() - Duration::minutes(4)).to_rfc3339(),
        error: "connection refused".into(),
    });
    let mut restart = audit_record("chain-restart-1", "chain-restart", None);
    restart.verb = "chain-restart".into();
    app.audit.push(restart);
    let s = screen(&app, 200, 30);
    let header = s.lines().next().unwrap_or_default();
    assert!(
        header.contains("audit not shipped for 4m: connection refused"),
        "{header}"
    );
    assert!(header.contains("AUDIT CHAIN RESTARTED"), "{header}");
    // A source whose server certificate is not verified says so.
    for h in app.store.clusters[0].sources.values_mut() {
        h.tls_unverified = true;
    }
    let s = screen(&app, 240, 30);
    let header = s.lines().next().unwrap_or_default();
    assert!(header.contains("TLS not verified"), "{header}");
}

/// A Kubernetes-only context: the overview's quorum line is the control plane's health (the
/// API server's readiness checks, etcd's members where configured), not "no managers known".
#[test]
fn a_kubernetes_context_shows_the_control_planes_health_as_its_quorum() {
    use clusterdeck::backends::Snapshot;
    use clusterdeck::model::{ControlCheck, SourceHealth, SourceKind, SourceState};
    let mut app = read_only_app();
    let check = |name: &str, ok: bool| ControlCheck {
        name: name.into(),
        ok,
        detail: String::new(),
    };
    app.store.apply(BackendMsg::Snapshot {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        at: now(),
        snapshot: Snapshot {
            nodes: Some(Vec::new()),
            workloads: Some(Vec::new()),
            replicas: Some(Vec::new()),
            ..Snapshot::default()
        },
    });
    app.store.apply(BackendMsg::Health {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        health: SourceHealth::new(SourceState::Connected),
    });
    app.store.apply(BackendMsg::Changes {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        at: now(),
        changes: vec![Change::ControlPlane(vec![
            check("ping", true),
            check("etcd", true),
        ])],
    });
    let s = screen(&app, 120, 30);
    assert!(
        s.contains("● healthy  API server ready (2 checks pass)"),
        "{s}"
    );
    assert!(!s.contains("no managers known"), "{s}");
    app.store.apply(BackendMsg::Changes {
        cluster: "k8s".into(),
        source: SourceKind::Kubernetes,
        at: now(),
        changes: vec![Change::ControlPlane(vec![
            check("ping", true),
            check("etcd", false),
        ])],
    });
    let s = screen(&app, 120, 30);
    assert!(s.contains("API server not ready: etcd failing"), "{s}");
}

/// A service whose only task failed at start: the overview says it is down (✗, not ▲) and
/// why, with the task's error in full.
#[test]
fn a_service_whose_only_task_failed_is_down_with_its_error_on_the_overview() {
    use clusterdeck::model::{Replica, TaskState};
    let mut app = demo_app();
    let mut w = app.store.clusters[0]
        .workloads
        .values()
        .find(|w| w.mode == clusterdeck::model::ServiceMode::Replicated)
        .expect("a replicated service")
        .clone();
    w.id = "sv-evil".into();
    w.name = "evil".into();
    w.desired = 1;
    w.running = 0;
    w.update = None;
    let error = "starting container failed: exec: \"/nope\": stat /nope: no such file or directory";
    let task = Replica {
        id: "task-evil-1".into(),
        kind: clusterdeck::model::ObjectKind::Task,
        workload_id: w.id.clone(),
        slot: Some(1),
        node_id: None,
        desired: TaskState::Shutdown,
        state: TaskState::Failed,
        since: now(),
        error: Some(error.into()),
        image: w.image.clone(),
        name: None,
        restarts: None,
        container: None,
    };
    event(&mut app, Change::UpsertWorkload(w));
    event(&mut app, Change::UpsertReplica(task));
    let s = screen(&app, 200, 60);
    let line = s
        .lines()
        .find(|l| l.contains("evil 0/1"))
        .unwrap_or_else(|| panic!("evil on the overview:\n{s}"));
    assert!(line.contains("✗ evil 0/1"), "{line}");
    assert!(s.contains("no such file or directory"), "{s}");
    // The replicas pane shows that failed task without the history toggle: the only row that
    // says why nothing runs.
    app.ui.drill = Some(clusterdeck::app::view::Drill::Service("sv-evil".into()));
    app.go_pane(Pane::Replicas);
    let s = screen(&app, 200, 40);
    assert!(s.contains("evil.1") && s.contains("failed"), "{s}");
}

/// CPU and memory: a column on the replicas and nodes panes once sampled (with the sparkline),
/// a line in describe, and the reason in the title when usage cannot be read.
#[test]
fn usage_shows_in_the_replicas_and_nodes_panes_and_describe() {
    use clusterdeck::model::ObjectKind;
    use clusterdeck::model::usage::Sample;
    let mut app = demo_app();
    app.go_pane(Pane::Replicas);
    let task = app
        .selected_replica()
        .map(|r| r.id.clone())
        .expect("a task");
    app.go_pane(Pane::Nodes);
    let node = app.selected_node().map(|n| n.id.clone()).expect("a node");
    for (cpu, at) in [(None, 0), (Some(126.0), 5), (Some(400.0), 10)] {
        app.on_backend(BackendMsg::Usage {
            cluster: "demo".into(),
            source: SourceKind::Swarm,
            samples: vec![
                (
                    ObjectKind::Task,
                    task.clone(),
                    Sample {
                        at: t0() + Duration::seconds(at),
                        cpu_millis: cpu,
                        mem_bytes: Some(34 << 20),
                        mem_limit: None,
                    },
                ),
                (
                    ObjectKind::Node,
                    node.clone(),
                    Sample {
                        at: t0() + Duration::seconds(at),
                        cpu_millis: cpu.map(|c| c * 2.0),
                        mem_bytes: Some(1536 << 20),
                        mem_limit: None,
                    },
                ),
            ],
            problem: None,
        });
    }
    let s = screen(&app, 200, 50);
    assert!(s.contains("CPU  (1 min)  MEM"), "{s}");
    assert!(s.contains("80% ▃█ 1.5Gi"), "{s}");
    app.go_pane(Pane::Replicas);
    let s = screen(&app, 200, 50);
    assert!(s.contains("40% ▃█ 34Mi"), "{s}");
    // The demo has no engine to read objects from: the view as it stands once read.
    app.describe = clusterdeck::app::describe::DescribeView {
        title: "task api.1".into(),
        kind: Some(ObjectKind::Task),
        id: task.clone(),
        json: Some(serde_json::json!({"ID": task, "ServiceID": "s1"})),
        ..Default::default()
    };
    app.ui.modal = Some(Modal::Describe);
    let s = screen(&app, 200, 50);
    assert!(s.contains("usage        40% ▃█ 34Mi"), "{s}");
    app.dispatch(Action::Back);
    app.on_backend(BackendMsg::Usage {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        samples: vec![],
        problem: Some(
            "no engine endpoint for node wrk-01 (set docker.node_endpoint or docker.nodes)".into(),
        ),
    });
    let s = screen(&app, 200, 50);
    assert!(
        s.contains("usage: no engine endpoint for node wrk-01"),
        "{s}"
    );
}
