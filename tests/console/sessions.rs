//! Sessions (`x`) decided in the app, without a terminal: what runs for a node and an instance,
//! production's typed name, the audit records around a session, and none in read-only mode.

use std::time::Duration;

use clusterdeck::app::{InputKind, PromptKind};
use clusterdeck::input::Action;
use clusterdeck::ui::Pane;

use crate::support::*;

fn app_in(dir: &tempfile::TempDir) -> clusterdeck::app::App {
    let mut app = live_app(&dir.path().join("audit.jsonl"));
    load(&mut app, &demo_sim());
    app.sessions.ssh.config = Some("/etc/cd/ssh_config".into());
    app.sessions.ssh.user = Some("ops".into());
    app
}

#[test]
fn ssh_to_a_node_runs_the_users_ssh_with_the_configured_options_and_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_in(&dir);
    app.go_pane(Pane::Nodes);
    let node = app.selected_node().cloned().expect("a node");
    app.dispatch(Action::Shell);
    let argv = app
        .take_session()
        .expect("a session at once (not production)");
    assert_eq!(
        argv,
        vec![
            "ssh",
            "-F",
            "/etc/cd/ssh_config",
            "-l",
            "ops",
            "--",
            node.addr.as_str()
        ]
    );
    assert_eq!(app.take_session(), None, "handed over once");
    app.session_ended(Ok(0), Duration::from_secs(3));
    let recs = clusterdeck::ops::audit::AuditLog::new(dir.path().join("audit.jsonl"))
        .read_all()
        .expect("audit");
    let phases: Vec<(&str, &str, Option<&str>)> = recs
        .iter()
        .map(|r| (r.phase.as_str(), r.verb.as_str(), r.result.as_deref()))
        .collect();
    assert_eq!(
        phases,
        vec![("intent", "ssh", None), ("outcome", "ssh", Some("ok"))]
    );
    assert_eq!(recs[1].duration_ms, Some(3000));
    assert_eq!(
        recs[0].object.as_ref().map(|o| o.id.as_str()),
        Some(node.id.as_str())
    );
}

#[test]
fn an_instance_by_its_private_or_public_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_in(&dir);
    app.go_pane(Pane::Instances);
    let i = app.selected_instance().cloned().expect("an instance");
    app.dispatch(Action::Shell);
    let argv = app.take_session().expect("a session");
    assert_eq!(argv.last().map(String::as_str), i.private_ip.as_deref());
    app.session_ended(Ok(0), Duration::ZERO);
    app.sessions.ssh.instance_address = "public".into();
    app.dispatch(Action::Shell);
    match (i.public_ip.as_deref(), app.take_session()) {
        (Some(ip), Some(argv)) => assert_eq!(argv.last().map(String::as_str), Some(ip)),
        (None, None) => {}
        (ip, s) => panic!("public ip {ip:?}, session {s:?}"),
    }
}

#[test]
fn production_asks_for_the_targets_name_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = app_in(&dir);
    let name = app.cluster_name();
    app.store.cluster_mut(&name).production = true;
    app.go_pane(Pane::Nodes);
    let node = app.selected_node().cloned().expect("a node");
    app.dispatch(Action::Shell);
    assert_eq!(app.take_session(), None, "nothing before the name is typed");
    let input = app.ui.input.clone().expect("a prompt");
    assert!(matches!(
        input.kind,
        InputKind::Prompt(PromptKind::Session {
            production: true,
            ..
        })
    ));
    let s = match &input.kind {
        InputKind::Prompt(PromptKind::Session { session, .. }) => session.clone(),
        _ => unreachable!(),
    };
    let err = app
        .submit_session(&s, true, "not-it")
        .expect_err("wrong name");
    assert!(err.contains(&node.hostname), "{err}");
    app.submit_session(&s, true, &node.hostname)
        .expect("right name");
    assert!(app.take_session().is_some());
}

#[test]
fn read_only_mode_opens_none() {
    let mut app = read_only_app();
    load(&mut app, &demo_sim());
    app.go_pane(Pane::Nodes);
    app.dispatch(Action::Shell);
    assert_eq!(app.take_session(), None);
}
