//! End to end: the real binary in a pseudo-terminal on the built-in demo, driven by keys. Reads
//! the screen (through a vt100 emulator) and the audit file, quits, and checks that the
//! terminal was given back (main screen, cursor shown).

use crate::pty::{
    BACKSPACE, ENTER, Session, TAB, World, audit_lines, line_with, parse, wait_audit_lines,
};

/// Whether the services table shows `name` with `running/desired` on one row.
fn service_row_shows(screen: &str, name: &str, ratio: &str) -> bool {
    screen.lines().any(|l| {
        let mut words = l.split_whitespace().skip_while(|w| *w != name);
        words.next().is_some() && words.any(|w| w == ratio)
    })
}

/// Clears the scale prompt's pre-filled text, types `replicas` and submits it; returns the
/// count the prompt was pre-filled with.
fn scale_selected_to(s: &mut Session, service: &str, replicas: u32) -> u32 {
    s.send("s");
    let label = format!("scale {service} to");
    // Wait for the whole line (up to the cursor mark), not a half-drawn frame.
    let screen = s.wait_for(&format!("the {label:?} prompt"), |t| {
        line_with(t, &label).is_some_and(|l| l.contains("▏"))
    });
    let line = line_with(&screen, &label).expect("prompt line");
    let current: String = line
        .rsplit_once("): ")
        .map(|(_, rest)| rest)
        .expect("prompt ends with `): `")
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let current: u32 = current
        .parse()
        .unwrap_or_else(|e| panic!("prompt is not pre-filled with a count ({e}): {line}"));
    s.send(&BACKSPACE.repeat(current.to_string().len()));
    s.wait_for("an emptied prompt", |scr| {
        line_with(scr, &label).is_some_and(|l| l.trim_end().ends_with("): ▏"))
    });
    s.send(&format!("{replicas}{ENTER}"));
    current
}

