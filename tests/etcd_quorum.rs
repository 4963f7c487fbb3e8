//! The etcd quorum view against real etcd (started by the test command): a 3-member cluster on
//! loopback (`scripts/engines/etcd.sh`) losing one member (at risk), two (quorum lost) and
//! getting them back (healthy), each state compared with what `etcdctl` reports; and the
//! Kubernetes control plane's etcd, which demands TLS client certificates.

#[path = "support/netfault.rs"]
mod netfault;

use std::process::Command;
use std::time::{Duration, Instant};

use netfault::{DropRule, port_of};

use tokio::sync::mpsc;

use clusterdeck::app::incidents::{IncidentKind, Incidents};
use clusterdeck::backends::BackendMsg;
use clusterdeck::backends::etcd::{self, EtcdSettings, EtcdTls};
use clusterdeck::model::store::{ClusterState, Store};
use clusterdeck::model::{Quorum, QuorumVerdict, SourceKind};

/// Set by the test command once the engines run; missing means they were not started.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need real etcd; run them through scripts/test.sh")
    })
}

fn script() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        )
        .join("scripts/engines/etcd.sh")
}

fn etcd_sh(args: &[&str]) {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("etcd.sh runs");
    assert!(
        out.status.success(),
        "etcd.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The 3-member cluster is shared: one test at a time stops and starts its members.
static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    CLUSTER.lock().unwrap_or_else(|e| e.into_inner())
}

struct Watch {
    _rt: tokio::runtime::Runtime,
    rx: mpsc::Receiver<BackendMsg>,
    store: Store,
    cluster: String,
}

impl Watch {
    fn start(cluster: &str, endpoints: Vec<String>, tls: EtcdTls) -> Watch {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, rx) = mpsc::channel(1024);
        let mut s = EtcdSettings::new(cluster.into(), endpoints, tls);
        s.poll = Duration::from_millis(500);
        rt.block_on(async { etcd::spawn(s, tx) });
        Watch {
            _rt: rt,
            rx,
            store: Store::default(),
            cluster: cluster.into(),
        }
    }

    fn state(&self) -> Option<&ClusterState> {
        self.store.cluster(&self.cluster)
    }

    /// The console's incidents over this store now: (kind, objects).
    fn incidents(&self, engine: &mut Incidents) -> Vec<(IncidentKind, Vec<String>)> {
        engine.update(&self.store, &[], chrono::Utc::now());
        engine
            .current
            .iter()
            .map(|i| {
                (
                    i.kind,
                    i.affected.iter().map(|a| a.object.clone()).collect(),
                )
            })
            .collect()
    }

    fn wait<T>(
        &mut self,
        secs: u64,
        what: &str,
        mut f: impl FnMut(&ClusterState) -> Option<T>,
    ) -> T {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.store.apply(m);
            }
            if let Some(v) = self.state().and_then(&mut f) {
                return v;
            }
            assert!(
                Instant::now() < until,
                "timed out after {secs}s waiting for: {what}\nmembers: {:#?}\nsources: {:?}",
                self.state().map(|c| &c.etcd),
                self.state().map(|c| &c.sources)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// (member id in hex, leader id in hex, raft term) per endpoint that answers, from etcdctl.
fn etcdctl_status(endpoints: &str) -> Vec<(String, String, u64)> {
    // The etcdctl of the same release as the servers (etcd.sh names it).
    let out = Command::new(env("CD_ETCDCTL"))
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            endpoints,
            "--command-timeout=2s",
            "endpoint",
            "status",
            "-w",
            "json",
        ])
        .output()
        .expect("etcdctl runs");
    // Unreachable endpoints are left out of the JSON (and make the exit status non-zero).
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let hex = |v: &serde_json::Value| v.as_u64().map(|n| format!("{n:x}")).unwrap_or_default();
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = &e["Status"];
                    (
                        hex(&s["header"]["member_id"]),
                        hex(&s["leader"]),
                        s["header"]["raft_term"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn verdict(c: &ClusterState) -> QuorumVerdict {
    Quorum::from_etcd(&c.etcd).verdict
}

#[test]
fn one_member_down_is_at_risk_two_lose_quorum_and_restarts_heal() {
    let _g = lock();
    let endpoints = env("CD_ETCD_ENDPOINTS");
    // Every member of a fresh start, whatever happened in an earlier run.
    etcd_sh(&["start", "1", "2", "3"]);
    let mut w = Watch::start(
        "etcd3",
        endpoints.split(',').map(str::to_string).collect(),
        EtcdTls::default(),
    );
    w.wait(30, "3 healthy members with a leader", |c| {
        (c.etcd.len() == 3
            && c.etcd.iter().all(|m| m.healthy)
            && verdict(c) == QuorumVerdict::Healthy)
            .then_some(())
    });
    // What we show is what etcd says: the members, the leader, the term.
    let truth = etcdctl_status(&endpoints);
    assert_eq!(truth.len(), 3, "etcdctl sees 3 members: {truth:?}");
    let c = w.state().expect("state");
    let mut ours: Vec<String> = c.etcd.iter().map(|m| m.id.clone()).collect();
    let mut theirs: Vec<String> = truth.iter().map(|t| t.0.clone()).collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "member ids");
    let leader = c.etcd.iter().find(|m| m.leader).expect("a leader");
    assert_eq!(leader.id, truth[0].1, "the leader etcdctl reports");
    let term = leader.status.as_ref().expect("status").raft_term;
    assert_eq!(term, truth[0].2, "raft term");
    for m in &c.etcd {
        let s = m.status.as_ref().expect("every member answered");
        assert!(
            s.db_size > 0 && s.raft_index > 0 && !s.version.is_empty(),
            "{m:?}"
        );
        assert!(s.applied_index <= s.raft_index, "{m:?}");
    }
    let healthy_source = c.sources.get(&SourceKind::Etcd).map(|h| h.label());
    assert_eq!(healthy_source, Some("connected"));

    // Stop the leader: a new one is elected, one member is unreachable, no margin is left.
    let leader_name = leader.name.clone();
    let n = leader_name.trim_start_matches('e').to_string();
    etcd_sh(&["stop", &n]);
    w.wait(40, "at risk with a new leader", |c| {
        let down = c.etcd.iter().find(|m| m.name == leader_name)?;
        (verdict(c) == QuorumVerdict::AtRisk
            && down.status.is_none()
            && down.problem.is_some()
            && c.etcd.iter().any(|m| m.leader && m.name != leader_name))
        .then_some(())
    });
    let c = w.state().expect("state");
    let q = Quorum::from_etcd(&c.etcd);
    assert_eq!((q.reachable, q.managers, q.tolerates_now), (2, 3, 0));
    // The incidents: the member down, and quorum at risk.
    let mut engine = Incidents::default();
    let now = w.incidents(&mut engine);
    assert!(
        now.contains(&(IncidentKind::NodeDown, vec![format!("etcd {leader_name}")])),
        "{now:?}"
    );
    assert!(
        now.contains(&(IncidentKind::QuorumAtRisk, vec!["etcd".to_string()])),
        "{now:?}"
    );

    // A second member down: the last one answers but sees no leader.
    let other = c
        .etcd
        .iter()
        .find(|m| m.name != leader_name && !m.leader)
        .map(|m| m.name.clone())
        .expect("a follower");
    etcd_sh(&["stop", other.trim_start_matches('e')]);
    w.wait(
        40,
        "quorum lost, reported as degraded with the reason",
        |c| {
            let h = c.sources.get(&SourceKind::Etcd)?;
            (verdict(c) == QuorumVerdict::Lost
                && !c.etcd.iter().any(|m| m.leader)
                && h.label() == "degraded"
                && h.reason()?.contains("no leader: 1 of 3 members reachable"))
            .then_some(())
        },
    );

    let now = w.incidents(&mut engine);
    assert_eq!(
        now.first().map(|i| i.0),
        Some(IncidentKind::QuorumLost),
        "{now:?}"
    );
    assert!(
        now.iter()
            .any(|(k, objs)| *k == IncidentKind::NodeDown && objs.len() >= 2),
        "both members down: {now:?}"
    );

    // Both back: healthy again, all three with status.
    // Together: a member started while quorum is lost answers only once quorum is back.
    etcd_sh(&["start", &n, other.trim_start_matches('e')]);
    w.wait(60, "healthy again", |c| {
        (verdict(c) == QuorumVerdict::Healthy
            && c.etcd.iter().all(|m| m.healthy)
            && c.sources.get(&SourceKind::Etcd)?.label() == "connected")
            .then_some(())
    });
    let now = w.incidents(&mut engine);
    assert!(now.is_empty(), "resolved: {now:?}");
    assert!(
        engine
            .resolved
            .iter()
            .any(|r| r.incident.kind == IncidentKind::QuorumLost),
        "quorum lost listed as resolved"
    );
    let after = etcdctl_status(&endpoints);
    assert_eq!(after.len(), 3);
    let c = w.state().expect("state");
    let leader = c.etcd.iter().find(|m| m.leader).expect("a leader");
    // The term only moves forward, and an election has happened.
    assert!(leader.status.as_ref().expect("status").raft_term > term);
}

#[test]
fn one_endpoint_is_enough_to_see_every_member() {
    let _g = lock();
    let endpoints = env("CD_ETCD_ENDPOINTS");
    let first = endpoints
        .split(',')
        .next()
        .expect("an endpoint")
        .to_string();
    etcd_sh(&["start", "1", "2", "3"]);
    let mut w = Watch::start("etcd-one", vec![first], EtcdTls::default());
    w.wait(30, "all 3 members through one endpoint", |c| {
        (c.etcd.len() == 3 && c.etcd.iter().all(|m| m.status.is_some())).then_some(())
    });
}

#[test]
fn tls_with_a_client_certificate_and_without_one() {
    let endpoint = env("CD_KUBE_ETCD_ENDPOINT");
    let tls = EtcdTls {
        ca: Some(env("CD_KUBE_ETCD_CA").into()),
        cert: Some(env("CD_KUBE_ETCD_CERT").into()),
        key: Some(env("CD_KUBE_ETCD_KEY").into()),
    };
    let mut w = Watch::start("kube-etcd", vec![endpoint.clone()], tls.clone());
    w.wait(30, "the control plane's etcd over TLS", |c| {
        let m = c.etcd.first()?;
        // One member is its own quorum and tolerates no failure: at risk, by design.
        (c.etcd.len() == 1 && m.healthy && m.leader && verdict(c) == QuorumVerdict::AtRisk)
            .then_some(())
    });
    // The server demands a client certificate: without one there is no answer, and the reason
    // says so rather than an empty pane.
    let mut w = Watch::start(
        "kube-etcd-nocert",
        vec![endpoint],
        EtcdTls {
            cert: None,
            key: None,
            ..tls
        },
    );
    let reason = w.wait(30, "unreachable with the TLS reason", |c| {
        let h = c.sources.get(&SourceKind::Etcd)?;
        (h.label() == "unreachable").then(|| h.reason().unwrap_or("").to_string())
    });
    assert!(reason.contains("client certificate"), "{reason}");
    // A CA file that is not there is named.
    let mut w = Watch::start(
        "kube-etcd-noca",
        vec!["https://127.0.0.1:1".into()],
        EtcdTls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..EtcdTls::default()
        },
    );
    let hint = w.wait(10, "not configured, naming the file", |c| {
        c.sources
            .get(&SourceKind::Etcd)
            .filter(|h| h.label() == "not configured")
            .and_then(|h| h.reason().map(str::to_string))
    });
    assert!(hint.contains("/nonexistent/ca.pem"), "{hint}");
}

#[test]
fn nothing_listening_is_unreachable_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let ep = format!("http://127.0.0.1:{port}");
    let mut w = Watch::start("etcd-gone", vec![ep.clone()], EtcdTls::default());
    let reason = w.wait(20, "unreachable", |c| {
        let h = c.sources.get(&SourceKind::Etcd)?;
        (h.label() == "unreachable").then(|| h.reason().unwrap_or("").to_string())
    });
    assert!(reason.contains(&ep), "{reason}");
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
}

