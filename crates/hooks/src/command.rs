//! Command hooks: the program run directly (no shell) in a process group of its own, stdout and
//! stderr read together into lines, and a cancel that ends the whole group (ansible-playbook's
//! workers and ssh connections too): SIGTERM, then SIGKILL after the grace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::time::Instant;

use crate::event::Outcome;
use crate::lines::LineSplitter;
use crate::running::{Cancelled, Emitter, Stopped};
use crate::template::expand;

/// How long output is still read after the program exited: a background process it left
/// behind may hold the pipes open for good.
const DRAIN: Duration = Duration::from_secs(2);

/// A command with its placeholders expanded.
#[derive(Debug)]
pub(crate) struct Prepared {
    argv: Vec<String>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
    /// The arguments as shown, quoted, secret values masked.
    shown: Vec<String>,
}

/// Expands `argv`, `cwd` and `env` with `values`; `masked` (the same with secrets masked) makes
/// the command line shown.
pub(crate) fn prepare(
    argv: &[String],
    cwd: Option<&Path>,
    env: &[(String, String)],
    values: &BTreeMap<String, String>,
    masked: &BTreeMap<String, String>,
) -> Result<Prepared, String> {
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err("the command is empty".into());
    }
    let expand_all =
        |vals| -> Result<Vec<String>, String> { argv.iter().map(|a| expand(a, vals)).collect() };
    let mut argv_out = expand_all(values)?;
    let shown: Vec<String> = expand_all(masked)?.iter().map(|a| quote(a)).collect();
    let cwd = match cwd {
        Some(c) => Some(PathBuf::from(expand(&c.to_string_lossy(), values)?)),
        None => None,
    };
    // A relative program path means one in the working directory, as after `cd cwd`.
    if let Some(dir) = &cwd
        && argv_out[0].contains('/')
        && Path::new(&argv_out[0]).is_relative()
    {
        argv_out[0] = dir.join(&argv_out[0]).to_string_lossy().into_owned();
    }
    let env = env
        .iter()
        .map(|(k, v)| Ok((k.clone(), expand(v, values)?)))
        .collect::<Result<_, String>>()?;
    Ok(Prepared {
        argv: argv_out,
        cwd,
        env,
        shown,
    })
}

/// Runs the command to its end or its cancel, then sends the outcome.
pub(crate) async fn run(cmd: Prepared, grace: Duration, emit: Emitter, cancel: Cancelled) {
    let outcome = run_to_end(&cmd, grace, &emit, cancel).await;
    emit.done(outcome).await;
}

async fn run_to_end(
    cmd: &Prepared,
    grace: Duration,
    emit: &Emitter,
    mut cancel: Cancelled,
) -> Outcome {
    if let Some(dir) = &cmd.cwd
        && !dir.is_dir()
    {
        return Outcome::Failed(format!(
            "working directory {} does not exist",
            dir.display()
        ));
    }
    let mut command = Command::new(&cmd.argv[0]);
    command
        .args(&cmd.argv[1..])
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(dir) = &cmd.cwd {
        command.current_dir(dir);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Failed(spawn_error(cmd, &e)),
    };
    let (Some(pid), Some(out), Some(err)) = (child.id(), child.stdout.take(), child.stderr.take())
    else {
        return Outcome::Failed("the started process has no pid or pipes".into());
    };
    // process_group(0): the group's id is the child's pid.
    let mut group = Group::new(pid as i32);
    let ran = tokio::select! {
        r = async {
            emit.stage(format!("started: {} (pid {pid})", cmd.shown.join(" "))).await?;
            pump(&mut child, out, err, emit).await
        } => r,
        _ = cancel.wait() => Err(Stopped),
    };
    match ran {
        Ok(Ok(status)) => {
            group.disarm();
            exit_outcome(status)
        }
        Ok(Err(e)) => Outcome::Failed(format!("waiting for pid {pid}: {e}")),
        Err(Stopped) => {
            group.terminate(&mut child, grace).await;
            Outcome::Cancelled
        }
    }
}

