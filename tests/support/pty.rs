//! A pseudo-terminal harness shared by the end-to-end tests: the real binary in a PTY with a
//! vt100 emulator reading its screen, a temp directory as its whole world (config, XDG dirs,
//! audit log), and helpers to read the audit file.
//!
//! Use from a test file with `#[path = "support/pty.rs"] mod pty;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use serde_json::Value;

pub const ROWS: u16 = 30;
pub const COLS: u16 = 100;
/// Generous: the machine running the tests may be slow and shared.
pub const TIMEOUT: Duration = Duration::from_secs(15);
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(50);

pub const ENTER: &str = "\r";
pub const TAB: &str = "\t";
pub const ESC: &str = "\x1b";
pub const BACKSPACE: &str = "\x7f";

const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
const HIDE_CURSOR: &[u8] = b"\x1b[?25l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_clusterdeck")
}

/// A temp directory laid out as the console's whole world: config, XDG dirs, audit log.
pub struct World {
    pub dir: tempfile::TempDir,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty config file, empty home and XDG directories.
    pub fn new() -> World {
        World::with_config("")
    }

    pub fn with_config(config: &str) -> World {
        let dir = tempfile::tempdir().expect("create a temp dir");
        for sub in ["home", "config", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a temp subdir");
        }
        std::fs::write(dir.path().join("config.toml"), config).expect("write the config");
        World { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.path().join("audit.jsonl")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let p = self.dir.path();
        vec![
            ("CLUSTERDECK_AUDIT_LOG", self.audit_path()),
            ("CLUSTERDECK_CONFIG", self.config_path()),
            ("HOME", p.join("home")),
            ("XDG_CONFIG_HOME", p.join("config")),
            ("XDG_STATE_HOME", p.join("state")),
        ]
    }

    /// Runs the binary as a plain process (no terminal) in this world and collects its output.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("NO_COLOR");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.output().expect("run clusterdeck")
    }
}

/// The binary running in a PTY, with its screen and raw output collected by a reader thread.
/// Dropping it kills the child if it is still running, so a failed test leaves no process.
pub struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    reader_done: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    /// Set to make the reader close its end (a hang-up closes every master descriptor).
    hang_up: Arc<AtomicBool>,
    /// `None` once the session has hung up.
    writer: Option<Box<dyn Write + Send>>,
    child: Box<dyn Child + Send + Sync>,
    master: Option<Box<dyn MasterPty + Send>>,
}

impl Session {
    pub fn spawn(world: &World, args: &[&str]) -> Session {
        Session::spawn_with_env(world, args, &[])
    }

    /// As `spawn`, with variables set (`Some`) or removed (`None`) after the world's.
    pub fn spawn_with_env(
        world: &World,
        args: &[&str],
        env: &[(&str, Option<&std::ffi::OsStr>)],
    ) -> Session {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(bin());
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
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            }
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn clusterdeck");
        // Our copy of the slave must go, or the reader never sees end of file.
        drop(pair.slave);

