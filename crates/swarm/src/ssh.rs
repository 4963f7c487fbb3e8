//! `ssh://[user@]host[:port][/socket/path]` engines, the way the docker CLI reaches them: the
//! user's own `ssh` (their config, agent, keys, ProxyJump, known_hosts) runs
//! `docker system dial-stdio` on the far side, one ssh channel per HTTP connection, its stdin
//! and stdout the connection. `BatchMode=yes` so it never prompts over the screen; one
//! ControlMaster per endpoint (`ControlMaster=auto`, kept 60 s after its last channel and made
//! again by the next one when it is gone). What ssh says on failure becomes the error, in words.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Extra ssh arguments for every endpoint (`[ssh]` in the config: `-F FILE`, `-i KEY`, `-o …`),
/// and the ssh program. Process-wide, like the user's own ssh config.
#[derive(Clone, Debug, PartialEq)]
pub struct SshOptions {
    pub program: String,
    pub args: Vec<String>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            program: "ssh".into(),
            args: Vec::new(),
        }
    }
}

static OPTIONS: RwLock<Option<SshOptions>> = RwLock::new(None);

/// Sets the ssh program and arguments every ssh:// endpoint uses from now on.
pub fn set_options(o: SshOptions) {
    if let Ok(mut g) = OPTIONS.write() {
        *g = Some(o);
    }
}

pub fn options() -> SshOptions {
    OPTIONS
        .read()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_default()
}

/// An `ssh://` endpoint, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on the far side (the URL's path), else the default one.
    pub socket: Option<String>,
}

pub fn parse(endpoint: &str) -> Result<Target, String> {
    let rest = endpoint
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("{endpoint}: not an ssh:// endpoint"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
            h,
            Some(
                p.parse::<u16>()
                    .map_err(|_| format!("{endpoint}: {p:?} is not a port"))?,
            ),
        ),
        _ => (hostport, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    // Nothing that ssh would read as an option.
    if host.is_empty()
        || host.starts_with('-')
        || user.as_deref().is_some_and(|u| u.starts_with('-'))
    {
        return Err(format!("{endpoint}: not a host to ssh to"));
    }
    Ok(Target {
        user,
        host: host.to_string(),
        port,
        socket: path.filter(|p| p.len() > 1).map(str::to_string),
    })
}

impl Target {
    /// `user@host` or `host`, as messages name it.
    pub fn shown(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The ssh command line for one channel running `remote`.
    pub fn command(&self, o: &SshOptions, remote: &[&str]) -> Command {
        let mut c = Command::new(&o.program);
        c.args(&o.args);
        c.args(base_args());
        if let Some(p) = self.port {
            c.args(["-p", &p.to_string()]);
        }
        if let Some(u) = &self.user {
            c.args(["-l", u]);
        }
        c.arg("--").arg(&self.host).args(remote);
        c
    }

    /// The far side's dial-stdio, at the URL's socket when it names one.
    fn dial(&self) -> Vec<String> {
        let mut v = vec!["docker".to_string()];
        if let Some(s) = &self.socket {
            v.push(format!("--host=unix://{s}"));
        }
        v.extend(["system".into(), "dial-stdio".into()]);
        v
    }
}

/// Options every channel gets: never prompt, fail fast, notice a dead peer, share one master.
fn base_args() -> Vec<String> {
    let dir = control_dir();
    vec![
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        "ConnectTimeout=5".into(),
        "-o".into(),
        "ServerAliveInterval=3".into(),
        "-o".into(),
        "ServerAliveCountMax=2".into(),
        "-o".into(),
        "ControlMaster=auto".into(),
        "-o".into(),
        format!("ControlPath={dir}/%C"),
        "-o".into(),
        "ControlPersist=60".into(),
        "-T".into(),
    ]
}

/// A private directory for the masters' sockets (short: a socket path has ~100 bytes).
fn control_dir() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = format!("/tmp/clusterdeck-ssh-{uid}");
    let _ = std::fs::create_dir_all(&dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    dir
}

/// What ssh printed on failure, in words that say what to do.
pub fn explain(t: &Target, stderr: &str) -> String {
    let text = stderr.trim();
    let lower = text.to_ascii_lowercase();
    let who = t.shown();
    if lower.contains("host key verification failed") {
        format!(
            "ssh: host key verification failed for {} (not in known_hosts, or changed)",
            t.host
        )
    } else if lower.contains("permission denied") {
        let how = text
            .rsplit_once('(')
            .map(|(_, m)| m.trim_end_matches(['.', ')']))
            .unwrap_or("publickey");
        format!("ssh: permission denied ({how}) for {who}")
    } else if lower.contains("connection refused") {
        format!("ssh: connection refused by {}", t.host)
    } else if lower.contains("timed out") {
        format!("ssh: no answer from {} (timed out)", t.host)
    } else if lower.contains("could not resolve") {
        format!("ssh: cannot resolve {}", t.host)
    } else if lower.contains("docker: not found") || lower.contains("command not found") {
        format!("ssh: no docker CLI on {} (dial-stdio needs it)", t.host)
    } else if text.is_empty() {
        format!("ssh: {who} closed the connection")
    } else {
        let first = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(text);
        format!("ssh {who}: {first}")
    }
}

/// Connects every HTTP connection through a new ssh channel.
#[derive(Clone)]
pub struct SshConnector(pub Arc<Target>);

impl tower_service::Service<hyper::Uri> for SshConnector {
    type Response = TokioIo<Channel>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let t = Arc::clone(&self.0);
        Box::pin(async move { Channel::open(t).map(TokioIo::new) })
    }
}

/// One ssh process: its stdout is what the engine says, its stdin what we send.
pub struct Channel {
    target: Arc<Target>,
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: Arc<Mutex<String>>,
    /// Set once ssh's stderr has been read to its end.
    said_all: Arc<std::sync::atomic::AtomicBool>,
    /// When the channel closed without a byte from the engine (waiting for ssh's words).
    closed_at: Option<std::time::Instant>,
    read_any: bool,
}

impl Channel {
    fn open(target: Arc<Target>) -> io::Result<Channel> {
        let dial = target.dial();
        let dial: Vec<&str> = dial.iter().map(String::as_str).collect();
        let mut cmd = target.command(&options(), &dial);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("ssh: cannot run {}: {e}", options().program),
            )
        })?;
        let (Some(stdin), Some(stdout), Some(mut err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh: no pipes"));
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let keep = Arc::clone(&stderr);
        let said_all = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = Arc::clone(&said_all);
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf).await;
            if let Ok(mut s) = keep.lock() {
                // Bounded: ssh says little; a chatty far side is cut.
                buf.truncate(4096);
                *s = String::from_utf8_lossy(&buf).into_owned();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        Ok(Channel {
            target,
            child,
            stdin,
            stdout,
            stderr,
            said_all,
            closed_at: None,
            read_any: false,
        })
    }

    /// The reason ssh gave, once it has exited (or what it said so far).
    fn failure(&mut self) -> io::Error {
        let _ = self.child.start_kill();
        let said = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            explain(&self.target, &said),
        )
    }
}

