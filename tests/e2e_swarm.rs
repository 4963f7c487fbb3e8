//! End to end against the real swarm: the real binary in a pseudo-terminal drains a worker by
//! keys, the confirmation shows the plan, the tasks move (on screen and in the engine), and the
//! audit file holds the intent and the outcome.

#[path = "support/pty.rs"]
mod pty;
#[path = "swarm_support/mod.rs"]
mod swarm_support;

use std::sync::Mutex;

use pty::{Session, World, audit_lines, parse};
use swarm_support::*;

/// Both tests drain a worker: one at a time.
static DRAINS: Mutex<()> = Mutex::new(());

fn drains() -> std::sync::MutexGuard<'static, ()> {
    DRAINS.lock().unwrap_or_else(|p| p.into_inner())
}

/// A console on the test swarm (every manager an endpoint).
fn lab() -> World {
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n",
        hosts.join(", ")
    ))
}

/// The nodes-table row of `host` (not the title, which may hold the filter text).
fn node_row<'a>(screen: &'a str, host: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.contains(host) && l.contains("worker"))
}

#[test]
fn drain_a_worker_by_keys() {
    let _g = drains();
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

/// Puts wrk2 back and ends `t-hup`, whose tasks ignore SIGTERM: their containers are killed
/// on each worker's engine rather than left to stop for 30 s under the next test.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = try_docker(&["service", "rm", "t-hup"]);
        for n in 4..=5 {
            let host = env(&format!("CD_SWARM_N{n}_SOCK"));
            let ids = std::process::Command::new("docker")
                .args(["-H", &host, "ps", "-q", "--filter"])
                .arg("label=com.docker.swarm.service.name=t-hup")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for id in ids.split_whitespace() {
                let _ = std::process::Command::new("docker")
                    .args(["-H", &host, "kill", id])
                    .output();
            }
        }
        let _ = try_docker(&["node", "update", "--availability", "active", "wrk2"]);
    }
}

/// The operator's SSH session drops while a drain is moving tasks: the console records the
/// drain's outcome as `unknown` with how far it had got, and the next console on that audit
/// log shows it under "Unsettled" with what the engine shows of wrk2 now.
#[test]
fn a_hang_up_in_the_middle_of_a_drain_leaves_an_unknown_outcome_the_next_console_shows() {
    let _g = drains();
    let _restore = Restore;
    let _ = try_docker(&["service", "rm", "t-hup"]);
    // Tasks that ignore SIGTERM and get 30 s to stop: the drain takes that long.
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "t-hup",
        "--replicas",
        "4",
        "--constraint",
        "node.role==worker",
        "--stop-grace-period",
        "30s",
        &format!("{}:1", repo()),
        "sh",
        "-c",
        "trap '' TERM; while :; do sleep 1; done",
    ]);
    eventually(90, "t-hup: 4 running", || {
        (running_tasks("t-hup").len() == 4).then_some(())
    });
    assert!(
        running_tasks("t-hup").iter().any(|t| t.1 == "wrk2"),
        "some tasks start on wrk2"
    );
    let world = lab();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected") && t.contains("Quorum")
    });
    s.send("2");
    s.send("/wrk2\r");
    s.wait_secs("wrk2", 30, |t| {
        node_row(t, "wrk2").is_some_and(|l| l.contains("active"))
    });
    s.send("d");
    s.wait_text("Confirm: drain wrk2 on lab");
    s.send("\t\r");
    // The first progress report: tasks still stopping on the node (they ignore SIGTERM and
    // have 30 s to stop, so the drain is still running).
    s.send("1");
    s.wait_secs("the drain in progress", 20, |t| {
        t.contains("◌ drain wrk2") && t.contains("still on the node")
    });

    s.hang_up();
    s.wait_exit();
    let lines = audit_lines(&world.audit_path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (intent, outcome) = (parse(&lines[0]), parse(&lines[1]));
    assert_eq!(outcome["op_id"], intent["op_id"]);
    assert_eq!(outcome["result"], "unknown", "{outcome}");
    let msg = outcome["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("console ended (SIGHUP) while ") && msg.contains("still on the node"),
        "{msg}"
    );

    // The next console shows it, with wrk2 as the engine has it now.
    let mut next = Session::spawn(&world, &[]);
    next.resize(50, 120);
    let screen = next.wait_secs("the unsettled drain", 60, |t| {
        t.contains("Unsettled") && t.contains("now: wrk2 worker, drain")
    });
    assert!(screen.contains("? drain wrk2"), "{screen}");
    next.send("q");
    assert_eq!(next.wait_exit(), 0);
    next.assert_terminal_restored();
}