        // The reader's own descriptor of the master, polled so that a hang-up can close it.
        let fd = pair
            .master
            .as_raw_fd()
            .expect("the pty master's descriptor");
        // SAFETY: dup of a descriptor we own; the File takes the copy.
        let copy = unsafe { libc::dup(fd) };
        assert!(copy >= 0, "dup the pty master");
        // SAFETY: `copy` is a fresh descriptor nothing else owns.
        let mut reader = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(copy) };
        let hang_up = Arc::new(AtomicBool::new(false));
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
            let hang_up = Arc::clone(&hang_up);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    let mut pfd = libc::pollfd {
                        fd: copy,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    let ready = unsafe { libc::poll(&mut pfd, 1, 50) };
                    if hang_up.load(Ordering::SeqCst) {
                        break;
                    }
                    if ready == 0 {
                        continue;
                    }
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
            hang_up,
            writer: Some(writer),
            child,
            master: Some(pair.master),
        }
    }

    /// Resizes the terminal (the child gets SIGWINCH); the emulator follows.
    pub fn resize(&self, rows: u16, cols: u16) {
        self.master
            .as_ref()
            .expect("the session is up")
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize the pty");
        if let (Some(r), Some(c)) = (NonZeroU16::new(rows), NonZeroU16::new(cols)) {
            self.parser
                .lock()
                .expect("parser lock")
                .screen_mut()
                .set_size(r, c);
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("the child has a pid")
    }

    pub fn screen_text(&self) -> String {
        self.parser.lock().expect("parser lock").screen().contents()
    }

    pub fn send(&mut self, keys: &str) {
        let w = self.writer.as_mut().expect("the session is up");
        w.write_all(keys.as_bytes()).expect("write keys to the pty");
        w.flush().expect("flush the pty");
    }

    /// Polls the screen until `pred` holds; panics with the screen on timeout.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_secs(what, TIMEOUT.as_secs(), pred)
    }

    /// As `wait_for`, with a timeout of its own (a real engine can take minutes).
    pub fn wait_secs(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let timeout = Duration::from_secs(secs);
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.screen_text();
            if pred(&text) {
                return text;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; screen:\n{}\n{}\n{}",
                    "-".repeat(COLS as usize),
                    text,
                    "-".repeat(COLS as usize)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_text(&self, needle: &str) -> String {
        self.wait_for(&format!("{needle:?}"), |s| s.contains(needle))
    }

    /// Whether the process is still running (reaps it if it has ended).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to end by itself and returns its exit code; then waits for the
    /// reader to drain everything the process wrote.
    pub fn wait_exit(&mut self) -> u32 {
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
        self.join_reader();
        status.exit_code()
    }

    /// SIGKILL, as a crash or an `kill -9` would (portable-pty's own `kill` sends SIGHUP first,
    /// which the console could handle). Returns once the process is reaped, so that its pid no
    /// longer names a live (or zombie) process.
    pub fn kill9(&mut self) {
        let pid = self.pid();
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {pid} failed: {status}");
        let status = self.child.wait().expect("reap the killed child");
        assert!(
            !status.success(),
            "the killed console reported success: {status:?}"
        );
        self.join_reader();
    }

    /// The session drops, as when an SSH connection goes: every descriptor of the pty's master
    /// is closed, so the console gets SIGHUP and its terminal writes fail from then on.
    pub fn hang_up(&mut self) {
        self.hang_up.store(true, Ordering::SeqCst);
        if let Some(t) = self.reader.take() {
            t.join().expect("reader thread panicked");
        }
        self.reader_done.store(true, Ordering::SeqCst);
        self.writer = None;
        self.master = None;
    }

    fn join_reader(&mut self) {
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
    }

    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().expect("raw log lock").clone()
    }

    /// The terminal is back to normal: main screen, cursor shown, in the byte stream and in the
    /// emulator's final state.
    pub fn assert_terminal_restored(&self) {
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

pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The bottom-most screen line containing `needle`.
pub fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().rev().find(|l| l.contains(needle))
}

/// The complete lines of the audit file (a line still being written, without its newline, is
/// left out); none when the file does not exist.
pub fn audit_lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let complete = match text.rfind('\n') {
                Some(i) => &text[..i],
                None => "",
            };
            complete
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("cannot read the audit log {}: {e}", path.display()),
    }
}

/// Polls the audit file until it has at least `n` complete lines.
pub fn wait_audit_lines(path: &Path, n: usize) -> Vec<String> {
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
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("audit line is not JSON ({e}): {line}"))
}

/// `clusterdeck audit verify FILE` as a plain process: its exit code and standard output.
pub fn verify(world: &World, file: &Path) -> (Option<i32>, String) {
    let file = file.to_str().expect("temp paths are UTF-8");
    let out = world.run(&["audit", "verify", file]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("{stdout}{stderr}"))
}
