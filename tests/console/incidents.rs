//! Incident response in the console on the demo cluster: the strip and the pane, the jump to
//! the failing task's error, acks by keys (audited, in the timeline, on the wall), reasons on
//! confirmations.

use clusterdeck::app::Modal;
use clusterdeck::app::timeline::{Timeline, What, read_entries};
use clusterdeck::backends::BackendMsg;
use clusterdeck::model::{Change, ObjectKind, Replica, ServiceMode, SourceKind, TaskState};
use clusterdeck::ops::audit::AuditLog;
use clusterdeck::ui::Pane;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::support::*;

fn key(app: &mut clusterdeck::app::App, c: KeyCode) {
    app.on_key(KeyEvent::new(c, KeyModifiers::NONE));
}

fn typed(app: &mut clusterdeck::app::App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

const ERROR: &str = "starting container failed: exec: \"/nope\": stat /nope: no such file or directory (the whole of this long error must be readable)";

/// A live demo app (audit log and timeline in `dir`) with a service whose tasks keep failing.
fn crash_looping(dir: &std::path::Path) -> clusterdeck::app::App {
    let mut app = live_app(&dir.join("audit.jsonl"));
    app.timeline =
        Some(Timeline::open(dir.join("timeline.jsonl"), 3600, 1 << 20, None).expect("timeline"));
    load(&mut app, &demo_sim());
    let mut w = app.store.clusters[0]
        .workloads
        .values()
        .find(|w| w.mode == ServiceMode::Replicated)
        .expect("a replicated service")
        .clone();
    w.id = "sv-evil".into();
    w.name = "evil".into();
    w.desired = 1;
    w.running = 0;
    w.update = None;
    let mut changes = vec![Change::UpsertWorkload(w.clone())];
    for i in 0..3 {
        changes.push(Change::UpsertReplica(Replica {
            id: format!("task-evil-{i}"),
            kind: ObjectKind::Task,
            workload_id: w.id.clone(),
            slot: Some(1),
            node_id: None,
            desired: TaskState::Shutdown,
            state: TaskState::Failed,
            since: now() - chrono::Duration::seconds(30 - i * 10),
            error: Some(ERROR.into()),
            image: w.image.clone(),
            name: None,
            restarts: None,
            container: None,
        }));
    }
    app.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: now(),
        changes,
    });
    app.settle(now());
    app
}

#[test]
fn from_launch_to_the_failing_tasks_whole_error_in_one_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = crash_looping(dir.path());
    let s = screen(&app, 80, 24);
    let strip = s.lines().nth(1).expect("strip");
    assert!(strip.contains("CRASH LOOP evil"), "{s}");
    assert!(strip.contains("! jump"), "{strip}");
    // One key: the replicas pane, drilled into evil, its newest failed task selected, and the
    // whole error under the table (the column cuts it).
    key(&mut app, KeyCode::Char('!'));
    assert_eq!(app.ui.pane, Pane::Replicas);
    assert_eq!(
        app.selected_replica().map(|r| r.id.as_str()),
        Some("task-evil-2")
    );
    let s = screen(&app, 80, 24);
    let flat: String = s
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("must be readable"), "{s}");
    insta::assert_snapshot!("incident_jump_80x24", s);
}

#[test]
fn the_incidents_pane_lists_evidence_and_next_actions_and_an_ack_is_audited_and_shared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = crash_looping(dir.path());
    app.go_pane(Pane::Incidents);
    let s = screen(&app, 100, 30);
    // (Below desired too, once its grace period has passed.)
    assert!(s.contains("CRASH LOOP"), "{s}");
    assert!(
        s.contains("for 30s"),
        "since its oldest failure in the window: {s}"
    );
    assert!(s.contains("rollback u") && s.contains("logs L"), "{s}");
    assert!(s.contains("no such file or directory"), "{s}");
    // Ack with a note, by keys.
    key(&mut app, KeyCode::Char('A'));
    typed(&mut app, "rolling back, INC-7");
    key(&mut app, KeyCode::Enter);
    assert!(app.ui.input.is_none(), "{:?}", app.ui.input);
    let inc = &app.incidents.current[0];
    let ack = inc.ack().expect("acked");
    assert_eq!(ack.text, "rolling back, INC-7");
    // In the audit log: who, when, what.
    let recs = AuditLog::new(dir.path().join("audit.jsonl"))
        .read_all()
        .expect("audit");
    let rec = recs.iter().find(|r| r.verb == "ack").expect("ack record");
    assert_eq!(rec.phase, "note");
    assert_eq!(rec.target, inc.key());
    assert_eq!(rec.params["text"], "rolling back, INC-7");
    // In the timeline, where a wall (another process) reads it.
    let tl = read_entries(&dir.path().join("timeline.jsonl")).expect("timeline");
    assert!(
        tl.iter()
            .any(|e| e.what == What::Ack && e.who.as_deref() == Some(rec.user.as_str()))
    );
    assert!(tl.iter().any(|e| e.what == What::Opened));
    let mut wall_app = read_only_app();
    load(&mut wall_app, &demo_sim());
    wall_app.timeline = Some(
        Timeline::open(dir.path().join("timeline.jsonl"), 3600, 1 << 20, None).expect("timeline"),
    );
    let mut wall = clusterdeck::wall::Wall::new(
        wall_app,
        Vec::new(),
        None,
        std::time::Duration::from_secs(15),
        now(),
    );
    // The wall sees the same crash loop (its own store) and the ack from the shared timeline.
    wall.app.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: now(),
        changes: app.store.clusters[0]
            .replicas
            .values()
            .filter(|r| r.workload_id == "sv-evil")
            .cloned()
            .map(Change::UpsertReplica)
            .chain(
                app.store.clusters[0]
                    .workloads
                    .get("sv-evil")
                    .cloned()
                    .map(Change::UpsertWorkload),
            )
            .collect(),
    });
    wall.tick(now());
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("term");
    term.draw(|f| clusterdeck::ui::wall::draw(f, &wall, now()))
        .expect("draw");
    let s = text(term.backend().buffer());
    assert!(
        s.contains("acked by") && s.contains("rolling back, INC-7"),
        "{s}"
    );
}