#[test]
fn demo_scale_is_confirmed_executed_and_audited_and_terminal_restored() {
    let world = World::new();
    // `$USER` names someone else: the record names the real uid's user, the claim beside it.
    let mut s = Session::spawn_with_env(
        &world,
        &["--demo"],
        &[("USER", Some(std::ffi::OsStr::new("mallory")))],
    );
    s.wait_for("the demo overview", |t| {
        t.contains("DEMO") && t.contains("Quorum")
    });

    // Services pane, narrowed to `web` (the filter resets the selection to its first row).
    s.send("3");
    s.wait_for("the services pane", |t| {
        t.contains("NAME") && t.contains("RUNNING")
    });
    s.send("/web");
    s.wait_text("/web▏");
    s.send(ENTER);
    s.wait_for("the filter line to close", |t| !t.contains("/web▏"));

    let target = 14;
    let before = scale_selected_to(&mut s, "web", target);
    assert_ne!(before, target, "the demo's web must not start at {target}");
    // Title, change, CLI equivalent, and Cancel as the default button.
    let delta = format!("replicas {before} → {target}");
    let cli = format!("docker service scale web={target}");
    s.wait_for("the confirm dialog with its plan", |t| {
        t.contains("Confirm: scale web on demo")
            && t.contains(&delta)
            && t.contains(&cli)
            && t.contains("[› Cancel ‹]")
            && t.contains("[  Scale  ]")
    });
    assert!(
        audit_lines(&world.audit_path()).is_empty(),
        "nothing is audited before confirmation"
    );
    s.send(TAB);
    s.wait_for("focus on Scale", |t| {
        t.contains("[› Scale ‹]") && t.contains("[  Cancel  ]")
    });
    s.send(ENTER);
    let ratio = format!("{target}/{target}");
    s.wait_for("web to reach its new count", |t| {
        t.contains("✓ scale web") || service_row_shows(t, "web", &ratio)
    });

    // Intent then outcome, chained by hash.
    let lines = wait_audit_lines(&world.audit_path(), 2);
    assert_eq!(lines.len(), 2, "audit log:\n{}", lines.join("\n"));
    let intent = parse(&lines[0]);
    let outcome = parse(&lines[1]);
    assert_eq!(intent["phase"], "intent");
    assert_eq!(outcome["phase"], "outcome");
    for rec in [&intent, &outcome] {
        assert_eq!(rec["verb"], "scale", "{rec}");
        assert_eq!(rec["target"], "web", "{rec}");
        assert_eq!(rec["params"]["replicas"], target, "{rec}");
        assert_eq!(rec["cli"], "docker service scale web=14", "{rec}");
        assert_eq!(rec["context"], "demo", "{rec}");
    }
    assert_eq!(intent["op_id"], outcome["op_id"]);
    let real = std::process::Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .expect("id -un");
    assert_ne!(real, "mallory");
    assert_eq!(intent["user"], real.as_str(), "{intent}");
    assert_eq!(intent["claimed_user"], "mallory", "{intent}");
    assert!(intent["uid"].is_u64(), "{intent}");
    assert!(intent["op_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(outcome["result"], "ok", "{outcome}");
    assert_eq!(
        intent["prev_sha256"],
        clusterdeck::ops::audit::GENESIS,
        "first record starts the chain"
    );
    assert_eq!(
        outcome["prev_sha256"].as_str(),
        Some(clusterdeck::ops::audit::sha256_hex(lines[0].as_bytes()).as_str()),
        "outcome chains to the intent line"
    );
    s.wait_for("the services row of web at the new count", |t| {
        service_row_shows(t, "web", &ratio)
    });

    // A cancelled plan is neither executed nor audited.
    let again = scale_selected_to(&mut s, "web", 12);
    assert_eq!(again, target, "the prompt is pre-filled with the new count");
    let delta = format!("replicas {target} → 12");
    s.wait_for("the second plan, Cancel focused", |t| {
        t.contains(&delta) && t.contains("[› Cancel ‹]")
    });
    s.send(ENTER);
    s.wait_for("the cancellation", |t| {
        t.contains("cancelled") && !t.contains("Confirm: scale")
    });
    assert_eq!(
        audit_lines(&world.audit_path()).len(),
        2,
        "a cancelled action is not audited"
    );
    assert!(
        service_row_shows(&s.screen_text(), "web", &ratio),
        "a cancelled scale is not executed:\n{}",
        s.screen_text()
    );

    s.send("q");
    assert_eq!(s.wait_exit(), 0, "exit status after q");
    s.assert_terminal_restored();
    assert_eq!(audit_lines(&world.audit_path()).len(), 2);
}

#[test]
fn read_only_refuses_mutation_keys_and_writes_no_audit_file() {
    let world = World::new();
    let mut s = Session::spawn(&world, &["--demo", "--read-only"]);
    s.wait_for("the read-only demo", |t| {
        t.contains("DEMO") && t.contains("READ-ONLY") && t.contains("Quorum")
    });
    s.send("3");
    s.wait_for("the services pane", |t| {
        t.contains("NAME") && t.contains("RUNNING")
    });
    s.send("s");
    let screen = s.wait_for("a refusal naming read-only mode", |t| {
        t.contains("Refused") && t.contains("read-only mode: scale")
    });
    assert!(
        !screen.contains("scale web to") && !screen.contains("Confirm:"),
        "no prompt or plan in read-only mode:\n{screen}"
    );
    s.send(" ");
    s.wait_for("the refusal to close", |t| !t.contains("Refused"));
    s.send("q");
    assert_eq!(s.wait_exit(), 0, "exit status after q");
    s.assert_terminal_restored();
    assert!(
        !world.audit_path().exists(),
        "read-only mode created {}",
        world.audit_path().display()
    );
}

#[test]
fn malformed_config_refuses_to_start_naming_file_line_and_key() {
    let world = World::new();
    let bad = world.dir.path().join("bad.toml");
    std::fs::write(&bad, "[refresh]\nfps = \"fast\"\n").expect("write the bad config");
    let bad_arg = bad.display().to_string();
    let out = world.run(&["--demo", "--config", &bad_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr:\n{stderr}");
    let path = bad.display().to_string();
    assert!(stderr.contains(&path), "stderr names {path}:\n{stderr}");
    assert!(stderr.contains(":2"), "stderr names line 2:\n{stderr}");
    assert!(
        stderr.contains("refresh.fps"),
        "stderr names the key:\n{stderr}"
    );
    assert!(
        !world.audit_path().exists(),
        "no audit file on a refused start"
    );
}
