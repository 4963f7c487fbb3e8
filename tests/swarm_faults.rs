//! Faults on a real swarm: one manager stopped (at risk, tolerates 0 more), a second stopped
//! (QUORUM LOST: stale data kept with its reason, writes refused, no hang), both started again
//! (recovers without user action), and the dockerd the console is connected to killed (fails
//! over to another manager). Runs alone: it stops and starts engines.

#[path = "support/netfault.rs"]
mod netfault;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "swarm_support/mod.rs"]
mod swarm_support;

use std::time::{Duration, Instant};

use clusterdeck::model::{QuorumVerdict, SourceKind, SourceState};
use clusterdeck::ops::{Op, OpRequest};

use clusterdeck::app::incidents::{Annotation, IncidentKind, Incidents};
use clusterdeck::app::notify::{Notifier, NotifyConfig, WebhookConfig};
use clusterdeck::app::timeline::{Entry, Timeline, What, export};
use swarm_support::*;

/// The incident engine, a webhook notifier and the timeline over the test console's store, as
/// the console runs them after every change.
struct Watch {
    incidents: Incidents,
    notifier: Notifier,
    timeline: Timeline,
    hook: receiver::Receiver,
    _dir: tempfile::TempDir,
}

impl Watch {
    fn start(c: &Console) -> Watch {
        let hook = receiver::Receiver::start();
        let mut headers = std::collections::BTreeMap::new();
        headers.insert("X-Team".to_string(), "ops".to_string());
        let notifier = {
            let _rt = c.rt.enter();
            Notifier::spawn(NotifyConfig {
                on: vec!["new".into(), "resolved".into()],
                webhook: Some(WebhookConfig {
                    url: hook.url(),
                    headers,
                    ..Default::default()
                }),
                retries: 2,
                ..Default::default()
            })
            .expect("a notifier")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let timeline = Timeline::open(dir.path().join("timeline.jsonl"), 3600, 1 << 22, None)
            .expect("timeline");
        Watch {
            incidents: Incidents::default(),
            notifier,
            timeline,
            hook,
            _dir: dir,
        }
    }

    fn track(&mut self, c: &Console) {
        for n in self.incidents.update(&c.store, &[], chrono::Utc::now()) {
            self.notifier.send(&n);
            self.timeline.record(clusterdeck::app::notice_entry(&n));
        }
        let _ = self.timeline.flush();
    }

    fn open(&self, kind: IncidentKind, object: &str) -> bool {
        self.incidents
            .current
            .iter()
            .any(|i| i.kind == kind && i.affected.iter().any(|a| a.object == object))
    }
}

fn swarm_state(c: &Console) -> Option<SourceState> {
    c.cluster()?
        .sources
        .get(&SourceKind::Swarm)
        .map(|h| h.state.clone())
}

fn endpoint(c: &Console) -> Option<String> {
    c.cluster()?
        .sources
        .get(&SourceKind::Swarm)?
        .endpoint
        .clone()
}

/// Both tests change the swarm's membership: one at a time.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn quorum_loss_recovery_and_failover() {
    let _g = alone();
    create_service("t-faults", 2, "1", &[]);
    let mut c = Console::start(managers());
    c.wait(60, "healthy quorum", |c| {
        (c.cluster()?.quorum().verdict == QuorumVerdict::Healthy).then_some(())
    });
    let mut watch = Watch::start(&c);
    watch.track(&c);
    assert!(
        watch.incidents.current.is_empty(),
        "{:?}",
        watch.incidents.current
    );

