//! Forwarding to syslog (RFC 5424 over the local socket, UDP or TCP). The local record is always
//! written first and never waits for syslog: a shipper thread follows the log from a cursor file
//! (`<log>.shipped`, the last sequence number delivered and the hash of its line), so records written while syslog was
//! down are sent when it returns, even by a later console. Of several consoles on one host, the
//! one holding `<log>.ship.lock` ships; the others stand by.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::anchor::CHAIN_RESTART;
use super::log::AuditLog;
use super::record::{AuditRecord, sha256_hex};

/// RFC 5424 facility 13: "log audit".
const FACILITY: u8 = 13;
/// How often a standing-by or idle shipper looks for work.
const POLL: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const IO_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogTarget {
    Unix(PathBuf),
    Udp(String),
    Tcp(String),
}

impl SyslogTarget {
    pub fn parse(s: &str) -> Result<SyslogTarget, String> {
        if let Some(p) = s.strip_prefix("unix://") {
            Ok(SyslogTarget::Unix(PathBuf::from(p)))
        } else if let Some(a) = s.strip_prefix("udp://") {
            Ok(SyslogTarget::Udp(a.to_string()))
        } else if let Some(a) = s.strip_prefix("tcp://") {
            Ok(SyslogTarget::Tcp(a.to_string()))
        } else {
            Err(format!(
                "syslog target `{s}`: use unix://PATH, udp://HOST:PORT or tcp://HOST:PORT"
            ))
        }
    }
}

enum Conn {
    Unix(UnixDatagram, PathBuf),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Conn {
    fn open(t: &SyslogTarget) -> io::Result<Conn> {
        Ok(match t {
            SyslogTarget::Unix(p) => Conn::Unix(UnixDatagram::unbound()?, p.clone()),
            SyslogTarget::Udp(a) => {
                let s = UdpSocket::bind(if a.starts_with('[') {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                })?;
                s.connect(a.as_str())?;
                Conn::Udp(s)
            }
            SyslogTarget::Tcp(a) => {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(a.as_str())?
                    .next()
                    .ok_or_else(|| io::Error::other(format!("{a}: no address")))?;
                let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
                s.set_write_timeout(Some(IO_TIMEOUT))?;
                Conn::Tcp(s)
            }
        })
    }

    fn send(&mut self, msg: &str) -> io::Result<()> {
        match self {
            Conn::Unix(s, p) => s.send_to(msg.as_bytes(), p.as_path()).map(|_| ()),
            Conn::Udp(s) => s.send(msg.as_bytes()).map(|_| ()),
            // RFC 6587 octet counting.
            Conn::Tcp(s) => s.write_all(format!("{} {msg}", msg.len()).as_bytes()),
        }
    }
}

fn sd_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// One record as an RFC 5424 message; the MSG part is the record's JSON line.
pub fn format_rfc5424(r: &AuditRecord, line: &str) -> String {
    let severity = match r.result.as_deref() {
        Some("error") | Some("abandoned") | Some("unknown") | Some("refused") => 4,
        _ => 5,
    };
    let procid = r.op_id.rsplit('-').nth(1).unwrap_or("-");
    let host = if r.host.is_empty() {
        "-"
    } else {
        r.host.as_str()
    };
    format!(
        "<{}>1 {} {} clusterdeck {} {} [clusterdeck@32473 seq=\"{}\" op=\"{}\" user=\"{}\" context=\"{}\" verb=\"{}\" target=\"{}\" result=\"{}\"] {}",
        FACILITY * 8 + severity,
        r.time,
        host.replace(' ', "_"),
        procid,
        r.phase,
        r.seq,
        sd_escape(&r.op_id),
        sd_escape(&r.user),
        sd_escape(&r.context),
        sd_escape(&r.verb),
        sd_escape(&r.target),
        sd_escape(r.result.as_deref().unwrap_or("-")),
        line
    )
}

fn sibling(log: &Path, suffix: &str) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The cursor: the sequence number of the last record delivered and the hash of its line, so
/// that a chain that restarted (its numbers begin again) is noticed rather than skipped.
fn read_cursor(path: &Path) -> (u64, Option<String>) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut parts = text.split_whitespace();
    let seq = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (seq, parts.next().map(str::to_string))
}

fn write_cursor(path: &Path, seq: u64, hash: &str) -> io::Result<()> {
    let tmp = sibling(path, ".tmp");
    fs::write(&tmp, format!("{seq} {hash}\n"))?;
    fs::rename(&tmp, path)
}

