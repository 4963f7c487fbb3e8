//! Syslog forwarding of the audit log against a real rsyslogd on loopback TCP
//! (`scripts/engines/rsyslog.sh`): every record arrives as an RFC 5424 message whose MSG part is
//! the local JSON line; with rsyslog stopped, actions still run at full speed and the local log
//! stays complete; when rsyslog returns, the shipper catches up on what it missed.
//!
//! The gate is driven in-process (as the app does), with a channel standing in for the backend.
//! rsyslog is installed with apt when missing; if it cannot be installed or started the test
//! fails, it is never skipped.

mod support;

use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use clusterdeck::backends::{BackendHandle, OpCommand};
use clusterdeck::model::SourceKind;
use clusterdeck::model::store::ClusterState;
use clusterdeck::ops::audit::ship::{Shipper, SyslogTarget};
use clusterdeck::ops::audit::{AuditLog, AuditRecord, verify};
use clusterdeck::ops::{Executor, Gate, Op, OpRequest};

use support::{demo_app, operator};

/// The checkout's script, found at run time: cargo sets CARGO_MANIFEST_DIR for the test process,
/// and a binary reused from a shared target directory may have been built in another checkout.
fn script() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("scripts/engines/rsyslog.sh")
}
/// One action (check, confirm, release with a synced intent, outcome synced) must never wait
/// for syslog.
const ACTION_LIMIT: Duration = Duration::from_secs(1);
/// Records written while rsyslog is up arrive within this.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);
/// After a restart: the shipper backs off up to 30 s between attempts.
const CATCH_UP_WAIT: Duration = Duration::from_secs(60);

/// A private rsyslogd started by the engine script; stopped (by its pid) when dropped.
struct Rsyslog {
    dir: PathBuf,
    port: u16,
    running: bool,
}

impl Rsyslog {
    fn start(dir: &Path, port: u16) -> Rsyslog {
        let mut r = Rsyslog {
            dir: dir.to_path_buf(),
            port,
            running: false,
        };
        r.restart();
        r
    }