#[test]
fn a_production_context_can_require_a_reason_and_the_intent_records_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = crash_looping(dir.path());
    app.store.clusters[0].production = true;
    app.reason_policy = clusterdeck::app::ReasonPolicy::Production;
    let web = app.store.clusters[0]
        .workloads
        .values()
        .find(|w| w.name == "web")
        .expect("web")
        .clone();
    let req = clusterdeck::ops::OpRequest::new(
        "demo",
        web.target(),
        clusterdeck::ops::Op::Scale {
            replicas: web.desired + 1,
        },
    );
    app.begin_op(req).expect("planned");
    // Confirm without a reason: refused in the modal, nothing written.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let Some(Modal::Confirm { error, .. }) = &app.ui.modal else {
        panic!("modal kept: {:?}", app.ui.modal)
    };
    assert!(
        error.as_deref().unwrap_or("").contains("reason"),
        "{error:?}"
    );
    assert!(
        !dir.path().join("audit.jsonl").exists()
            || AuditLog::new(dir.path().join("audit.jsonl"))
                .read_all()
                .expect("audit")
                .is_empty()
    );
    typed(&mut app, "INC-42 page from checkout");
    // Production asks for the target typed as well: ↓ to that field.
    let want = match &app.ui.modal {
        Some(Modal::Confirm { pending, .. }) => pending.plan().confirm_text.clone(),
        _ => None,
    };
    if let Some(text) = want {
        key(&mut app, KeyCode::Down);
        typed(&mut app, &text);
    }
    key(&mut app, KeyCode::Enter);
    let recs = AuditLog::new(dir.path().join("audit.jsonl"))
        .read_all()
        .expect("audit");
    let intent = recs.iter().find(|r| r.phase == "intent").expect("intent");
    assert_eq!(intent.params["reason"], "INC-42 page from checkout");
}

#[test]
fn a_new_critical_incident_rings_the_bell_once_unless_turned_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = crash_looping(dir.path());
    // The crash loop is a warning: no bell.
    assert!(!app.take_bell());
    let mut m = app.store.clusters[0]
        .nodes
        .values()
        .find(|n| n.hostname == "mgr-3")
        .expect("mgr-3")
        .clone();
    m.status = clusterdeck::model::NodeStatus::Down;
    app.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: now(),
        changes: vec![Change::UpsertNode(m.clone())],
    });
    app.settle(now());
    assert!(app.take_bell(), "NODE DOWN is critical");
    assert!(!app.take_bell(), "once");
    app.settle(now());
    assert!(!app.take_bell(), "not again while it lasts");
    // Off (the wall's default): never.
    let mut quiet = crash_looping(dir.path());
    quiet.bell_on_critical = false;
    quiet.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: now(),
        changes: vec![Change::UpsertNode(m)],
    });
    quiet.settle(now());
    assert!(!quiet.take_bell());
}