/// Where shipping resumes: after the cursor while the record there is still the one that was
/// shipped; otherwise the chain restarted, and shipping starts again at its latest
/// `chain-restart` record (or at its beginning), since resending beats losing.
fn resume_after(log: &AuditLog, seq: u64, hash: Option<&str>) -> io::Result<u64> {
    let Some(hash) = hash else {
        return Ok(seq);
    };
    if seq == 0 {
        return Ok(0);
    }
    let at = log.lines_after(seq - 1)?;
    let same = at
        .first()
        .is_some_and(|(r, l)| r.seq == seq && sha256_hex(l.as_bytes()) == hash);
    if same {
        return Ok(seq);
    }
    Ok(log
        .read_all()?
        .iter()
        .rev()
        .find(|r| r.phase == CHAIN_RESTART)
        .map_or(0, |r| r.seq.saturating_sub(1)))
}

/// Longest message sent (rsyslog's default maxMessageSize is 8 KiB); a longer record is cut
/// with a marker that says where the whole one is, so it never blocks delivery.
pub const MAX_MESSAGE: usize = 8192;

fn bounded(msg: String, r: &AuditRecord) -> String {
    if msg.len() <= MAX_MESSAGE {
        return msg;
    }
    let marker = format!(
        " …[cut: {} bytes; the whole record is seq {} of the local audit log]",
        msg.len(),
        r.seq
    );
    let mut end = MAX_MESSAGE - marker.len();
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{marker}", &msg[..end])
}

/// The forwarding thread's handle; dropping it stops the thread.
pub struct Shipper {
    wake: mpsc::Sender<()>,
}

impl Shipper {
    pub fn spawn(log: AuditLog, target: SyslogTarget) -> Shipper {
        let (wake, rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("audit-syslog".into())
            .spawn(move || run(log, target, rx))
            .ok();
        Shipper { wake }
    }

    /// A record was appended: ship it now rather than at the next poll.
    pub fn notify(&self) {
        let _ = self.wake.send(());
    }
}

/// Ships everything after the cursor; returns how many records were sent.
pub fn ship_pending(log: &AuditLog, target: &SyslogTarget) -> io::Result<usize> {
    let lock_path = sibling(log.path(), ".ship.lock");
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)?;
    // SAFETY: flock on an fd we own; non-blocking so a standing-by console never waits.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Ok(0);
    }
    let cursor_path = sibling(log.path(), ".shipped");
    let (seq, hash) = read_cursor(&cursor_path);
    let cursor = resume_after(log, seq, hash.as_deref())?;
    let pending = log.lines_after(cursor)?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut conn = Conn::open(target)?;
    let mut sent = 0;
    let mut last: Option<(u64, String)> = None;
    let result = (|| {
        for (rec, line) in &pending {
            conn.send(&bounded(format_rfc5424(rec, line), rec))?;
            last = Some((rec.seq, sha256_hex(line.as_bytes())));
            sent += 1;
        }
        Ok(())
    })();
    if let Some((seq, hash)) = last {
        write_cursor(&cursor_path, seq, &hash)?;
    }
    result.map(|()| sent)
}

fn run(log: AuditLog, target: SyslogTarget, rx: mpsc::Receiver<()>) {
    let mut backoff = POLL;
    loop {
        match rx.recv_timeout(backoff) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        backoff = match ship_pending(&log, &target) {
            Ok(_) => {
                record_success(log.path());
                POLL
            }
            Err(e) => {
                record_failure(log.path(), &e.to_string());
                (backoff * 2).min(MAX_BACKOFF)
            }
        };
    }
}

/// Why records are not reaching syslog, and since when (`<log>.ship.status`, present only
/// while delivery fails, so that the header of every console on the host and
/// `clusterdeck audit status` can say so).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShipFailure {
    /// RFC 3339.
    pub since: String,
    pub error: String,
}

fn status_path(log: &Path) -> PathBuf {
    sibling(log, ".ship.status")
}

/// The current delivery failure, if any.
pub fn failure(log: &Path) -> Option<ShipFailure> {
    let text = fs::read_to_string(status_path(log)).ok()?;
    serde_json::from_str(&text).ok()
}

fn record_failure(log: &Path, error: &str) {
    let since = failure(log).map_or_else(
        || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        |f| f.since,
    );
    let f = ShipFailure {
        since,
        error: error.to_string(),
    };
    if let Ok(text) = serde_json::to_string(&f) {
        let tmp = sibling(log, ".ship.status.tmp");
        if fs::write(&tmp, text).is_ok() {
            let _ = fs::rename(&tmp, status_path(log));
        }
    }
}

fn record_success(log: &Path) {
    let _ = fs::remove_file(status_path(log));
}

/// The shipping cursor's sequence number (0 before anything was shipped).
pub fn shipped_through(log: &Path) -> u64 {
    read_cursor(&sibling(log, ".shipped")).0
}
