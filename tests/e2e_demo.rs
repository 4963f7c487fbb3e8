//! End to end: the real binary in a pseudo-terminal on the built-in demo, driven by keys. Reads
//! the screen (through a vt100 emulator) and the audit file, quits, and checks that the
//! terminal was given back (main screen, cursor shown).

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use serde_json::Value;

const ROWS: u16 = 30;
const COLS: u16 = 100;
/// Generous: the machine running the tests may be slow and shared.
const TIMEOUT: Duration = Duration::from_secs(15);
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

const ENTER: &str = "\r";
const TAB: &str = "\t";
const BACKSPACE: &str = "\x7f";

const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
const HIDE_CURSOR: &[u8] = b"\x1b[?25l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// A temp directory laid out as the console's whole world: config, XDG dirs, audit log.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("create a temp dir");
        for sub in ["home", "config", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a temp subdir");
        }
        std::fs::write(dir.path().join("config.toml"), "").expect("write an empty config");
        World { dir }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let p = self.dir.path();
        vec![
            ("CLUSTERDECK_AUDIT_LOG", self.audit_path()),
            ("CLUSTERDECK_CONFIG", self.config_path()),
            ("HOME", p.join("home")),
            ("XDG_CONFIG_HOME", p.join("config")),
            ("XDG_STATE_HOME", p.join("state")),
        ]
    }
}

/// The binary running in a PTY, with its screen and raw output collected by a reader thread.
/// Dropping it kills the child if it is still running, so a failed test leaves no process.
struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    reader_done: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Session {
    fn spawn(world: &World, args: &[&str]) -> Session {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_clusterdeck"));
        cmd.args(args);
        cmd.cwd(world.dir.path());
        for (k, v) in world.env() {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        // An operator's own theme or SSH variables must not leak into the test.
        cmd.env_remove("SSH_CLIENT");
        cmd.env_remove("SSH_CONNECTION");
        let child = pair.slave.spawn_command(cmd).expect("spawn clusterdeck");
        // Our copy of the slave must go, or the reader never sees end of file.
        drop(pair.slave);

        let mut reader = pair
            .master
            .try_clone_reader()
            .expect("clone the pty reader");
        let writer = pair.master.take_writer().expect("take the pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(ROWS).expect("rows > 0"),
            NonZeroU16::new(COLS).expect("cols > 0"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let reader_done = Arc::new(AtomicBool::new(false));
        let thread = {
            let parser = Arc::clone(&parser);
            let raw = Arc::clone(&raw);
            let done = Arc::clone(&reader_done);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        // EIO once the child side is closed: that is the end of the output.
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            raw.lock()
                                .expect("raw log lock")
                                .extend_from_slice(&buf[..n]);
                            parser.lock().expect("parser lock").process(&buf[..n]);
                        }
                    }
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        Session {
            parser,
            raw,
            reader_done,
            reader: Some(thread),
            writer,
            child,
            _master: pair.master,
        }
    }

    fn screen_text(&self) -> String {
        self.parser.lock().expect("parser lock").screen().contents()
    }

    fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("write keys to the pty");
        self.writer.flush().expect("flush the pty");
    }

    /// Polls the screen until `pred` holds; panics with the screen on timeout.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.screen_text();
            if pred(&text) {
                return text;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {TIMEOUT:?} waiting for {what}; screen:\n{}\n{}\n{}",
                    "-".repeat(COLS as usize),
                    text,
                    "-".repeat(COLS as usize)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_text(&self, needle: &str) -> String {
        self.wait_for(&format!("{needle:?}"), |s| s.contains(needle))
    }

    /// Waits for the process to end by itself and returns its exit code; then waits for the
    /// reader to drain everything the process wrote.
    fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "clusterdeck did not exit within {EXIT_TIMEOUT:?}; screen:\n{}",
                    self.screen_text()
                );
            }
            std::thread::sleep(POLL);
        };
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while !self.reader_done.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "pty output did not reach end of file after the process exited"
            );
            std::thread::sleep(POLL);
        }
        if let Some(t) = self.reader.take() {
            t.join().expect("reader thread panicked");
        }
        status.exit_code()
    }

    fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().expect("raw log lock").clone()
    }

    /// The terminal is back to normal: main screen, cursor shown, in the byte stream and in the
    /// emulator's final state.
    fn assert_terminal_restored(&self) {
        let raw = self.raw_output();
        let entered = rfind(&raw, ENTER_ALT).expect("the alternate screen was entered");
        let left = rfind(&raw, LEAVE_ALT).expect("the alternate screen was left");
        assert!(
            left > entered,
            "last leave-alternate-screen ({left}) is not after the last enter ({entered})"
        );
        let hidden = rfind(&raw, HIDE_CURSOR).expect("the cursor was hidden while running");
        let shown = rfind(&raw, SHOW_CURSOR).expect("the cursor was shown again");
        assert!(
            shown > hidden,
            "last show-cursor ({shown}) is not after the last hide ({hidden})"
        );
        let parser = self.parser.lock().expect("parser lock");
        assert!(
            !parser.screen().alternate_screen(),
            "still on the alternate screen"
        );
        assert!(!parser.screen().hide_cursor(), "cursor still hidden");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The bottom-most screen line containing `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().rev().find(|l| l.contains(needle))
}

/// Whether the services table shows `name` with `running/desired` on one row.
fn service_row_shows(screen: &str, name: &str, ratio: &str) -> bool {
    screen.lines().any(|l| {
        let mut words = l.split_whitespace().skip_while(|w| *w != name);
        words.next().is_some() && words.any(|w| w == ratio)
    })
}

fn audit_lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("cannot read the audit log {}: {e}", path.display()),
    }
}

fn wait_audit_lines(path: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let lines = audit_lines(path);
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "audit log has {} lines, expected {n}:\n{}",
            lines.len(),
            lines.join("\n")
        );
        std::thread::sleep(POLL);
    }
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line}"))
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
    let mut s = Session::spawn(&world, &["--demo"]);
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
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clusterdeck"));
    cmd.arg("--demo")
        .arg("--config")
        .arg(&bad)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("NO_COLOR");
    for (k, v) in world.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run clusterdeck");
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