impl AsyncRead for Channel {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stdout).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && !this.read_any => {
                // Closed before the engine said anything: ssh failed; say why. Its stderr is
                // read by a task of its own: wait (at most 2 s) until that has all of it.
                let since = *this.closed_at.get_or_insert_with(std::time::Instant::now);
                let all = this.said_all.load(std::sync::atomic::Ordering::Acquire);
                if !all && since.elapsed() < std::time::Duration::from_secs(2) {
                    let waker = cx.waker().clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        waker.wake();
                    });
                    return Poll::Pending;
                }
                Poll::Ready(Err(this.failure()))
            }
            Poll::Ready(Ok(())) => {
                this.read_any |= buf.filled().len() > before;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Channel {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}

impl Connection for Channel {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_the_docker_cli_reads_them() {
        let t = parse("ssh://ops@mgr1:2222/run/docker.sock").expect("parses");
        assert_eq!(t.user.as_deref(), Some("ops"));
        assert_eq!((t.host.as_str(), t.port), ("mgr1", Some(2222)));
        assert_eq!(
            t.dial(),
            vec![
                "docker",
                "--host=unix:///run/docker.sock",
                "system",
                "dial-stdio"
            ]
        );
        let t = parse("ssh://10.99.1.2").expect("parses");
        assert_eq!((t.user, t.port, t.socket), (None, None, None));
        assert!(parse("ssh://-oProxyCommand=x").is_err());
        assert!(parse("ssh://mgr1:port").is_err());
    }

    #[test]
    fn failures_in_words() {
        let t = parse("ssh://root@mgr1").expect("parses");
        assert_eq!(
            explain(&t, "Host key verification failed.\r\n"),
            "ssh: host key verification failed for mgr1 (not in known_hosts, or changed)"
        );
        assert_eq!(
            explain(&t, "root@mgr1: Permission denied (publickey).\r\n"),
            "ssh: permission denied (publickey) for root@mgr1"
        );
        assert_eq!(
            explain(
                &t,
                "ssh: connect to host mgr1 port 22: Connection refused\r\n"
            ),
            "ssh: connection refused by mgr1"
        );
    }
}