    // One manager down: the engine says Unreachable; the console says at risk, 0 more.
    swarm_sh(&["stop", "3"]);
    eventually(60, "engine: mgr3 unreachable", || {
        try_docker(&[
            "node",
            "inspect",
            "mgr3",
            "--format",
            "{{.ManagerStatus.Reachability}}",
        ])
        .filter(|s| s.trim() == "unreachable")
    });
    // The incident within 2 s of the engine reporting it.
    let reported = Instant::now();
    c.wait(10, "NODE DOWN mgr3 and QUORUM AT RISK incidents", |c| {
        watch.track(c);
        (watch.open(IncidentKind::NodeDown, "mgr3")
            && watch.open(IncidentKind::QuorumAtRisk, "managers"))
        .then_some(())
    });
    let took = reported.elapsed();
    eprintln!("node-down incident {took:?} after the engine reported mgr3 unreachable");
    assert!(took < Duration::from_secs(2), "incident after {took:?}");
    // The loopback receiver gets the new incident as JSON, with the configured header.
    let got = eventually(15, "webhook: new node-down", || {
        watch.hook.bodies("new", "node-down").into_iter().next()
    });
    assert_eq!(got.body["affected"][0]["object"], "mgr3");
    assert_eq!(got.body["severity"], "critical");
    assert!(
        got.headers.contains(&("x-team".into(), "ops".into())),
        "{:?}",
        got.headers
    );
    // An operator acks it (as the console does: the timeline carries it to the wall).
    let ack_at = chrono::Utc::now();
    let key = clusterdeck::app::incidents::key(CLUSTER, IncidentKind::NodeDown);
    assert!(watch.incidents.annotate(
        &key,
        Annotation {
            at: ack_at,
            who: "alice".into(),
            text: "restarting mgr3".into(),
            ack: true,
        }
    ));
    watch.timeline.record(Entry {
        at: ack_at,
        context: CLUSTER.into(),
        what: What::Ack,
        who: Some("alice".into()),
        incident: Some(key.clone()),
        object: String::new(),
        text: "restarting mgr3".into(),
    });
    c.wait(60, "1 of 3 unreachable, tolerates 0 more", |c| {
        let q = c.cluster()?.quorum();
        (q.managers == 3
            && q.reachable == 2
            && q.tolerates_now == 0
            && q.verdict == QuorumVerdict::AtRisk)
            .then_some(())
    });