/// Silent partitions between this console and the members (packets dropped, nothing
/// refused): one member cut off is at risk, as a dead one would be (from here they look the
/// same); two cut off while the one that answers still follows a leader is unknown, not lost,
/// and the source is degraded with that reason; with the rules removed it is healthy again
/// within 30 s.
#[test]
fn members_cut_off_from_the_console_are_at_risk_then_unknown_never_lost() {
    let _g = lock();
    etcd_sh(&["start", "1", "2", "3"]);
    let endpoints = env("CD_ETCD_ENDPOINTS");
    let mut w = Watch::start(
        "etcd-part",
        endpoints.split(',').map(str::to_string).collect(),
        EtcdTls::default(),
    );
    w.wait(30, "healthy", |c| {
        (c.etcd.len() == 3 && verdict(c) == QuorumVerdict::Healthy).then_some(())
    });
    let c = w.state().expect("state");
    let leader = c
        .etcd
        .iter()
        .find(|m| m.leader)
        .expect("a leader")
        .name
        .clone();
    // Cut off the followers (leader's own port stays open).
    let followers: Vec<String> = c
        .etcd
        .iter()
        .filter(|m| m.name != leader)
        .map(|m| m.name.clone())
        .collect();
    let endpoint = |name: &str| {
        env(&format!(
            "CD_ETCD_E{}_ENDPOINT",
            name.trim_start_matches('e')
        ))
    };
    // Members' client ports: the members talk over their peer ports, so only this console's
    // path (and etcdctl's) is cut.
    let first = DropRule::install(port_of(&endpoint(&followers[0])), "etcd-partition");
    let started = Instant::now();
    w.wait(15, "one follower cut off: at risk", |c| {
        let cut = c.etcd.iter().find(|m| m.name == followers[0])?;
        (verdict(c) == QuorumVerdict::AtRisk && cut.status.is_none()).then_some(())
    });
    eprintln!("one member cut off shown after {:?}", started.elapsed());
    let second = DropRule::install(port_of(&endpoint(&followers[1])), "etcd-partition");
    let started = Instant::now();
    let reason = w.wait(15, "two cut off: unknown, degraded with the reason", |c| {
        let h = c.sources.get(&SourceKind::Etcd)?;
        (verdict(c) == QuorumVerdict::Unknown && h.label() == "degraded")
            .then(|| h.reason().unwrap_or_default().to_string())
    });
    eprintln!(
        "two members cut off shown after {:?}: {reason}",
        started.elapsed()
    );
    assert!(
        reason.contains("only 1 of 3 members answer here") && reason.contains(&leader),
        "{reason}"
    );
    // The cluster itself never lost quorum: etcdctl through the leader's port says so.
    let truth = etcdctl_status(&endpoint(&leader));
    assert_eq!(truth.len(), 1, "{truth:?}");
    drop(first);
    drop(second);
    let started = Instant::now();
    w.wait(30, "healthy again", |c| {
        (verdict(c) == QuorumVerdict::Healthy
            && c.sources.get(&SourceKind::Etcd)?.label() == "connected")
            .then_some(())
    });
    eprintln!("recovered {:?} after the rules' removal", started.elapsed());
}