/// A docker context made with the docker CLI, carrying its own TLS material (the engine's
/// TLS listener requires a client certificate): the console connects through it as the CLI
/// does. A context whose CA did not sign the engine's certificate is refused, saying so.
#[test]
fn a_docker_context_with_its_own_tls_material_connects_and_a_wrong_ca_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("docker");
    let tls = env("CD_SWARM_TLS_DIR");
    let context = |name: &str, ca: &str| {
        let out = std::process::Command::new("docker")
            .arg("--config")
            .arg(&cfg)
            .args(["context", "create", name, "--docker"])
            .arg(format!(
                "host={},ca={ca},cert={tls}/cert.pem,key={tls}/key.pem",
                env("CD_SWARM_N1_TLS_URL")
            ))
            .output()
            .expect("docker context create");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    context("lab-tls", &format!("{tls}/ca.pem"));
    context("lab-badca", &env("CD_SWARM_OTHER_CA"));
    let world = World::new();
    let spawn = |name: &str| {
        Session::spawn_with_env(
            &world,
            &[],
            &[
                ("DOCKER_CONFIG", Some(cfg.as_os_str())),
                ("DOCKER_CONTEXT", Some(std::ffi::OsStr::new(name))),
                ("DOCKER_HOST", None),
                ("DOCKER_CERT_PATH", None),
                ("DOCKER_TLS_VERIFY", None),
            ],
        )
    };
    let mut s = spawn("lab-tls");
    s.wait_secs("connected over TLS", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("2");
    s.wait_secs("the nodes", 30, |t| {
        t.contains("mgr1") && t.contains("wrk2")
    });
    s.send("q");
    assert_eq!(s.wait_exit(), 0);

    let mut bad = spawn("lab-badca");
    bad.resize(40, 250);
    let screen = bad.wait_secs("the reason", 60, |t| t.contains("not signed by the CA"));
    assert!(!screen.contains("swarm ● connected"), "{screen}");
    bad.send("q");
    assert_eq!(bad.wait_exit(), 0);
}

/// A deploy whose tasks cannot start: from launch, the failing task's error on screen in at most
/// three keys (`!` jumps to the next problem, worst first); the next safe action offered
/// (rollback `u`) by keys; the incident resolved, with how long it lasted.
#[test]
fn a_crash_looping_service_is_at_most_three_keys_from_its_error_and_a_rollback_resolves_it() {
    create_service("t-crash", 1, "1", &["--restart-delay", "1s"]);
    docker(&[
        "service",
        "update",
        "--detach",
        "--entrypoint",
        "/nope",
        "t-crash",
    ]);
    let world = lab();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the crash loop on the strip", 120, |t| {
        t.contains("CRASH LOOP") && t.contains("t-crash")
    });
    let at_error = |t: &str| t.contains("Replicas of t-crash") && t.contains("stat /nope");
    let mut screen = None;
    for _ in 0..3 {
        s.send("!");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while screen.is_none() && std::time::Instant::now() < until {
            let t = s.screen_text();
            if at_error(&t) {
                screen = Some(t);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if screen.is_some() {
            break;
        }
    }
    let screen = screen
        .unwrap_or_else(|| panic!("not at t-crash's error after 3 keys:\n{}", s.screen_text()));
    // The whole error, in the box under the table (the column cuts it).
    assert!(screen.contains("error"), "{screen}");
    // The incident offers the rollback: `u` on the selected task's service, confirmed.
    s.send("9");
    s.wait_secs("the incident's next actions", 10, |t| {
        t.contains("rollback u") && t.contains("logs L")
    });
    s.send("!");
    s.wait_secs("back at the task", 10, |t| {
        t.contains("Replicas of t-crash")
    });
    s.send("u");
    s.wait_secs("the rollback plan", 10, |t| {
        t.contains("Confirm") && t.contains("t-crash")
    });
    s.send("\t\r");
    eventually(120, "t-crash running again", || {
        (running_tasks("t-crash").len() == 1).then_some(())
    });
    s.send("9");
    let t = s.wait_secs("the crash loop resolved", 90, |t| {
        t.lines()
            .any(|l| l.contains("✓") && l.contains("CRASH LOOP") && l.contains("resolved"))
    });
    assert!(!t.contains("▲  CRASH LOOP"), "{t}");
    s.send("q");
    // The rollback may still be followed to its end: quitting then asks first.
    std::thread::sleep(std::time::Duration::from_millis(500));
    if s.screen_text().contains("Quit?") {
        s.send("\t\r");
    }
    s.wait_exit();
    let audit = std::fs::read_to_string(world.audit_path()).unwrap_or_default();
    assert!(
        audit.contains("\"verb\":\"rollback\"") && audit.contains("t-crash"),
        "{audit}"
    );
    docker(&["service", "rm", "t-crash"]);
}

/// The describe view by keys: YAML with the summary, secrets hidden, JSON on `J`, written to
/// a file with `w`; a hostile label (a terminal title sequence) never reaches the terminal raw.
#[test]
fn a_service_is_described_by_keys_with_secrets_hidden_and_written_to_a_file() {
    create_service(
        "t-desc",
        1,
        "1",
        &[
            "--env",
            "DB_PASSWORD=hunter2",
            "--label",
            "note=\u{1b}]0;pwned\u{7}\u{202e}gnp.exe",
        ],
    );
    let world = lab();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("3");
    s.send("/t-desc\r");
    s.wait_secs("the service listed", 30, |t| t.contains("t-desc"));
    s.send("y");
    let t = s.wait_secs("the service in YAML", 30, |t| {
        t.contains("service t-desc") && t.contains("YAML") && t.contains("replicated, 1 replicas")
    });
    assert!(t.contains("Name: t-desc"), "{t}");
    s.send("/DB_PASS\r");
    let t = s.wait_secs("the env line found", 10, |t| {
        t.contains("DB_PASSWORD=[redacted]")
    });
    assert!(!t.contains("hunter2"), "{t}");
    s.send("/\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\r");
    s.send("J");
    s.wait_secs("the service in JSON", 10, |t| {
        t.contains("· JSON ·") && t.contains("\"CreatedAt\":")
    });
    s.send("w");
    let t = s.wait_secs("written", 10, |t| t.contains("written to"));
    let saved = std::fs::read_dir(world.path())
        .expect("world dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("clusterdeck-service-") && n.ends_with(".json"))
        })
        .unwrap_or_else(|| panic!("a saved file:\n{t}"));
    let text = std::fs::read_to_string(&saved).expect("saved");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["Spec"]["Name"], "t-desc");
    assert!(!text.contains("hunter2"));
    // (An escape followed at once by a key reads as alt-key.)
    s.send("\u{1b}");
    s.wait_secs("the view closed", 10, |t| !t.contains("J YAML"));
    s.send("q");
    s.wait_exit();
    let raw = s.raw_output();
    assert!(
        !raw.windows(6).any(|w| w == b"\x1b]0;pw"),
        "the label's escape sequence reached the terminal"
    );
    assert!(
        !String::from_utf8_lossy(&raw).contains('\u{202e}'),
        "a bidi override reached the terminal"
    );
    docker(&["service", "rm", "t-desc"]);
}