    // A second one: no leader. The console keeps the last state, stale with a reason.
    swarm_sh(&["stop", "2"]);
    let started = Instant::now();
    c.wait(120, "QUORUM LOST and stale", |c| {
        watch.track(c);
        let cl = c.cluster()?;
        let stale = cl.sources.get(&SourceKind::Swarm)?.is_stale();
        (stale && cl.quorum().verdict == QuorumVerdict::Lost).then_some(())
    });
    watch.track(&c);
    assert!(watch.open(IncidentKind::QuorumLost, "managers"));
    assert!(watch.open(IncidentKind::SourceDown, "swarm"));
    let cl = c.cluster().expect("cluster").clone();
    assert!(
        cl.workload_by_name("t-faults").is_some(),
        "last known services kept"
    );
    assert!(cl.stale_since().is_some());
    assert!(
        cl.quorum().summary().contains("no leader"),
        "{}",
        cl.quorum().summary()
    );
    let reason = cl.sources[&SourceKind::Swarm]
        .reason()
        .unwrap_or_default()
        .to_string();
    assert!(!reason.is_empty());
    // Writes are refused with the reason, at once.
    let t = Instant::now();
    let err = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "t-faults", Op::Scale { replicas: 3 }),
            Some(&cl),
            &[],
        )
        .expect_err("refused");
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(err.contains("stale") || err.contains("no leader"), "{err}");
    eprintln!("quorum loss shown after {:?}: {reason}", started.elapsed());

    // Managers back: recovers by itself.
    swarm_sh(&["start", "2", "3"]);
    c.wait(180, "connected and healthy again", |c| {
        watch.track(c);
        let cl = c.cluster()?;
        (matches!(swarm_state(c)?, SourceState::Connected)
            && cl.quorum().verdict == QuorumVerdict::Healthy
            && cl.quorum().reachable == 3)
            .then_some(())
    });
    eventually(120, "engine healthy", || {
        let out = try_docker(&["node", "ls", "--format", "{{.ManagerStatus}}"])?;
        (out.lines()
            .filter(|l| l.trim() == "Reachable" || l.trim() == "Leader")
            .count()
            == 3)
            .then_some(())
    });

    // Resolved, with its duration: on the hook and in the timeline, after the ack.
    c.wait(60, "the incidents resolved", |c| {
        watch.track(c);
        watch.incidents.current.is_empty().then_some(())
    });
    // (While the swarm recovers a manager may flap once more: the longest occurrence is the
    // one the stop caused.)
    let lasted = watch
        .incidents
        .resolved
        .iter()
        .filter(|r| r.incident.kind == IncidentKind::NodeDown)
        .map(|r| r.lasted())
        .max()
        .expect("node down resolved");
    assert!(lasted > chrono::Duration::seconds(1), "{lasted:?}");
    eventually(15, "webhook: resolved node-down", || {
        watch
            .hook
            .bodies("resolved", "node-down")
            .into_iter()
            .next()
    });
    for e in c.cluster().expect("cluster").events.iter() {
        watch.timeline.record(Entry {
            at: e.at,
            context: CLUSTER.into(),
            what: What::Event,
            who: None,
            incident: None,
            object: e.target.clone(),
            text: e.message.clone(),
        });
    }
    watch.timeline.flush().expect("timeline written");
    let entries = clusterdeck::app::timeline::read_entries(watch.timeline.path()).expect("read");
    let picked = export::select(
        entries,
        ack_at - chrono::Duration::minutes(10),
        Some(CLUSTER),
    );
    let md = export::render(&picked, export::Format::Markdown, CLUSTER);
    let pos = |what: What| {
        picked
            .iter()
            .position(|e| e.what == what && e.incident.as_deref() == Some(key.as_str()))
            .unwrap_or_else(|| panic!("{what:?} of {key} in the timeline:\n{md}"))
    };
    assert!(
        pos(What::Opened) < pos(What::Ack) && pos(What::Ack) < pos(What::Resolved),
        "{md}"
    );
    assert!(picked.iter().any(|e| e.what == What::Event), "{md}");
    assert!(
        md.contains("| alice |") && md.contains("NODE DOWN resolved after"),
        "{md}"
    );

    // Kill the dockerd the console is connected to: it fails over to another manager.
    let ep = c.wait(30, "an endpoint in use", endpoint);
    let n = (1..=3)
        .find(|n| ep.contains(&env(&format!("CD_SWARM_N{n}_SOCK"))))
        .unwrap_or_else(|| panic!("endpoint {ep} is not a manager socket"));
    swarm_sh(&["stop", &n.to_string(), "--kill"]);
    let other = c.wait(120, "connected through another manager", |c| {
        let e = endpoint(c)?;
        (matches!(swarm_state(c)?, SourceState::Connected)
            && !e.contains(&env(&format!("CD_SWARM_N{n}_SOCK"))))
        .then_some(e)
    });
    eprintln!("failed over from {ep} to {other}");
    // And the data is live through it: a change made with the CLI shows up.
    docker(&["service", "scale", "--detach", "t-faults=3"]);
    c.wait(90, "t-faults 3/3 through the new endpoint", |c| {
        c.cluster()?
            .workload_by_name("t-faults")
            .filter(|w| w.running == 3 && w.desired == 3)
            .map(|_| ())
    });
    swarm_sh(&["start", &n.to_string()]);
    c.wait(180, "healthy with all managers", |c| {
        (c.cluster()?.quorum().reachable == 3).then_some(())
    });
    docker(&["service", "rm", "t-faults"]);
}