/// The describe view of a member: its member-list entry as `etcdctl member list` gives it, and
/// the status it reports at its own client URL, with the member id etcdctl shows.
#[test]
fn a_member_is_described_as_etcdctl_lists_it() {
    let _g = lock();
    let endpoints = env("CD_ETCD_ENDPOINTS");
    etcd_sh(&["start", "1", "2", "3"]);
    let out = Command::new(env("CD_ETCDCTL"))
        .args(["--endpoints", &endpoints, "member", "list", "-w", "json"])
        .output()
        .expect("etcdctl runs");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("member list JSON");
    let theirs = listed["members"][0].clone();
    let id = format!("{:x}", theirs["ID"].as_u64().expect("an id"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ours: serde_json::Value = rt.block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let s = EtcdSettings::new(
            "etcd3".into(),
            endpoints.split(',').map(str::to_string).collect(),
            EtcdTls::default(),
        );
        let h = etcd::spawn_reader(s, tx);
        h.tx.send((clusterdeck::model::ObjectKind::Member, id.clone()))
            .await
            .expect("asked");
        let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("an answer in time")
            .expect("a message");
        let BackendMsg::Described { json, .. } = msg else {
            panic!("not a description")
        };
        serde_json::from_str(&json.expect("read")).expect("JSON")
    });
    let m = &ours["member"];
    // The gateway writes 64-bit ids as strings; etcdctl as numbers.
    assert_eq!(m["ID"].as_str(), Some(theirs["ID"].to_string().as_str()));
    for key in ["name", "peerURLs", "clientURLs"] {
        assert_eq!(m[key], theirs[key], "{key}");
    }
    let st = &ours["status"][0];
    assert_eq!(
        st["status"]["header"]["member_id"].as_str(),
        Some(theirs["ID"].to_string().as_str()),
        "{st}"
    );
    let summary = clusterdeck::app::describe::summary(&ours);
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("status") && l.contains("raft term")),
        "{summary:?}"
    );
}