/// A task that printed a line and exited with code 3: its logs, and how it ended, after it
/// ended; the view written to a file.
#[test]
fn an_exited_tasks_logs_are_shown_with_its_exit_and_written_to_a_file() {
    let _ = try_docker(&["service", "rm", "t-exit"]);
    let image = format!("{}:1", repo());
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "t-exit",
        "--restart-condition",
        "none",
        &image,
        "sh",
        "-c",
        // Hostile output too: a terminal-title sequence, a bidi override, a zero-width space.
        "printf 'last words before exit \\033]0;pwned\\007 \\342\\200\\256rev \\342\\200\\213zw\\n'; exit 3",
    ]);
    eventually(60, "t-exit's task failed", || {
        let out = try_docker(&[
            "service",
            "ps",
            "t-exit",
            "--no-trunc",
            "--format",
            "{{.CurrentState}} {{.Error}}",
        ])?;
        out.contains("exit (3)").then_some(())
    });
    let world = lab();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("4");
    s.send("/t-exit\r");
    s.wait_secs("the failed task", 30, |t| {
        t.contains("t-exit.1") && t.contains("failed")
    });
    s.send("L");
    let t = s.wait_secs("its logs and its exit", 30, |t| {
        t.contains("last words before exit") && t.contains("exit (3)")
    });
    assert!(t.contains("Logs · task"), "{t}");
    s.send("w");
    s.wait_secs("written", 10, |t| t.contains("written to"));
    let saved = std::fs::read_dir(world.path())
        .expect("world dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("clusterdeck-logs-"))
        })
        .expect("a saved log");
    let text = std::fs::read_to_string(saved).expect("saved");
    assert!(text.contains("last words before exit"), "{text}");
    s.send("\u{1b}");
    s.wait_secs("the view closed", 10, |t| !t.contains("Logs · task"));
    s.send("q");
    s.wait_exit();
    let raw = s.raw_output();
    assert!(
        !raw.windows(6).any(|w| w == b"\x1b]0;pw"),
        "the output's escape sequence reached the terminal"
    );
    let shown = String::from_utf8_lossy(&raw);
    assert!(
        !shown.contains('\u{202e}') && !shown.contains('\u{200b}'),
        "bidi or zero-width reached the terminal"
    );
    docker(&["service", "rm", "t-exit"]);
}