/// The docker CLI against wrk2's own engine.
fn on_wrk2(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .arg("-H")
        .arg(env("CD_SWARM_N5_SOCK"))
        .args(args)
        .output()
        .expect("docker");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// wrk2 leaves and joins again: the swarm then lists two `wrk2` nodes, the old one down. The
/// name alone is refused with both ids to choose from; a drain by the live node's id drains
/// that one. Ends with `docker node rm` of the stale entry, as an operator would.
#[test]
fn a_worker_that_rejoined_is_two_nodes_and_a_drain_by_id_reaches_the_live_one() {
    let _g = alone();
    let old = docker(&["node", "inspect", "wrk2", "--format", "{{.ID}}"])
        .trim()
        .to_string();
    let token = docker(&["swarm", "join-token", "-q", "worker"])
        .trim()
        .to_string();
    on_wrk2(&["swarm", "leave", "--force"]);
    eventually(60, "the managers see the old wrk2 down", || {
        try_docker(&["node", "inspect", &old, "--format", "{{.Status.State}}"])
            .filter(|s| s.trim() == "down")
    });
    on_wrk2(&[
        "swarm",
        "join",
        "--token",
        &token,
        "--advertise-addr",
        "10.99.5.2",
        "--listen-addr",
        "10.99.5.2:2377",
        "10.99.1.2:2377",
    ]);
    let new = on_wrk2(&["info", "--format", "{{.Swarm.NodeID}}"]);
    assert_ne!(new, old);
    let mut c = Console::start(managers());
    c.wait(60, "two wrk2 nodes, the new one ready", |c| {
        let cl = c.cluster()?;
        let both = cl.nodes.values().filter(|n| n.hostname == "wrk2").count() == 2;
        let ready = cl.nodes.get(&new)?.status == clusterdeck::model::NodeStatus::Ready;
        (both && ready).then_some(())
    });
    let drain = || Op::SetAvailability {
        availability: clusterdeck::model::Availability::Drain,
    };
    let cluster = c.cluster().expect("state").clone();
    let err = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "wrk2", drain()),
            Some(&cluster),
            &[],
        )
        .expect_err("two nodes are called wrk2");
    assert!(
        err.contains(&old) && err.contains(&new) && err.contains("down"),
        "{err}"
    );
    let live = cluster.nodes[&new].target();
    let op = c.act(OpRequest::new(CLUSTER, live, drain()), "");
    let r = c.outcome(&op, 120);
    let drained = docker(&[
        "node",
        "inspect",
        &new,
        "--format",
        "{{.Spec.Availability}}",
    ]);
    let _ = try_docker(&["node", "update", "--availability", "active", &new]);
    let _ = try_docker(&["node", "rm", "--force", &old]);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(drained.trim(), "drain");
    let records = c.records(&op);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        records[0]["cli"],
        "docker node update --availability drain wrk2"
    );
}

/// wrk1's engine is killed: until the swarm reschedules them, its tasks still say "running"
/// in the engine. The console counts them as unknown, not running, and a scale is not
/// reported done on their account: it ends only when the engine runs every task elsewhere.
#[test]
fn tasks_on_a_node_that_went_down_are_unknown_not_running() {
    let _g = alone();
    let _ = try_docker(&["service", "rm", "t-down"]);
    create_service("t-down", 4, "1", &["--constraint", "node.role==worker"]);
    let on_wrk1 = running_tasks("t-down")
        .iter()
        .filter(|t| t.1 == "wrk1")
        .count();
    assert!(on_wrk1 > 0, "some tasks start on wrk1");
    let mut c = Console::start(managers());
    c.wait(60, "4 running", |c| {
        (c.cluster()?.workload_by_name("t-down")?.running == 4).then_some(())
    });
    swarm_sh(&["stop", "4", "--kill"]);
    let started = Instant::now();
    c.wait(90, "wrk1 down and its tasks unknown", |c| {
        let cl = c.cluster()?;
        let wrk1 = cl.node_by_name("wrk1")?;
        let w = cl.workload_by_name("t-down")?;
        let unknown = cl
            .replicas_of_workload(&w.id)
            .filter(|r| r.state == clusterdeck::model::TaskState::Running && cl.on_node_down(r))
            .count();
        // Running counts only what runs on nodes that are up.
        let up = cl
            .replicas_of_workload(&w.id)
            .filter(|r| r.is_running() && r.is_current() && !cl.on_node_down(r))
            .count();
        (wrk1.status != clusterdeck::model::NodeStatus::Ready
            && unknown > 0
            && w.running as usize <= up)
            .then_some(())
    });
    eprintln!("wrk1's tasks shown unknown after {:?}", started.elapsed());
    // A scale now: done only when the engine runs 5 tasks on the live worker.
    let op = c.act(
        OpRequest::named(CLUSTER, "t-down", Op::Scale { replicas: 5 }),
        "",
    );
    let r = c.outcome(&op, 180);
    let on_wrk2 = running_tasks("t-down")
        .iter()
        .filter(|t| t.1 == "wrk2")
        .count();
    swarm_sh(&["start", "4"]);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        on_wrk2, 5,
        "the engine runs all 5 on wrk2 when the scale is reported done"
    );
    eventually(120, "wrk1 ready again", || {
        try_docker(&["node", "inspect", "wrk1", "--format", "{{.Status.State}}"])
            .filter(|s| s.trim() == "ready")
    });
    docker(&["service", "rm", "t-down"]);
}

