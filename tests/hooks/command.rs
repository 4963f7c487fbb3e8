//! Command hooks: real processes, their output, their ends and their cancel.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clusterdeck_hooks::{Event, Hook, Outcome, Param, Target, Timing, start, start_with};

use crate::support::{
    alive, all_text, collect, command, eventually, lines, next_line, outcome, param, secret,
    stages, values,
};

fn sh(script: &str) -> Hook {
    command(&["sh", "-c", script], vec![])
}

fn quick_grace() -> Timing {
    Timing {
        kill_grace: Duration::from_secs(1),
        ..Timing::default()
    }
}

#[tokio::test]
async fn stdout_and_stderr_both_arrive_each_in_order() {
    let script = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf 'no newline'";
    let events = collect(start(&sh(script), &values(&[])), 10).await;
    let got = lines(&events);
    let out: Vec<&String> = got.iter().filter(|l| l.starts_with("out")).collect();
    let err: Vec<&String> = got.iter().filter(|l| l.starts_with("err")).collect();
    assert_eq!(out, ["out1", "out2", "out3", "out4", "out5"], "{got:?}");
    assert_eq!(err, ["err1", "err2", "err3", "err4", "err5"], "{got:?}");
    assert!(
        got.contains(&"no newline".to_string()),
        "the partial last line: {got:?}"
    );
    assert_eq!(got.len(), 11, "nothing lost or doubled: {got:?}");
    assert_eq!(outcome(&events), Outcome::Exited(0));
    assert!(outcome(&events).success());
    let first = stages(&events);
    assert!(
        first.len() == 1 && first[0].starts_with("started: sh -c 'for i in"),
        "{first:?}"
    );
}

#[tokio::test]
async fn a_nonzero_exit_and_a_signal_are_reported() {
    let events = collect(start(&sh("echo bye; exit 3"), &values(&[])), 10).await;
    assert_eq!(lines(&events), ["bye"]);
    let o = outcome(&events);
    assert_eq!(o, Outcome::Exited(3));
    assert!(!o.success());
    assert_eq!(o.describe(), "exited with status 3");

    let events = collect(start(&sh("kill -KILL $$"), &values(&[])), 10).await;
    assert_eq!(outcome(&events), Outcome::Signalled(9));
    assert!(!outcome(&events).success());
}

#[tokio::test]
async fn placeholders_are_expanded_in_argv_cwd_and_env_without_a_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("prod");
    std::fs::create_dir(&sub).expect("mkdir");
    let hook = Hook {
        name: "expand".into(),
        target: Target::Command {
            argv: [
                "sh",
                "-c",
                r#"printf '%s|%s|%s\n' "$1" "$2" "$GREETING"; pwd"#,
                "sh",
                "VERSION={version}",
                "{{literal}}",
            ]
            .map(String::from)
            .to_vec(),
            cwd: Some(PathBuf::from(format!("{}/{{env}}", dir.path().display()))),
            env: vec![("GREETING".into(), "hello {env}".into())],
        },
        params: vec![param("version"), param("env")],
    };
    // A value is one argument as it is: the `;` and `$(…)` reach printf, not a shell.
    let vals = values(&[("version", "1.2; echo $(id)"), ("env", "prod")]);
    let events = collect(start(&hook, &vals), 10).await;
    let real = std::fs::canonicalize(&sub).expect("canonical");
    assert_eq!(
        lines(&events),
        [
            "VERSION=1.2; echo $(id)|{literal}|hello prod".to_string(),
            real.display().to_string(),
        ]
    );
    assert_eq!(outcome(&events), Outcome::Exited(0));
}

#[tokio::test]
async fn cancel_ends_the_whole_process_group() {
    let script = r#"sleep 300 & echo "bg $!"; sleep 300 & echo "fg $!"; wait"#;
    let mut running = start(&sh(script), &values(&[]));
    let mut pids = Vec::new();
    for _ in 0..2 {
        let line = next_line(&mut running, 10).await;
        let pid = line
            .split_once(' ')
            .and_then(|(_, p)| p.parse::<i32>().ok())
            .unwrap_or_else(|| panic!("a pid line: {line:?}"));
        pids.push(pid);
    }
    for pid in &pids {
        assert!(alive(*pid), "sleep {pid} runs before the cancel");
    }
    let asked = Instant::now();
    running.cancel();
    let events = collect(running, 15).await;
    assert_eq!(outcome(&events), Outcome::Cancelled);
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "SIGTERM suffices here, no grace needed: {:?}",
        asked.elapsed()
    );
    for pid in &pids {
        assert!(!alive(*pid), "sleep {pid} (a child of the shell) is gone");
    }
}

#[tokio::test]
async fn a_group_ignoring_sigterm_is_killed_after_the_grace() {
    // SIG_IGN is inherited: the shell and both sleeps ignore SIGTERM.
    let script = r#"trap '' TERM; sleep 300 & echo "bg $!"; sleep 300; echo never"#;
    let mut running = start_with(&sh(script), &values(&[]), quick_grace());
    let line = next_line(&mut running, 10).await;
    let bg: i32 = line
        .trim_start_matches("bg ")
        .parse()
        .unwrap_or_else(|_| panic!("a pid line: {line:?}"));
    let asked = Instant::now();
    running.cancel();
    let events = collect(running, 15).await;
    let took = asked.elapsed();
    assert_eq!(outcome(&events), Outcome::Cancelled);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(6),
        "SIGKILL after the 1 s grace: {took:?}"
    );
    assert!(!alive(bg), "the background sleep {bg} is gone");
    assert!(!lines(&events).contains(&"never".to_string()));
}