#[test]
fn a_restarted_console_shows_the_acks_of_incidents_still_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = crash_looping(dir.path());
    first.go_pane(Pane::Incidents);
    key(&mut first, KeyCode::Char('A'));
    typed(&mut first, "looking");
    key(&mut first, KeyCode::Enter);
    key(&mut first, KeyCode::Char('n'));
    typed(&mut first, "bad image in 1.8");
    key(&mut first, KeyCode::Enter);
    drop(first);
    // A new console on the same host: the timeline brings the ack and the note back.
    let mut second = crash_looping(dir.path());
    second.sync_timeline();
    second.settle(now());
    let inc = &second.incidents.current[0];
    assert_eq!(inc.ack().map(|a| a.text.as_str()), Some("looking"));
    assert!(
        inc.notes
            .iter()
            .any(|n| !n.ack && n.text == "bad image in 1.8")
    );
    let strip = screen(&second, 100, 30);
    assert!(
        strip.lines().nth(1).is_some_and(|l| l.contains("acked by")),
        "{strip}"
    );
}

#[test]
fn the_timeline_command_writes_the_postmortem() {
    let world = crate::pty::World::new();
    let path = world.path().join("timeline.jsonl");
    let mut tl = Timeline::open(&path, 3600, 1 << 20, None).expect("timeline");
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    for (i, (what, who, text)) in [
        (What::Opened, None, "NODE DOWN mgr3 (manager down)"),
        (What::Ack, Some("alice"), "restarting mgr3"),
        (What::Action, Some("alice"), "intent node activate mgr3"),
        (What::Resolved, None, "NODE DOWN resolved after 2m00s"),
    ]
    .into_iter()
    .enumerate()
    {
        tl.record(clusterdeck::app::timeline::Entry {
            at: at + chrono::Duration::seconds(i as i64 * 30),
            context: "prod".into(),
            what,
            who: who.map(str::to_string),
            incident: Some("prod/node-down".into()),
            object: "mgr3".into(),
            text: text.into(),
        });
    }
    tl.flush().expect("written");
    let out = world.run(&["timeline", "--since", "1h", "--in", "prod"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{md}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| 20")).collect();
    assert_eq!(rows.len(), 4, "{md}");
    assert!(
        rows[0].contains("opened") && rows[1].contains("| ack | alice |"),
        "{md}"
    );
    assert!(rows[3].contains("resolved after 2m00s"), "{md}");
    let out = world.run(&["timeline", "--since", "1h", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(4));
    let out = world.run(&["timeline", "--since", "2x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
}

#[test]
fn a_failing_notification_hook_is_said_in_the_header() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _e = rt.enter();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = live_app(&dir.path().join("audit.jsonl"));
    app.notifier =
        clusterdeck::app::notify::Notifier::spawn(clusterdeck::app::notify::NotifyConfig {
            on: vec!["new".into()],
            command: vec!["sh".into(), "-c".into(), "exit 7".into()],
            ..Default::default()
        });
    load(&mut app, &demo_sim());
    let mut m = app.store.clusters[0]
        .nodes
        .values()
        .find(|n| n.hostname == "mgr-3")
        .expect("mgr-3")
        .clone();
    m.status = clusterdeck::model::NodeStatus::Down;
    event(&mut app, Change::UpsertNode(m));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.notifier.as_ref().and_then(|n| n.failure()).is_none() {
        assert!(std::time::Instant::now() < until, "no failure reported");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let s = screen(&app, 200, 40);
    let header = s.lines().next().unwrap_or_default();
    assert!(
        header.contains("notify command: sh: exit status: 7"),
        "{header}"
    );
}

#[test]
fn a_second_console_does_not_record_notify_or_ring_again_for_an_incident_already_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("timeline.jsonl");
    let opened = |path: &std::path::Path| {
        read_entries(path)
            .expect("timeline")
            .iter()
            .filter(|e| e.what == What::Opened)
            .count()
    };
    let mut first = crash_looping(dir.path());
    first.sync_timeline();
    let once = opened(&path);
    assert!(once >= 1, "the first console records it");
    // A second console on the host, started while it is open.
    let mut second = live_app(&dir.path().join("audit.jsonl"));
    second.timeline = Some(Timeline::open(&path, 3600, 1 << 20, None).expect("timeline"));
    second.sync_timeline();
    load(&mut second, &demo_sim());
    let evil = first.store.clusters[0]
        .workloads
        .get("sv-evil")
        .cloned()
        .expect("evil");
    let tasks: Vec<Change> = first.store.clusters[0]
        .replicas
        .values()
        .filter(|r| r.workload_id == "sv-evil")
        .cloned()
        .map(Change::UpsertReplica)
        .collect();
    second.on_backend(BackendMsg::Changes {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        at: now(),
        changes: std::iter::once(Change::UpsertWorkload(evil))
            .chain(tasks)
            .collect(),
    });
    second.settle(now());
    second.sync_timeline();
    assert!(!second.incidents.current.is_empty(), "it sees the incident");
    assert_eq!(
        opened(&path),
        once,
        "not recorded again: {:#?}",
        read_entries(&path).expect("timeline")
    );
}