/// Silent partitions between the console and the managers' engines, reached over their TLS
/// listeners (tcp://10.99.N.2:2376, client certificates), which a tagged iptables rule drops
/// on this host's way out: the managers keep talking to each other. mgr1 cut off: the console
/// gives it up within 15 s and goes on through mgr2, data live. All three cut off: the source
/// is stale with the reason, a write is refused, a scale confirmed at the moment of the drop
/// never runs; with the rules removed it recovers by itself within 30 s.
#[test]
fn a_silent_partition_fails_over_then_goes_stale_and_recovers() {
    let _g = alone();
    create_service("t-part", 1, "1", &[]);
    let endpoints: Vec<String> = (1..=3)
        .map(|n| env(&format!("CD_SWARM_N{n}_TLS_URL")))
        .collect();
    let cut =
        |n: usize| netfault::DropRule::install_to(&format!("10.99.{n}.2"), 2376, "swarm-partition");
    let settings = clusterdeck::backends::swarm::SwarmSettings {
        cluster: CLUSTER.into(),
        endpoints: endpoints.clone(),
        reconcile: Duration::from_secs(30),
        tls: Some(env("CD_SWARM_TLS_DIR").into()),
        nodes: Default::default(),
    };
    let mut c = Console::with(CLUSTER, |tx| {
        clusterdeck::backends::swarm::spawn(settings, true, tx)
            .into_iter()
            .collect()
    });
    c.wait(60, "connected through mgr1's relay", |c| {
        let e = endpoint(c)?;
        (matches!(swarm_state(c)?, SourceState::Connected) && e.contains(&endpoints[0]))
            .then_some(())
    });

    // mgr1 cut off: failed over within 15 s, still live.
    let mut first = cut(1);
    let started = Instant::now();
    let other = c.wait(30, "connected through another manager", |c| {
        let e = endpoint(c)?;
        (matches!(swarm_state(c)?, SourceState::Connected) && !e.contains(&endpoints[0]))
            .then_some(e)
    });
    let took = started.elapsed();
    eprintln!("failed over to {other} after {took:?}");
    assert!(took <= Duration::from_secs(15), "failover after {took:?}");
    docker(&["service", "scale", "--detach", "t-part=2"]);
    c.wait(60, "live through the new endpoint", |c| {
        (c.cluster()?.workload_by_name("t-part")?.desired == 2).then_some(())
    });

    // All cut off: stale, writes refused, a confirmed scale never runs.
    let pending = c.plan(OpRequest::named(
        CLUSTER,
        "t-part",
        Op::Scale { replicas: 4 },
    ));
    let rest = [cut(2), cut(3)];
    let dropped = Instant::now();
    let op = c
        .confirm(pending, "")
        .expect("released before the data went stale");
    let reason = c.wait(30, "stale with the reason", |c| {
        let h = c.cluster()?.sources.get(&SourceKind::Swarm)?;
        h.is_stale()
            .then(|| h.reason().unwrap_or_default().to_string())
    });
    let took = dropped.elapsed();
    eprintln!("stale after {took:?}: {reason}");
    assert!(took <= Duration::from_secs(15), "stale after {took:?}");
    let cl = c.cluster().expect("state").clone();
    let refused = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "t-part", Op::Scale { replicas: 3 }),
            Some(&cl),
            &[],
        )
        .expect_err("a write on stale data");
    assert!(
        refused.contains("stale") || refused.contains("unreachable"),
        "{refused}"
    );
    let r = c.outcome(&op, 40);
    assert!(
        r.is_err(),
        "the scale confirmed at the drop did not run: {r:?}"
    );

    first.remove();
    drop(rest);
    let removed = Instant::now();
    c.wait(30, "connected again", |c| {
        matches!(swarm_state(c)?, SourceState::Connected).then_some(())
    });
    eprintln!("recovered {:?} after the rules' removal", removed.elapsed());
    std::thread::sleep(Duration::from_secs(3));
    let replicas = docker(&[
        "service",
        "inspect",
        "t-part",
        "--format",
        "{{.Spec.Mode.Replicated.Replicas}}",
    ]);
    assert_eq!(
        replicas.trim(),
        "2",
        "the scale to 4 never reached the engine"
    );
    docker(&["service", "rm", "t-part"]);
}