#[tokio::test]
async fn dropping_the_handle_cancels() {
    let mut running = start(&sh(r#"sleep 300 & echo "bg $!"; wait"#), &values(&[]));
    let line = next_line(&mut running, 10).await;
    let bg: i32 = line
        .trim_start_matches("bg ")
        .parse()
        .unwrap_or_else(|_| panic!("a pid line: {line:?}"));
    assert!(alive(bg));
    drop(running);
    eventually(10, "the sleep ends after the handle is dropped", || {
        !alive(bg)
    })
    .await;
}

#[tokio::test]
async fn a_missing_program_or_directory_fails_in_words() {
    let hook = command(&["clusterdeck-no-such-program", "x"], vec![]);
    let events = collect(start(&hook, &values(&[])), 10).await;
    let Outcome::Failed(why) = outcome(&events) else {
        panic!("{events:?}")
    };
    assert!(
        why.starts_with("program not found: clusterdeck-no-such-program (PATH /"),
        "{why}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("deploy.sh");
    std::fs::write(&script, "#!/no/such/interpreter\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let hook = Hook {
        name: "script".into(),
        target: Target::Command {
            argv: vec!["./deploy.sh".into()],
            cwd: Some(dir.path().to_path_buf()),
            env: vec![],
        },
        params: vec![],
    };
    let events = collect(start(&hook, &values(&[])), 10).await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed(
            "cannot run ./deploy.sh: the interpreter on its #! line was not found".into()
        )
    );

    let hook = Hook {
        name: "nowhere".into(),
        target: Target::Command {
            argv: vec!["true".into()],
            cwd: Some("/no/such/dir".into()),
            env: vec![],
        },
        params: vec![],
    };
    let events = collect(start(&hook, &values(&[])), 10).await;
    assert_eq!(
        outcome(&events),
        Outcome::Failed("working directory /no/such/dir does not exist".into())
    );
}

#[tokio::test]
async fn secrets_never_show_in_stages_or_output() {
    let hook = Hook {
        name: "secret".into(),
        target: Target::Command {
            argv: [
                "sh",
                "-c",
                r#"echo "arg $1"; echo "env $PASSWORD" >&2"#,
                "sh",
                "{password}",
            ]
            .map(String::from)
            .to_vec(),
            cwd: None,
            env: vec![("PASSWORD".into(), "{password}".into())],
        },
        params: vec![secret("password")],
    };
    let events = collect(start(&hook, &values(&[("password", "hunter2-S3cret")])), 10).await;
    let text = all_text(&events);
    assert!(!text.contains("hunter2"), "the secret leaked: {text}");
    let mut got = lines(&events);
    got.sort();
    assert_eq!(got, ["arg ***", "env ***"]);
    let stage = &stages(&events)[0];
    assert!(stage.contains("' sh *** (pid "), "{stage}");
    assert_eq!(outcome(&events), Outcome::Exited(0));
}

#[tokio::test]
async fn a_background_process_holding_the_pipes_does_not_hold_the_run() {
    let script = r#"sleep 60 & echo "bg $!"; echo done"#;
    let started = Instant::now();
    let events = collect(start(&sh(script), &values(&[])), 10).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome(&events), Outcome::Exited(0));
    let got = lines(&events);
    assert_eq!(got.last().map(String::as_str), Some("done"), "{got:?}");
    // Left alone by the run (it exited normally); the test cleans up after itself.
    if let Some(pid) = got[0]
        .strip_prefix("bg ")
        .and_then(|p| p.parse::<i32>().ok())
    {
        assert!(
            alive(pid),
            "a normal exit leaves background processes alone"
        );
        // SAFETY: kill(2) on the test's own child process.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

#[tokio::test]
async fn a_long_line_is_cut_and_output_keeps_flowing() {
    let events = collect(
        start(
            &sh("head -c 20000 /dev/zero | tr '\\0' x; echo; echo after"),
            &values(&[]),
        ),
        10,
    )
    .await;
    let got = lines(&events);
    assert_eq!(
        got.len(),
        2,
        "{:?}",
        got.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(got[0].starts_with(&"x".repeat(clusterdeck_hooks::MAX_LINE)));
    assert!(got[0].ends_with("(line cut at 8 KiB)"));
    assert_eq!(got[1], "after");
}

#[tokio::test]
async fn events_are_only_lines_stages_and_one_done() {
    let events = collect(start(&sh("echo one"), &values(&[])), 10).await;
    let dones = events
        .iter()
        .filter(|e| matches!(e, Event::Done(_)))
        .count();
    assert_eq!(dones, 1);
    let with_default = command(
        &["echo", "{word}"],
        vec![Param {
            default: Some("fallback".into()),
            ..param("word")
        }],
    );
    let events = collect(start(&with_default, &values(&[("word", "")])), 10).await;
    assert_eq!(
        lines(&events),
        ["fallback"],
        "an empty value takes the default"
    );
}
