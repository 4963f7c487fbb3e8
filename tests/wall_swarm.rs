//! `--wall` against the real swarm, in a pseudo-terminal. Every key of the keyboard is sent;
//! in the same window the swarm's events stream shows no mutating event, the engines' API logs
//! no write call, and the audit log gets no record. Then a manager is stopped: the banner names
//! it with its duration, and clears when it is back. SIGHUP ends the wall cleanly.
//!
//! One test function: the manager stop must not fall inside the every-key window.

#[path = "support/pty.rs"]
mod pty;
#[path = "swarm_support/mod.rs"]
mod swarm_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pty::{Session, World};
use swarm_support::*;

/// Every engine's dockerd log (run with --debug, so each API call is logged) and its length.
fn api_logs() -> Vec<(PathBuf, u64)> {
    (1..=5)
        .map(|n| {
            let p = PathBuf::from(env(&format!("CD_SWARM_N{n}_LOG")));
            let len = std::fs::metadata(&p).map_or(0, |m| m.len());
            (p, len)
        })
        .collect()
}

/// API calls that can change something (anything but GET and HEAD) logged after `from`.
fn writes_since(from: &[(PathBuf, u64)]) -> Vec<String> {
    let mut out = Vec::new();
    for (p, len) in from {
        let bytes = std::fs::read(p).unwrap_or_default();
        let tail = String::from_utf8_lossy(bytes.get(*len as usize..).unwrap_or_default());
        out.extend(
            tail.lines()
                .filter(|l| l.contains("msg=\"Calling "))
                .filter(|l| !l.contains("Calling GET ") && !l.contains("Calling HEAD "))
                .map(|l| format!("{}: {l}", p.display())),
        );
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Events of the swarm between `since` and `until` (unix seconds) that record a change to
/// its objects. Container events are the orchestrator's own doing and are not listed.
fn mutating_events(since: u64, until: u64) -> Vec<String> {
    let out = docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}",
    ]);
    out.lines()
        .filter(|l| {
            let mut w = l.split_whitespace();
            let (ty, action) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            matches!(
                ty,
                "service" | "node" | "secret" | "config" | "network" | "volume"
            ) && matches!(action, "create" | "update" | "remove")
        })
        .map(str::to_string)
        .collect()
}

/// Every key a keyboard sends, as bytes: printable characters, control characters, function
/// keys, cursor and editing keys, and alt- variants of the letters. "q" and ctrl-c ask to quit;
/// each is followed by "n", the answer that keeps the wall running.
fn every_key() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for b in 0x20u8..0x7f {
        keys.push(vec![b]);
    }
    for b in 0x01u8..0x20 {
        if b != 0x1b {
            keys.push(vec![b]);
        }
    }
    keys.push(vec![0x7f]);
    for seq in [
        "\x1bOP",
        "\x1bOQ",
        "\x1bOR",
        "\x1bOS",
        "\x1b[15~",
        "\x1b[17~",
        "\x1b[18~",
        "\x1b[19~",
        "\x1b[20~",
        "\x1b[21~",
        "\x1b[23~",
        "\x1b[24~",
        "\x1b[A",
        "\x1b[B",
        "\x1b[C",
        "\x1b[D",
        "\x1b[H",
        "\x1b[F",
        "\x1b[2~",
        "\x1b[3~",
        "\x1b[5~",
        "\x1b[6~",
        "\x1b[Z",
        "\x1b[1;5A",
        "\x1b[1;2C",
        "\x1b[1;3D",
    ] {
        keys.push(seq.as_bytes().to_vec());
    }
    for b in b'a'..=b'z' {
        keys.push(vec![0x1b, b]);
    }
    keys.push(vec![0x1b]);
    let mut out = Vec::new();
    for k in keys {
        let asks = k == b"q" || k == [0x03];
        out.push(k);
        if asks {
            out.push(b"n".to_vec());
        }
    }
    out
}

fn header_ok(t: &str) -> bool {
    t.contains("██ OK") && t.contains("swarm ✓") && t.contains("WALL · read-only")
}

#[test]
fn every_key_changes_nothing_a_stopped_manager_shows_and_sighup_ends_cleanly() {
    create_service("t-wall", 2, "1", &[]);
    eventually(120, "all 5 nodes ready and 3 managers reachable", || {
        let out = try_docker(&["node", "ls", "--format", "{{.Status}} {{.ManagerStatus}}"])?;
        let ready = out.lines().filter(|l| l.starts_with("Ready")).count();
        let reach = out
            .lines()
            .filter(|l| l.contains("Reachable") || l.contains("Leader"))
            .count();
        (ready == 5 && reach == 3).then_some(())
    });
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    let world = World::with_config(&format!(
        "[[contexts]]\nname = \"lab\"\ndocker = {{ hosts = [{}] }}\n[wall]\nrotate_secs = 2\n",
        hosts.join(", ")
    ));
    let mut s = Session::spawn(&world, &["--wall"]);
    s.wait_secs("the wall with a healthy swarm", 60, header_ok);
    s.wait_secs("the t-wall service", 30, |t| t.contains("t-wall"));

    // The window: every key, then time for the console to act on them.
    let since = unix_now();
    let logs = api_logs();
    for k in every_key() {
        s.send(&String::from_utf8_lossy(&k));
        std::thread::sleep(Duration::from_millis(15));
    }
    std::thread::sleep(Duration::from_secs(4));
    assert!(s.is_running(), "a key ended the wall");
    let screen = s.wait_secs("the wall still up", 10, header_ok);
    assert!(!screen.contains("Quit the wall display?"), "{screen}");
    let until = unix_now() + 1;
    std::thread::sleep(Duration::from_secs(2));

    let events = mutating_events(since, until);
    assert!(
        events.is_empty(),
        "mutating events in the window: {events:#?}"
    );
    let writes = writes_since(&logs);
    assert!(
        writes.is_empty(),
        "write calls reached an engine: {writes:#?}"
    );
    let audit = std::fs::read(world.audit_path()).unwrap_or_default();
    assert!(audit.is_empty(), "the wall wrote to the audit log");
    // The service the keys could have scaled, drained or restarted is as it was.
    assert_eq!(running_tasks("t-wall").len(), 2);

    // A manager stops: the banner names it and how long it has lasted.
    swarm_sh(&["stop", "3"]);
    let screen = s.wait_secs("mgr3 down on the banner", 120, |t| {
        t.contains("NODE DOWN") && t.contains("mgr3") && t.contains("QUORUM AT RISK")
    });
    assert!(screen.contains("CRITICAL"), "{screen}");
    let banner = screen
        .lines()
        .find(|l| l.contains("NODE DOWN"))
        .unwrap_or_default();
    assert!(banner.contains("for "), "{banner}");
    swarm_sh(&["start", "3"]);
    s.wait_secs("the banner cleared", 180, |t| {
        header_ok(t) && !t.contains("NODE DOWN")
    });

    // The SSH session goes away: SIGHUP ends the wall with status 0, terminal restored.
    let pid = s.pid();
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
    assert_eq!(s.wait_exit(), 0, "SIGHUP is a clean end");
    s.assert_terminal_restored();
    let _ = try_docker(&["service", "rm", "t-wall"]);
}