/// Reads both pipes until they close (or `DRAIN` after the program exited) and waits for the
/// program.
async fn pump(
    child: &mut Child,
    mut out: ChildStdout,
    mut err: ChildStderr,
    emit: &Emitter,
) -> Result<std::io::Result<ExitStatus>, Stopped> {
    let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
    let (mut out_lines, mut err_lines) = (LineSplitter::default(), LineSplitter::default());
    let (mut out_open, mut err_open) = (true, true);
    let mut status = None;
    let mut drained_by = Instant::now();
    while status.is_none() || out_open || err_open {
        let mut lines = Vec::new();
        tokio::select! {
            n = out.read(&mut out_buf), if out_open => match n {
                Ok(n) if n > 0 => out_lines.push(&out_buf[..n], &mut lines),
                _ => out_open = false,
            },
            n = err.read(&mut err_buf), if err_open => match n {
                Ok(n) if n > 0 => err_lines.push(&err_buf[..n], &mut lines),
                _ => err_open = false,
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s);
                drained_by = Instant::now() + DRAIN;
            }
            _ = tokio::time::sleep_until(drained_by), if status.is_some() => break,
        }
        emit.lines(lines).await?;
    }
    let rest: Vec<String> = out_lines
        .finish()
        .into_iter()
        .chain(err_lines.finish())
        .collect();
    emit.lines(rest).await?;
    status.ok_or(Stopped)
}

fn exit_outcome(status: ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Signalled(sig),
        (None, None) => Outcome::Failed(format!("ended without a status: {status}")),
    }
}

fn spawn_error(cmd: &Prepared, e: &std::io::Error) -> String {
    let program = cmd.shown.first().map(String::as_str).unwrap_or_default();
    let real = &cmd.argv[0];
    match e.kind() {
        std::io::ErrorKind::NotFound if !real.contains('/') => {
            let path = cmd
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var("PATH").ok())
                .unwrap_or_default();
            format!("program not found: {program} (PATH {path})")
        }
        std::io::ErrorKind::NotFound if Path::new(real).exists() => {
            format!("cannot run {program}: the interpreter on its #! line was not found")
        }
        std::io::ErrorKind::NotFound => format!("program not found: {program}"),
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot run {program}: permission denied (is it executable?)")
        }
        _ => format!("cannot run {program}: {e}"),
    }
}

/// An argument as a shell would need it, for showing the command line.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,@%+{}*".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The command's process group. Dropped while armed (the run's task dropped mid-way), it
/// kills the group at once; a program that exited normally disarms it, and what it left
/// running in the background is left alone.
struct Group {
    pgid: i32,
    armed: bool,
}

impl Group {
    fn new(pgid: i32) -> Group {
        Group { pgid, armed: true }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) has no memory effects; a negative pid names the process group.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }

    /// SIGTERM to the group, SIGKILL after `grace` to what is still alive; returns once the
    /// group is gone (or a last few seconds passed) and the leader is reaped.
    async fn terminate(mut self, child: &mut Child, grace: Duration) {
        self.signal(libc::SIGTERM);
        if !self.gone_within(child, grace).await {
            self.signal(libc::SIGKILL);
            // A killed process still has to be scheduled to die.
            self.gone_within(child, Duration::from_secs(2)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        self.disarm();
    }

    /// Whether every process of the group ended within `limit`.
    async fn gone_within(&self, child: &mut Child, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            // A leader not yet reaped is a zombie: reap it so it is not counted.
            let _ = child.try_wait();
            if !group_alive(self.pgid) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.armed {
            self.signal(libc::SIGKILL);
        }
    }
}

/// Whether any process of group `pgid` is alive (zombies are not: the machine's init may
/// never reap an orphan).
fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        // SAFETY: signal 0 only checks that the group exists.
        return unsafe { libc::kill(-pgid, 0) } == 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .any(|stat| {
            // After the command's name (in parentheses, may hold anything): state ppid pgrp.
            let mut fields = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace())
                .into_iter()
                .flatten();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
            pgrp == Some(pgid) && state.is_some_and(|s| s != "Z" && s != "X")
        })
}
