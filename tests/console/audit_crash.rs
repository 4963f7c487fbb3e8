//! Crash recovery of the audit log, end to end: a console killed (SIGKILL) between an action's
//! intent and its outcome gets an `abandoned` outcome written by the next console to start; a
//! console that is still alive keeps its in-flight intent open whoever else starts, and writes
//! its own `abandoned` outcome when it quits with the action still running.

use std::time::Instant;

use serde_json::Value;

use crate::pty::*;

fn demo_args(world: &World) -> Vec<String> {
    vec![
        "--demo".into(),
        "--config".into(),
        world
            .config_path()
            .to_str()
            .expect("temp paths are UTF-8")
            .into(),
    ]
}

fn spawn_demo(world: &World) -> Session {
    let args = demo_args(world);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Session::spawn(world, &args);
    s.wait_for("the demo overview", |t| {
        t.contains("DEMO") && t.contains("Quorum")
    });
    s
}

/// Nodes pane, `wrk-01` selected through the filter, drain confirmed: returns when the intent
/// is on disk (and its line).
fn start_drain_of_wrk01(s: &mut Session, world: &World) -> String {
    s.send("2");
    s.wait_for("the nodes pane", |t| {
        t.contains("mgr-1") && t.contains("wrk-01")
    });
    s.send("/wrk-01");
    s.wait_text("/wrk-01▏");
    s.send(ENTER);
    s.wait_for("the filter line to close", |t| !t.contains("/wrk-01▏"));
    s.send("d");
    s.wait_for("the drain confirmation, Cancel focused", |t| {
        t.contains("Confirm: drain wrk-01 on demo") && t.contains("[› Cancel ‹]")
    });
    assert!(
        audit_lines(&world.audit_path()).is_empty(),
        "nothing is audited before confirmation"
    );
    s.send(TAB);
    s.wait_for("focus off Cancel", |t| t.contains("[  Cancel  ]"));
    s.send(ENTER);
    let lines = wait_audit_lines(&world.audit_path(), 1);
    assert_eq!(lines.len(), 1, "audit log:\n{}", lines.join("\n"));
    let intent = parse(&lines[0]);
    assert_eq!(intent["phase"], "intent", "{intent}");
    assert_eq!(intent["verb"], "drain", "{intent}");
    assert_eq!(intent["target"], "wrk-01", "{intent}");
    lines[0].clone()
}

fn op_id(rec: &Value) -> &str {
    rec["op_id"].as_str().expect("op_id is a string")
}

fn assert_verifies(world: &World, records: usize) {
    let (code, out) = verify(world, &world.audit_path());
    assert_eq!(code, Some(0), "audit verify failed:\n{out}");
    assert!(
        out.contains(&format!("ok: {records} records")),
        "audit verify output:\n{out}"
    );
}

#[test]
fn console_killed_mid_action_is_recorded_as_abandoned_at_next_start() {
    let t0 = Instant::now();
    let world = World::new();
    let audit = world.audit_path();

    let mut first = spawn_demo(&world);
    let pid = first.pid();
    let intent_line = start_drain_of_wrk01(&mut first, &world);
    // The drain takes seconds; kill at once, between intent and outcome.
    first.kill9();
    let lines = audit_lines(&audit);
    assert_eq!(
        lines,
        vec![intent_line.clone()],
        "a killed console leaves exactly its intent"
    );
    let intent = parse(&intent_line);
    assert!(
        op_id(&intent).contains(&format!("-{pid}-")),
        "the op id names the console's pid {pid}: {intent}"
    );

    // The next console closes the books at start and says so.
    let mut second = spawn_demo(&world);
    second.wait_text("recorded as abandoned");
    second.send("q");
    assert_eq!(second.wait_exit(), 0, "exit status after q");
    second.assert_terminal_restored();

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2, "audit log:\n{}", lines.join("\n"));
    assert_eq!(lines[0], intent_line, "the intent is untouched");
    let outcome = parse(&lines[1]);
    assert_eq!(outcome["phase"], "outcome", "{outcome}");
    assert_eq!(outcome["result"], "abandoned", "{outcome}");
    assert_eq!(op_id(&outcome), op_id(&intent), "same operation");
    for field in ["verb", "target", "context", "cli", "params"] {
        assert_eq!(outcome[field], intent[field], "{field} of {outcome}");
    }
    let message = outcome["message"].as_str().expect("a message");
    assert!(
        message.contains(&format!("pid {pid}")),
        "the message names the dead console's pid {pid}: {message}"
    );
    assert!(outcome["duration_ms"].as_u64().is_some(), "{outcome}");
    assert_eq!(outcome["seq"], 2, "{outcome}");
    assert_verifies(&world, 2);

    // A third start finds nothing left to close.
    let mut third = spawn_demo(&world);
    let screen = third.screen_text();
    assert!(
        !screen.contains("recorded as abandoned"),
        "an already closed intent is closed again:\n{screen}"
    );
    third.send("q");
    assert_eq!(third.wait_exit(), 0, "exit status after q");
    assert_eq!(audit_lines(&audit).len(), 2);
    eprintln!("crash recovery test took {:?}", t0.elapsed());
}

#[test]
fn live_console_keeps_its_intent_open_and_abandons_it_itself_on_quit() {
    let t0 = Instant::now();
    let world = World::new();
    let audit = world.audit_path();

    let mut a = spawn_demo(&world);
    let intent_line = start_drain_of_wrk01(&mut a, &world);
    let intent = parse(&intent_line);
    let released = Instant::now();

    // Another console starts and quits while A's drain is running: A is alive, so its
    // intent is not someone else's to close.
    let mut b = spawn_demo(&world);
    let screen = b.screen_text();
    assert!(
        !screen.contains("recorded as abandoned"),
        "B closed the intent of a live console:\n{screen}"
    );
    b.send("q");
    assert_eq!(b.wait_exit(), 0, "exit status of B after q");
    let lines = audit_lines(&audit);
    assert_eq!(
        lines,
        vec![intent_line.clone()],
        "B wrote nothing for the live console's operation"
    );
    assert!(a.is_running(), "A is still running");

    // A quits with the drain in flight: it asks first (Cancel by default), then records the
    // operation as abandoned itself.
    a.send("q");
    let screen = a.wait_for("the quit question", |t| {
        t.contains("Quit?") || t.contains("drained")
    });
    assert!(
        screen.contains("Quit?") && screen.contains("[› Cancel ‹]"),
        "the drain ended before A quit ({:?} after release); the test needs it in flight:\n{screen}",
        released.elapsed()
    );
    a.send(TAB);
    a.wait_for("focus on Quit", |t| t.contains("[› Quit ‹]"));
    a.send(ENTER);
    assert_eq!(a.wait_exit(), 0, "exit status of A after quitting");
    a.assert_terminal_restored();

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 2, "audit log:\n{}", lines.join("\n"));
    assert_eq!(lines[0], intent_line);
    let outcome = parse(&lines[1]);
    assert_eq!(outcome["phase"], "outcome", "{outcome}");
    assert_eq!(outcome["result"], "abandoned", "{outcome}");
    assert_eq!(op_id(&outcome), op_id(&intent), "same operation");
    let message = outcome["message"].as_str().expect("a message");
    assert!(
        message.contains("the console quit while the action was in flight"),
        "{message}"
    );
    assert_verifies(&world, 2);
    eprintln!("live console test took {:?}", t0.elapsed());
}