    fn script(&self, args: &[&str]) {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .output()
            .expect("run scripts/engines/rsyslog.sh");
        assert!(
            out.status.success(),
            "rsyslog.sh {args:?} failed ({}): rsyslog is required for this test and is installed \
             with apt-get when missing.\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn restart(&mut self) {
        let dir = self.dir.to_str().expect("temp paths are UTF-8").to_string();
        self.script(&["start", &dir, &self.port.to_string()]);
        self.running = true;
    }

    fn stop(&mut self) {
        let dir = self.dir.to_str().expect("temp paths are UTF-8").to_string();
        self.script(&["stop", &dir]);
        self.running = false;
    }

    fn received_path(&self) -> PathBuf {
        self.dir.join("received.log")
    }

    /// The complete lines rsyslog wrote that came from clusterdeck (its app name is in every
    /// header). rsyslogd's own messages, if it logs any, are shown but not counted.
    fn received_lines(&self) -> Vec<String> {
        let text = match std::fs::read_to_string(self.received_path()) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("cannot read {}: {e}", self.received_path().display()),
        };
        // Only complete lines: rsyslog may be in the middle of writing the last one.
        let complete = text.rfind('\n').map_or("", |i| &text[..i]);
        let (ours, other): (Vec<&str>, Vec<&str>) =
            complete.lines().partition(|l| l.contains(" clusterdeck "));
        for l in other {
            eprintln!("rsyslog also wrote (ignored): {l}");
        }
        ours.into_iter().map(str::to_string).collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if self.running {
            let _ = Command::new("bash")
                .arg(script())
                .arg("stop")
                .arg(&self.dir)
                .output();
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

fn cluster() -> ClusterState {
    demo_app().store.clusters[0].clone()
}

/// A live gate on `path` whose backend is a channel, forwarding to `target`.
fn gate(path: &Path, target: SyslogTarget) -> (Gate, mpsc::Receiver<OpCommand>) {
    let (tx, rx) = mpsc::channel(4);
    let handle = BackendHandle {
        cluster: "demo".into(),
        source: SourceKind::Swarm,
        ops: tx,
    };
    let log = AuditLog::new(path);
    let gate = Gate::live(log.clone(), Executor::new(vec![handle]), operator())
        .with_shipper(Shipper::spawn(log, target));
    (gate, rx)
}

/// One action through the gate, as the app performs it: check, confirm, release (intent),
/// the backend's command taken off the queue, outcome. Every fifth action fails (so both
/// severities are shipped). Returns how long the whole action took.
fn act(
    gate: &mut Gate,
    rx: &mut mpsc::Receiver<OpCommand>,
    cluster: &ClusterState,
    n: u32,
) -> Duration {
    let t = Instant::now();
    let replicas = 100 + n;
    let req = OpRequest::named("demo", "web", Op::Scale { replicas });
    let confirmed = gate
        .check(req, Some(cluster), &[])
        .expect("scale is planned")
        .confirm("")
        .expect("normal risk needs no typing");
    let rel = gate
        .release(confirmed, Some(cluster), &[])
        .expect("released");
    let cmd = rx.try_recv().expect("the command reached the backend");
    assert_eq!(cmd.op_id, rel.op_id);
    let result = if n.is_multiple_of(5) {
        Err("simulated failure: no suitable node".to_string())
    } else {
        Ok(format!("web: {replicas}/{replicas} running"))
    };
    gate.outcome(&rel.op_id, &rel.request, &result, None, t.elapsed())
        .expect("outcome written");
    t.elapsed()
}

/// Performs actions `range`, asserting each one is fast; returns the slowest.
fn act_many(
    gate: &mut Gate,
    rx: &mut mpsc::Receiver<OpCommand>,
    cluster: &ClusterState,
    range: std::ops::RangeInclusive<u32>,
) -> Duration {
    let mut slowest = Duration::ZERO;
    for n in range {
        let took = act(gate, rx, cluster, n);
        assert!(
            took < ACTION_LIMIT,
            "action {n} took {took:?}: the syslog shipper must never hold up the gate"
        );
        slowest = slowest.max(took);
    }
    slowest
}

/// The local log, line by line, keyed by sequence number.
fn local_lines(path: &Path) -> BTreeMap<u64, (AuditRecord, String)> {
    AuditLog::new(path)
        .lines_after(0)
        .expect("read the local audit log")
        .into_iter()
        .map(|(r, l)| (r.seq, (r, l)))
        .collect()
}

/// The RFC 5424 message the shipper must produce for a local line, built independently of
/// `format_rfc5424`: `<PRI>1 TIME HOST clusterdeck PROCID MSGID [SD] JSON-LINE`.
fn expected_message(rec: &AuditRecord, line: &str) -> String {
    // Facility 13 (log audit); severity 4 (warning) for failures, 5 (notice) otherwise.
    let pri = match rec.result.as_deref() {
        Some("error") | Some("abandoned") => "<108>",
        _ => "<109>",
    };
    let pid = rec
        .op_id
        .split('-')
        .nth(1)
        .expect("op id is <time>-<pid>-<seq>");
    format!(
        "{pri}1 {} {} clusterdeck {pid} {} [clusterdeck@32473 seq=\"{}\" op=\"{}\" user=\"{}\" \
         context=\"{}\" verb=\"{}\" target=\"{}\" result=\"{}\"] {line}",
        rec.time,
        rec.host,
        rec.phase,
        rec.seq,
        rec.op_id,
        rec.user,
        rec.context,
        rec.verb,
        rec.target,
        rec.result.as_deref().unwrap_or("-"),
    )
}

/// The sequence number a received message carries in its structured data.
fn received_seq(msg: &str) -> u64 {
    let start = msg
        .find("[clusterdeck@32473 seq=\"")
        .unwrap_or_else(|| panic!("no clusterdeck structured data in: {msg}"))
        + "[clusterdeck@32473 seq=\"".len();
    msg[start..]
        .split('"')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no seq in: {msg}"))
}

/// Received messages by sequence number (every copy, in arrival order).
fn received_by_seq(lines: &[String]) -> BTreeMap<u64, Vec<String>> {
    let mut by: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for l in lines {
        by.entry(received_seq(l)).or_default().push(l.clone());
    }
    by
}

/// Polls rsyslog's file until every sequence number 1..=n has arrived.
fn wait_received(rs: &Rsyslog, n: u64, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = rs.received_lines();
        let by = received_by_seq(&lines);
        if (1..=n).all(|s| by.contains_key(&s)) {
            return lines;
        }
        if Instant::now() >= deadline {
            let missing: Vec<u64> = (1..=n).filter(|s| !by.contains_key(s)).collect();
            panic!(
                "after {limit:?} rsyslog has {} messages; missing seq {missing:?}; rsyslogd output:\n{}",
                lines.len(),
                std::fs::read_to_string(rs.dir.join("rsyslogd.out")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every received copy is exactly the message expected for its local line; returns the
/// sequence numbers received more than once.
fn check_received(lines: &[String], local: &BTreeMap<u64, (AuditRecord, String)>) -> Vec<u64> {
    let by = received_by_seq(lines);
    for (seq, copies) in &by {
        let (rec, line) = local
            .get(seq)
            .unwrap_or_else(|| panic!("rsyslog received seq {seq}, which is not in the local log"));
        let want = expected_message(rec, line);
        for got in copies {
            assert_eq!(got, &want, "message for seq {seq}");
            // The MSG part is the local line, byte for byte, and parses back to the record.
            let json = got
                .split_once("\"] ")
                .map(|(_, j)| j)
                .expect("structured data then MSG");
            assert_eq!(json, line, "MSG of seq {seq}");
            let back: AuditRecord = serde_json::from_str(json).expect("MSG is the JSON record");
            assert_eq!(&back, rec);
        }
    }
    by.iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(s, _)| *s)
        .collect()
}

#[test]
fn rsyslog_receives_every_record_and_catches_up_after_an_outage() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("create a temp dir");
    let path = dir.path().join("audit.jsonl");
    let port = free_port();
    let mut rs = Rsyslog::start(&dir.path().join("rsyslog"), port);
    eprintln!("rsyslog up on 127.0.0.1:{port} after {:?}", t0.elapsed());

    let c = cluster();
    let (mut gate, mut rx) = gate(&path, SyslogTarget::Tcp(format!("127.0.0.1:{port}")));

    // 1. rsyslog up: 20 actions, 40 records, all delivered as the local lines.
    let slowest = act_many(&mut gate, &mut rx, &c, 1..=20);
    let t1 = Instant::now();
    let lines = wait_received(&rs, 40, DELIVERY_WAIT);
    eprintln!(
        "phase 1: 20 actions (slowest {slowest:?}), 40 records delivered {:?} after the last",
        t1.elapsed()
    );
    let local = local_lines(&path);
    assert_eq!(local.len(), 40);
    let dup1 = check_received(&lines, &local);
    let before_outage = lines.len();
    assert!(
        local
            .values()
            .any(|(r, _)| r.result.as_deref() == Some("error")),
        "some outcomes are failures (severity 4)"
    );

    // 2. rsyslog stopped: actions run as fast as before, the local log is complete.
    rs.stop();
    let t2 = Instant::now();
    let slowest = act_many(&mut gate, &mut rx, &c, 21..=40);
    eprintln!(
        "phase 2: rsyslog down, 20 actions in {:?} (slowest {slowest:?})",
        t2.elapsed()
    );
    let report = verify(&path).expect("the local log verifies");
    assert_eq!(report.records, 80);
    let local = local_lines(&path);
    assert_eq!(
        local.keys().copied().collect::<Vec<_>>(),
        (1..=80).collect::<Vec<_>>()
    );
    assert_eq!(
        rs.received_lines().len(),
        before_outage,
        "nothing can arrive while rsyslog is down"
    );

    // 3. rsyslog back on the same port: the shipper delivers 41..=80 without new actions.
    rs.restart();
    let t3 = Instant::now();
    let lines = wait_received(&rs, 80, CATCH_UP_WAIT);
    eprintln!(
        "phase 3: rsyslog restarted; 80 records present {:?} after the restart",
        t3.elapsed()
    );
    let dups = check_received(&lines, &local);
    let after: Vec<u64> = received_by_seq(&lines[before_outage..])
        .keys()
        .copied()
        .collect();
    assert!(
        (41..=80).all(|s| after.contains(&s)),
        "records 41..=80 arrived after the restart: {after:?}"
    );
    // Delivery is at least once; a duplicate is tolerated but reported.
    if !dups.is_empty() || !dup1.is_empty() {
        eprintln!("duplicates delivered: phase 1 {dup1:?}, overall {dups:?}");
    }
    assert_eq!(
        lines.len(),
        80 + dups
            .iter()
            .map(|s| received_by_seq(&lines)[s].len() - 1)
            .sum::<usize>(),
        "no message other than the 80 records (and reported duplicates)"
    );
    drop(gate);
    rs.stop();
    eprintln!("syslog test took {:?}", t0.elapsed());
}

/// The datagram targets, without rsyslog: a UDP socket and a unix datagram socket on loopback
/// each receive every record as one datagram, MSG equal to the local line.
#[test]
fn udp_and_unix_datagram_targets_receive_every_record() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let c = cluster();

    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    udp.set_read_timeout(Some(DELIVERY_WAIT))
        .expect("set a read timeout");
    let addr = udp.local_addr().expect("local address");
    let sock_path = dir.path().join("log.sock");
    let unix = UnixDatagram::bind(&sock_path).expect("bind a unix datagram socket");
    unix.set_read_timeout(Some(DELIVERY_WAIT))
        .expect("set a read timeout");

    type Recv<'a> = Box<dyn Fn(&mut [u8]) -> std::io::Result<usize> + 'a>;
    let cases: Vec<(&str, SyslogTarget, Recv)> = vec![
        (
            "udp",
            SyslogTarget::Udp(addr.to_string()),
            Box::new(|b: &mut [u8]| udp.recv(b)),
        ),
        (
            "unix",
            SyslogTarget::Unix(sock_path.clone()),
            Box::new(|b: &mut [u8]| unix.recv(b)),
        ),
    ];
    for (name, target, recv) in cases {
        let path = dir.path().join(format!("{name}.jsonl"));
        let (mut gate, mut rx) = gate(&path, target);
        act_many(&mut gate, &mut rx, &c, 1..=5);
        let local = local_lines(&path);
        assert_eq!(local.len(), 10);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        while got.len() < 10 {
            let n = recv(&mut buf)
                .unwrap_or_else(|e| panic!("{name}: only {} of 10 datagrams: {e}", got.len()));
            got.push(String::from_utf8(buf[..n].to_vec()).expect("a UTF-8 datagram"));
        }
        let dups = check_received(&got, &local);
        assert!(dups.is_empty(), "{name}: duplicates {dups:?}");
        assert_eq!(
            received_by_seq(&got).keys().copied().collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>(),
            "{name}"
        );
    }
}

/// The shipper's cursor is tied to the chain: after the log is deleted (the chain restarts at
/// 1 with a chain-restart record) the new records are shipped, not skipped as "at or below
/// the cursor"; a record longer than a syslog message is cut with a marker and delivery goes
/// on.
#[test]
fn a_restarted_chain_is_shipped_and_an_oversized_record_is_cut_not_stuck() {
    let dir = tempfile::tempdir().expect("create a temp dir");
    let c = cluster();
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    udp.set_read_timeout(Some(DELIVERY_WAIT))
        .expect("set a read timeout");
    let addr = udp.local_addr().expect("local address");
    let path = dir.path().join("audit.jsonl");
    let (mut gate, mut rx) = gate(&path, SyslogTarget::Udp(addr.to_string()));
    let mut buf = vec![0u8; 65536];
    let mut recv = |n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                let len = udp
                    .recv(&mut buf)
                    .unwrap_or_else(|e| panic!("only {i} of {n} datagrams: {e}"));
                String::from_utf8(buf[..len].to_vec()).expect("UTF-8")
            })
            .collect()
    };
    act_many(&mut gate, &mut rx, &c, 1..=2);
    assert_eq!(received_by_seq(&recv(4)).len(), 4);

    std::fs::remove_file(&path).expect("delete the log");
    act_many(&mut gate, &mut rx, &c, 3..=3);
    let got = recv(3);
    let by_seq = received_by_seq(&got);
    assert_eq!(by_seq.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    assert!(by_seq[&1][0].contains("chain-restart"), "{:?}", by_seq[&1]);

    // An outcome whose message is far longer than a syslog message.
    let req = OpRequest::named("demo", "web", Op::Scale { replicas: 140 });
    let confirmed = gate
        .check(req, Some(&c), &[])
        .expect("planned")
        .confirm("")
        .expect("confirmed");
    let rel = gate.release(confirmed, Some(&c), &[]).expect("released");
    rx.try_recv().expect("sent");
    let long = format!("engine said: {}", "x".repeat(20_000));
    gate.outcome(
        &rel.op_id,
        &rel.request,
        &Err(long),
        None,
        Duration::from_millis(5),
    )
    .expect("outcome");
    let got = recv(2);
    let cut = got
        .iter()
        .find(|m| m.contains("seq=\"5\""))
        .expect("the outcome arrived");
    assert!(cut.len() <= 8192, "{} bytes", cut.len());
    assert!(
        cut.ends_with("the whole record is seq 5 of the local audit log]"),
        "{}",
        &cut[cut.len() - 120..]
    );
    // And delivery goes on after it.
    act_many(&mut gate, &mut rx, &c, 4..=4);
    assert_eq!(received_by_seq(&recv(2)).len(), 2);
}
