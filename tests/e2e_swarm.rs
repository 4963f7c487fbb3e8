//! End to end against the real swarm: the real binary in a pseudo-terminal drains a worker by
//! keys, the confirmation shows the plan, the tasks move (on screen and in the engine), and the
//! audit file holds the intent and the outcome.

#[path = "support/pty.rs"]
mod pty;
#[path = "swarm_support/mod.rs"]
mod swarm_support;

use pty::{Session, World, audit_lines, parse};
use swarm_support::*;

/// The nodes-table row of `host` (not the title, which may hold the filter text).
fn node_row<'a>(screen: &'a str, host: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.contains(host) && l.contains("worker"))
}

#[test]
fn drain_a_worker_by_keys() {
    create_service("t-e2e", 6, "1", &[]);
    let on_wrk1 = running_tasks("t-e2e")
        .iter()
        .filter(|t| t.1 == "wrk1")
        .count();
    assert!(on_wrk1 > 0, "tasks start on wrk1");
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n",
        hosts.join(", ")
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected") && t.contains("Quorum")
    });

    s.send("2");
    s.send("/wrk1\r");
    let screen = s.wait_secs("wrk1 with its tasks", 30, |t| {
        node_row(t, "wrk1").is_some_and(|l| l.contains("active"))
    });
    assert!(node_row(&screen, "wrk1").is_some());
    s.send("d");
    let plan = s.wait_text("Confirm: drain wrk1 on lab");
    assert!(plan.contains("tasks move off wrk1"), "{plan}");
    assert!(
        plan.contains("docker node update --availability drain wrk1"),
        "{plan}"
    );
    assert!(plan.contains("› Cancel ‹"), "Cancel is the default: {plan}");
    s.send("\t\r");

    // The tasks move: the node shows drain with no tasks, and the status reports the outcome.
    let done = s.wait_secs("the drain to settle", 180, |t| t.contains("✓ drain wrk1"));
    let row = s.wait_secs("wrk1 drained with 0 tasks", 30, |t| {
        node_row(t, "wrk1")
            .is_some_and(|l| l.contains("drain") && l.split_whitespace().any(|w| w == "0"))
    });
    assert!(done.contains("✓ drain wrk1"), "{row}");

    // The engine agrees.
    assert_eq!(
        docker(&[
            "node",
            "ps",
            "wrk1",
            "--filter",
            "desired-state=running",
            "-q"
        ])
        .trim(),
        ""
    );
    assert_eq!(
        docker(&[
            "node",
            "inspect",
            "wrk1",
            "--format",
            "{{.Spec.Availability}}"
        ])
        .trim(),
        "drain"
    );
    eventually(90, "6 tasks running elsewhere", || {
        (running_tasks("t-e2e").len() == 6).then_some(())
    });

    // The audit file: intent then ok outcome, same op.
    let lines = audit_lines(&world.audit_path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (intent, outcome) = (parse(&lines[0]), parse(&lines[1]));
    assert_eq!(intent["phase"], "intent");
    assert_eq!(intent["verb"], "drain");
    assert_eq!(intent["target"], "wrk1");
    assert_eq!(intent["context"], "lab");
    assert_eq!(outcome["phase"], "outcome");
    assert_eq!(outcome["result"], "ok");
    assert_eq!(outcome["op_id"], intent["op_id"]);

    // The deploy prompt offers the registry's tags; tab picks the next one.
    s.send("3");
    s.send("/t-e2e\r");
    s.send("i");
    s.wait_text("registry tags (tab): 1 2 3 broken");
    s.send("\t");
    s.wait_text(&format!("{}:2", repo()));
    s.send("\x1b");
    // Wait for the prompt to close: ESC and `q` in one read would be alt-q.
    s.wait_for("the prompt closed", |t| !t.contains("deploy to t-e2e"));

    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
    docker(&["node", "update", "--availability", "active", "wrk1"]);
    docker(&["service", "rm", "t-e2e"]);
}