/// A console whose ssh uses the test command's config (keys, known hosts), never ~/.ssh.
fn lab_with_ssh() -> World {
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n[ssh]\nconfig = \"{}\"\n",
        hosts.join(", "),
        env("CD_SSH_CONFIG")
    ))
}

/// The audit records of sessions: (phase, verb, result).
fn session_records(world: &World) -> Vec<(String, String, Option<String>)> {
    audit_lines(&world.audit_path())
        .iter()
        .map(|l| parse(l))
        .filter(|r| r["verb"] == "exec" || r["verb"] == "ssh")
        .map(|r| {
            (
                r["phase"].as_str().unwrap_or_default().to_string(),
                r["verb"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_shell_in_a_task_on_a_worker_and_back_to_the_same_pane_with_both_records() {
    let _ = try_docker(&["service", "rm", "t-shell"]);
    create_service(
        "t-shell",
        1,
        "1",
        &[
            "--hostname",
            "t-shell-box",
            "--constraint",
            "node.role==worker",
        ],
    );
    let world = lab_with_ssh();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("4");
    s.send("/t-shell\r");
    s.wait_secs("the task", 30, |t| {
        t.contains("t-shell.1") && t.contains("running")
    });
    s.send("x");
    s.wait_secs("the command prompt", 10, |t| {
        t.contains("shell in t-shell.1 (audited) · command: sh")
    });
    s.send("\r");
    // The container's shell, on the worker's engine (ssh to the worker, docker exec there).
    s.wait_secs("a shell prompt", 30, |t| {
        t.contains("# ") || t.contains("$ ")
    });
    s.send("hostname\r");
    s.wait_secs("the container's hostname", 20, |t| {
        t.contains("t-shell-box")
    });
    s.send("exit\r");
    let t = s.wait_secs("the console again, on the same pane", 20, |t| {
        t.contains("t-shell.1") && t.contains("ended (exit 0")
    });
    assert!(t.contains("[4 Replicas]"), "{t}");
    let recs = session_records(&world);
    assert_eq!(
        recs,
        vec![
            ("intent".into(), "exec".into(), None),
            ("outcome".into(), "exec".into(), Some("ok".into())),
        ],
        "{recs:?}"
    );
    s.send("q");
    s.wait_exit();
    s.assert_terminal_restored();
    docker(&["service", "rm", "t-shell"]);
}

#[test]
fn ssh_to_a_node_and_back_also_when_the_session_is_killed() {
    let world = lab_with_ssh();
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("2");
    s.send("/wrk1\r");
    s.wait_secs("wrk1", 30, |t| node_row(t, "wrk1").is_some());
    s.send("x");
    // The node's own sshd (its session's DOCKER_HOST names that node's engine).
    s.wait_secs("a shell prompt", 30, |t| {
        t.contains("# ") || t.contains("$ ")
    });
    s.send("echo \"on=$DOCKER_HOST\"\r");
    s.wait_secs("the node's session", 20, |t| {
        t.contains("on=unix://") && t.contains("/n4/sock")
    });
    s.send("exit\r");
    s.wait_secs("the console again", 20, |t| {
        t.contains("ssh 10.99.4.2 ended (exit 0")
    });
    // Again, and this time the ssh process is killed under the console.
    s.send("x");
    s.wait_secs("a shell prompt", 30, |t| {
        t.contains("# ") || t.contains("$ ")
    });
    let console = s.pid().to_string();
    let out = std::process::Command::new("pgrep")
        .args(["-P", &console, "-x", "ssh"])
        .output()
        .expect("pgrep");
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!pid.is_empty(), "the console's ssh child");
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    let t = s.wait_secs("the console again", 20, |t| {
        t.contains("ended: ssh was ended by a signal")
    });
    assert!(t.contains("wrk1"), "{t}");
    let recs = session_records(&world);
    assert_eq!(recs.len(), 4, "{recs:?}");
    assert_eq!(recs[3].2.as_deref(), Some("failed"), "{recs:?}");
    s.send("q");
    s.wait_exit();
    s.assert_terminal_restored();
}

/// The same through the node's own engine endpoint (`docker.node_endpoint`, TLS from the
/// environment as the docker CLI reads it): `docker -H tcp://<worker>:2376 exec -it …`.
#[test]
fn a_shell_in_a_task_through_the_nodes_engine_endpoint() {
    let _ = try_docker(&["service", "rm", "t-shell2"]);
    create_service(
        "t-shell2",
        1,
        "1",
        &[
            "--hostname",
            "t-shell2-box",
            "--constraint",
            "node.role==worker",
        ],
    );
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}], node_endpoint = \"tcp://{{addr}}:2376\" }}\n",
        hosts.join(", ")
    ));
    let tls = env("CD_SWARM_TLS_DIR");
    let mut s = Session::spawn_with_env(
        &world,
        &[],
        &[
            ("DOCKER_CERT_PATH", Some(std::ffi::OsStr::new(tls.as_str()))),
            ("DOCKER_TLS_VERIFY", Some(std::ffi::OsStr::new("1"))),
        ],
    );
    s.wait_secs("the swarm connected", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("4");
    s.send("/t-shell2\r");
    s.wait_secs("the task", 30, |t| {
        t.contains("t-shell2.1") && t.contains("running")
    });
    s.send("x");
    s.wait_secs("the command prompt", 10, |t| t.contains("command: sh"));
    s.send("\r");
    s.wait_secs("a shell prompt", 30, |t| {
        t.contains("# ") || t.contains("$ ")
    });
    s.send("hostname\r");
    s.wait_secs("the container's hostname", 20, |t| {
        t.contains("t-shell2-box")
    });
    s.send("exit\r");
    s.wait_secs("the console again", 20, |t| {
        t.contains("t-shell2.1") && t.contains("ended (exit 0")
    });
    let cli: Vec<String> = audit_lines(&world.audit_path())
        .iter()
        .map(|l| parse(l))
        .filter(|r| r["verb"] == "exec" && r["phase"] == "intent")
        .filter_map(|r| r["cli"].as_str().map(str::to_string))
        .collect();
    assert!(
        cli.len() == 1
            && cli[0].starts_with("docker -H tcp://10.99.")
            && cli[0].contains(":2376 exec -it"),
        "{cli:?}"
    );
    s.send("q");
    s.wait_exit();
    docker(&["service", "rm", "t-shell2"]);
}

/// `DOCKER_HOST=ssh://root@<mgr1>` as the docker CLI takes it, with the console's own ssh
/// options from `[ssh]`: the swarm over ssh, nodes listed.
#[test]
fn docker_host_over_ssh_lists_the_swarm() {
    let world = World::with_config(&format!("[ssh]\nconfig = \"{}\"\n", env("CD_SSH_CONFIG")));
    let mut s = Session::spawn_with_env(
        &world,
        &[],
        &[(
            "DOCKER_HOST",
            Some(std::ffi::OsStr::new("ssh://root@10.99.1.2")),
        )],
    );
    s.wait_secs("the swarm connected over ssh", 60, |t| {
        t.contains("swarm ● connected")
    });
    s.send("2");
    s.wait_secs("every node", 30, |t| {
        ["mgr1", "mgr2", "mgr3", "wrk1", "wrk2"]
            .iter()
            .all(|h| t.contains(h))
    });
    s.send("q");
    s.wait_exit();
}
