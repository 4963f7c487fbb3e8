//! Stacks and pipeline hooks decided in the app, without a terminal or an engine: the Stacks
//! view from the store and its drill into the services, a hook's parameters prompted one by
//! one (checked, a secret hidden), its output in the view, both audit records with the secret
//! redacted.

use std::collections::BTreeMap;

use clusterdeck::app::{InputKind, Modal, PromptKind};
use clusterdeck::config::pipelines::{HookConfig, ParamConfig};
use clusterdeck::input::Action;
use clusterdeck::ui::Pane;

use crate::support::*;

#[test]
fn the_stacks_view_sums_each_stack_and_drills_into_its_services() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = live_app(&dir.path().join("audit.jsonl"));
    load(&mut app, &demo_sim());
    app.dispatch(Action::Stacks);
    assert!(matches!(app.ui.modal, Some(Modal::Stacks { selected: 0 })));
    let rows = app.stacks();
    let cluster = app.cluster().expect("a cluster");
    let shop: Vec<_> = cluster
        .workloads
        .values()
        .filter(|w| w.stack.as_deref() == Some("shop"))
        .collect();
    let row = rows
        .iter()
        .find(|r| r.name == "shop")
        .expect("the shop stack");
    assert_eq!(row.services, shop.len());
    assert_eq!(row.desired, shop.iter().map(|w| w.desired).sum::<u32>());
    assert_eq!(row.running, shop.iter().map(|w| w.running).sum::<u32>());
    let at = rows.iter().position(|r| r.name == "shop").expect("listed");
    for _ in 0..at {
        app.dispatch(Action::Down);
    }
    app.dispatch(Action::Drill);
    assert_eq!(app.ui.modal, None);
    assert_eq!(app.ui.pane, Pane::Services);
    assert_eq!(app.ui.filter(Pane::Services), "shop");
}

fn hooks() -> BTreeMap<String, HookConfig> {
    BTreeMap::from([(
        "release".to_string(),
        HookConfig {
            run: vec![
                "sh".into(),
                "-c".into(),
                "echo releasing $0 with ${{#1}} secret chars; echo done >&2".into(),
                "{version}".into(),
                "{token}".into(),
            ],
            params: vec![
                ParamConfig::Full {
                    name: "version".into(),
                    pattern: Some("[0-9.]{1,10}".into()),
                    secret: false,
                    default: None,
                },
                ParamConfig::Full {
                    name: "token".into(),
                    pattern: None,
                    secret: true,
                    default: None,
                },
            ],
            ..HookConfig::default()
        },
    )])
}

#[test]
fn a_hook_prompts_each_parameter_runs_and_is_audited_with_the_secret_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _enter = rt.enter();
    let mut app = live_app(&audit);
    load(&mut app, &demo_sim());
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    app.self_tx = Some(tx);
    app.pipelines.hooks = hooks();

    app.dispatch(Action::Hook);
    let input = app.ui.input.clone().expect("the command line");
    assert_eq!(input.kind, InputKind::Command);
    assert_eq!(input.text, "hook ");
    type_line(&mut app, "release");
    let prompt = |app: &clusterdeck::app::App| match app.ui.input.as_ref().map(|i| &i.kind) {
        Some(InputKind::Prompt(PromptKind::HookParam { param, secret, .. })) => {
            Some((param.clone(), *secret))
        }
        _ => None,
    };
    assert_eq!(prompt(&app), Some(("version".into(), false)));
    type_line(&mut app, "1.x");
    assert!(
        app.ui
            .input
            .as_ref()
            .and_then(|i| i.error.as_deref())
            .is_some_and(|e| e.contains("'x'")),
        "{:?}",
        app.ui.input
    );
    clear_line(&mut app);
    type_line(&mut app, "1.2");
    assert_eq!(prompt(&app), Some(("token".into(), true)));
    type_line(&mut app, "s3cret");
    assert_eq!(app.ui.input, None, "it runs");

    rt.block_on(async {
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while app.logs.ended.is_none() {
            let msg = tokio::time::timeout_at(until, rx.recv())
                .await
                .expect("the hook ends in time")
                .expect("a message");
            app.on_backend(msg);
        }
    });
    let lines: Vec<&str> = app.logs.visible();
    assert!(
        lines.contains(&"releasing 1.2 with 6 secret chars"),
        "{lines:?} {:?} {:?}",
        app.logs,
        app.ui.modal
    );
    assert!(lines.contains(&"done"), "stderr too: {lines:?}");
    assert_eq!(app.logs.ended.as_deref(), Some("done: exited 0"));
    // Closed, then shown again with `:output`.
    app.dispatch(Action::Back);
    assert_eq!(app.ui.modal, None);
    type_line(&mut app, ":output");
    assert!(matches!(app.ui.modal, Some(Modal::Logs)));
    assert!(app.logs.visible().contains(&"done"), "{:?}", app.logs);
    let recs = clusterdeck::ops::audit::AuditLog::new(&audit)
        .read_all()
        .expect("audit");
    let hook: Vec<_> = recs.iter().filter(|r| r.verb == "hook").collect();
    assert_eq!(hook.len(), 2);
    assert_eq!(hook[0].phase, "intent");
    assert_eq!(hook[0].params["version"], "1.2");
    assert_eq!(hook[0].params["token"], "***");
    assert_eq!(hook[1].result.as_deref(), Some("ok"));
    let text = std::fs::read_to_string(&audit).expect("audit text");
    assert!(
        !text.contains("s3cret"),
        "the secret never reaches the audit log"
    );
}

fn type_line(app: &mut clusterdeck::app::App, text: &str) {
    for c in text.chars() {
        app.on_key(key(c));
    }
    app.on_key(enter());
}

fn clear_line(app: &mut clusterdeck::app::App) {
    for _ in 0..20 {
        app.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Backspace,
        ));
    }
}

fn key(c: char) -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c))
}

fn enter() -> crossterm::event::KeyEvent {
    crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter)
}
