//! The Swarm backend against a real multi-node swarm (3 managers, 2 workers, each its own
//! dockerd in a network namespace; started by the test command). Every assertion about the
//! cluster is made against what the engine reports through the docker CLI, not against the
//! console's own model.

#[path = "swarm_support/mod.rs"]
mod swarm_support;

#[path = "swarm_backend/confirmed.rs"]
mod confirmed;
#[path = "swarm_backend/describe.rs"]
mod describe;
#[path = "swarm_backend/ssh.rs"]
mod ssh;
#[path = "swarm_backend/stack.rs"]
mod stack;
#[path = "swarm_backend/usage.rs"]
mod usage;

use std::collections::BTreeSet;
use std::sync::Mutex;

use clusterdeck::model::{Availability, NodeRole, QuorumVerdict, TaskState};
use clusterdeck::ops::{Op, OpRequest};

use swarm_support::*;

/// The swarm is shared: one test at a time.
static SWARM: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SWARM.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn listing_matches_the_engine() {
    let _g = lock();
    create_service("t-list", 3, "1", &[]);
    let mut c = Console::start(managers());
    c.wait(60, "t-list in the console with 3 running", |c| {
        c.cluster()
            .and_then(|s| s.workload_by_name("t-list"))
            .filter(|w| w.running == 3)
            .map(|_| ())
    });
    let cl = c.cluster().expect("cluster").clone();

    // docker node ls
    let engine_nodes: BTreeSet<String> = docker(&[
        "node",
        "ls",
        "--format",
        "{{.Hostname}} {{.Availability}} {{.Status}} {{.ManagerStatus}}",
    ])
    .lines()
    .map(|l| l.to_lowercase().trim().to_string())
    .collect();
    let ours: BTreeSet<String> = cl
        .nodes
        .values()
        .map(|n| {
            let ms = match (n.leader, n.reachability) {
                (true, _) => " leader".to_string(),
                (false, Some(r)) => format!(" {}", r.label()),
                (false, None) => String::new(),
            };
            format!(
                "{} {} {}{ms}",
                n.hostname,
                n.availability.label(),
                n.status.label()
            )
        })
        .collect();
    assert_eq!(ours, engine_nodes);
    let q = cl.quorum();
    assert_eq!(
        (q.managers, q.reachable, q.verdict),
        (3, 3, QuorumVerdict::Healthy)
    );

    // docker service ls: name, mode, running/desired, image
    for line in docker(&[
        "service",
        "ls",
        "--format",
        "{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}",
    ])
    .lines()
    {
        let p: Vec<&str> = line.split_whitespace().collect();
        let w = cl
            .workload_by_name(p[0])
            .unwrap_or_else(|| panic!("service {} missing", p[0]));
        assert_eq!(w.mode.label(), p[1]);
        assert_eq!(format!("{}/{}", w.running, w.desired), p[2]);
        // The CLI shows the image without its digest.
        assert!(w.image.starts_with(p[3]), "{} vs {}", w.image, p[3]);
    }
    assert_eq!(
        cl.workloads.len(),
        docker(&["service", "ls", "-q"]).lines().count()
    );

    // docker service ps: every task, its node and states
    let w = cl.workload_by_name("t-list").expect("t-list");
    let engine_tasks: BTreeSet<String> = docker(&[
        "service",
        "ps",
        "t-list",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Node}} {{.DesiredState}}",
    ])
    .lines()
    .map(|l| l.to_lowercase())
    .collect();
    let our_tasks: BTreeSet<String> = cl
        .replicas_of_workload(&w.id)
        .map(|r| {
            let node = r
                .node_id
                .as_ref()
                .and_then(|n| cl.nodes.get(n))
                .map_or("", |n| n.hostname.as_str());
            format!("{} {} {}", r.id, node, r.desired.label())
        })
        .collect();
    assert_eq!(our_tasks, engine_tasks);
    docker(&["service", "rm", "t-list"]);
}

#[test]
fn scale_up_and_down() {
    let _g = lock();
    create_service("t-scale", 2, "1", &[]);
    let mut c = Console::start(managers());
    let op = c.act(
        OpRequest::named(CLUSTER, "t-scale", Op::Scale { replicas: 5 }),
        "",
    );
    let r = c.outcome(&op, 120);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(running_tasks("t-scale").len(), 5, "the engine runs 5 tasks");
    let op = c.act(
        OpRequest::named(CLUSTER, "t-scale", Op::Scale { replicas: 1 }),
        "",
    );
    assert!(c.outcome(&op, 120).is_ok());
    eventually(60, "1 task running", || {
        (running_tasks("t-scale").len() == 1).then_some(())
    });
    // Audit: intent then outcome for each, in order, both ok.
    let recs = clusterdeck::ops::audit::AuditLog::new(&c.audit)
        .read_all()
        .expect("audit");
    let seen: Vec<_> = recs
        .iter()
        .map(|r| (r.phase.as_str(), r.cli.as_str(), r.result.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("intent", "docker service scale t-scale=5", None),
            ("outcome", "docker service scale t-scale=5", Some("ok")),
            ("intent", "docker service scale t-scale=1", None),
            ("outcome", "docker service scale t-scale=1", Some("ok")),
        ],
        "{recs:?}"
    );
    docker(&["service", "rm", "t-scale"]);
}

#[test]
fn drain_moves_every_task_off_the_node_and_activate_restores() {
    let _g = lock();
    create_service("t-drain", 6, "1", &[]);
    let mut c = Console::start(managers());
    let before: Vec<_> = running_tasks("t-drain")
        .into_iter()
        .filter(|t| t.1 == "wrk1")
        .collect();
    assert!(!before.is_empty(), "some tasks start on wrk1");
    c.pump();
    let cl = c.cluster().expect("cluster").clone();
    let pending = c
        .gate
        .check(
            OpRequest::named(
                CLUSTER,
                "wrk1",
                Op::SetAvailability {
                    availability: Availability::Drain,
                },
            ),
            Some(&cl),
            &[],
        )
        .expect("planned");
    assert!(
        pending
            .plan()
            .delta
            .iter()
            .any(|d| d.contains("tasks move off wrk1")),
        "{:?}",
        pending.plan().delta
    );
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "wrk1",
            Op::SetAvailability {
                availability: Availability::Drain,
            },
        ),
        "",
    );
    let r = c.outcome(&op, 180);
    assert!(r.is_ok(), "{r:?}");
    let on_wrk1 = docker(&[
        "node",
        "ps",
        "wrk1",
        "--filter",
        "desired-state=running",
        "-q",
    ]);
    assert_eq!(on_wrk1.trim(), "", "no running tasks left on wrk1");
    eventually(90, "6 running elsewhere", || {
        (running_tasks("t-drain").len() == 6).then_some(())
    });
    assert!(running_tasks("t-drain").iter().all(|t| t.1 != "wrk1"));
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "wrk1",
            Op::SetAvailability {
                availability: Availability::Active,
            },
        ),
        "",
    );
    assert!(c.outcome(&op, 60).is_ok());
    assert_eq!(
        docker(&[
            "node",
            "inspect",
            "wrk1",
            "--format",
            "{{.Spec.Availability}}"
        ])
        .trim(),
        "active"
    );
    docker(&["service", "rm", "t-drain"]);
}

#[test]
fn deploy_then_a_failing_deploy_pauses_then_rollback_then_restart() {
    let _g = lock();
    create_service("t-deploy", 2, "1", &["--update-failure-action", "pause"]);
    let mut c = Console::start(managers());
    let repo = repo();

    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "t-deploy",
            Op::Deploy {
                image: format!("{repo}:2"),
            },
        ),
        "",
    );
    let r = c.outcome(&op, 180);
    assert!(r.as_ref().is_ok_and(|m| m.contains(":2")), "{r:?}");
    eventually(60, "all tasks on :2", || {
        let t = running_tasks("t-deploy");
        (t.len() == 2 && t.iter().all(|x| x.2.starts_with(&format!("{repo}:2")))).then_some(())
    });

    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "t-deploy",
            Op::Deploy {
                image: format!("{repo}:broken"),
            },
        ),
        "",
    );
    let r = c.outcome(&op, 240);
    let err = r.expect_err("the failing update is reported as failed");
    assert!(err.contains("paused"), "{err}");
    assert_eq!(
        docker(&[
            "service",
            "inspect",
            "t-deploy",
            "--format",
            "{{.UpdateStatus.State}}"
        ])
        .trim(),
        "paused"
    );
    // The console shows it loudly: paused state with the engine's message.
    c.wait(30, "paused update in the console", |c| {
        c.cluster()
            .and_then(|s| s.workload_by_name("t-deploy"))
            .and_then(|w| w.update.clone())
            .filter(|u| u.state.is_paused() && !u.message.is_empty())
    });
    assert!(
        c.cluster()
            .is_some_and(|s| s.replicas.values().any(|r| r.state == TaskState::Failed
                || r.state == TaskState::Complete
                || r.error.is_some()))
    );

    // What the last update changed, from the engine's Spec against its PreviousSpec: exactly
    // the image, and the rollback's plan says so.
    let changed = c.wait(30, "the last update's changes", |c| {
        c.cluster()
            .and_then(|s| s.workload_by_name("t-deploy"))
            .map(|w| w.changed.clone())
            .filter(|ch| ch.iter().any(|l| l.contains(":broken")))
    });
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with(&format!("image {repo}:2"))
            && changed[0].contains(&format!("→ {repo}:broken")),
        "{changed:?}"
    );
    let rollback = || {
        OpRequest::named(
            CLUSTER,
            "t-deploy",
            Op::Rollback {
                from_revision: None,
                to_revision: None,
            },
        )
    };
    let plan = c.plan(rollback());
    let delta = plan.plan().delta.join("\n");
    assert!(
        delta.contains("the last update changed the image only"),
        "{delta}"
    );
    let op = c.act(rollback(), "");
    let r = c.outcome(&op, 240);
    assert!(r.is_ok(), "{r:?}");
    let image = docker(&[
        "service",
        "inspect",
        "t-deploy",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    ]);
    assert!(
        image.trim().starts_with(&format!("{repo}:2")),
        "rolled back to the previous image: {image}"
    );
    eventually(90, "tasks back on :2", || {
        let t = running_tasks("t-deploy");
        (t.len() == 2 && t.iter().all(|x| x.2.starts_with(&format!("{repo}:2")))).then_some(())
    });

    let before: BTreeSet<String> = running_tasks("t-deploy").into_iter().map(|t| t.0).collect();
    let op = c.act(OpRequest::named(CLUSTER, "t-deploy", Op::Restart), "");
    assert!(c.outcome(&op, 180).is_ok());
    let after: BTreeSet<String> = eventually(60, "2 new tasks", || {
        let t: BTreeSet<String> = running_tasks("t-deploy").into_iter().map(|t| t.0).collect();
        (t.len() == 2 && t.is_disjoint(&before)).then_some(t)
    });
    assert!(after.is_disjoint(&before));
    docker(&["service", "rm", "t-deploy"]);
}

#[test]
fn promote_and_demote_with_the_quorum_guard() {
    let _g = lock();
    // Start from 3 managers whatever an earlier run left.
    if docker(&["node", "inspect", "wrk2", "--format", "{{.Spec.Role}}"]).trim() == "manager" {
        docker(&["node", "demote", "wrk2"]);
    }
    let mut c = Console::start(managers());
    c.pump();
    let cl = c.cluster().expect("cluster").clone();
    // Demoting one of three managers lowers tolerance 1 → 0: typed confirmation required.
    let p = c
        .gate
        .check(
            OpRequest::named(
                CLUSTER,
                "mgr3",
                Op::SetRole {
                    role: NodeRole::Worker,
                },
            ),
            Some(&cl),
            &[],
        )
        .expect("planned");
    assert_eq!(p.plan().confirm_text.as_deref(), Some("node/mgr3"));
    assert!(
        p.plan()
            .warnings
            .iter()
            .any(|w| w.contains("fault tolerance drops")),
        "{:?}",
        p.plan().warnings
    );

    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "wrk2",
            Op::SetRole {
                role: NodeRole::Manager,
            },
        ),
        "",
    );
    assert!(c.outcome(&op, 120).is_ok());
    assert_eq!(
        docker(&["node", "inspect", "wrk2", "--format", "{{.Spec.Role}}"]).trim(),
        "manager"
    );
    c.wait(60, "4 managers in the console", |c| {
        (c.cluster()?.quorum().managers == 4).then_some(())
    });
    let op = c.act(
        OpRequest::named(
            CLUSTER,
            "wrk2",
            Op::SetRole {
                role: NodeRole::Worker,
            },
        ),
        "node/wrk2",
    );
    let r = c.outcome(&op, 120);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        docker(&["node", "inspect", "wrk2", "--format", "{{.Spec.Role}}"]).trim(),
        "worker"
    );
}

#[test]
fn global_services_say_why_they_cannot_be_scaled() {
    let _g = lock();
    let _ = try_docker(&["service", "rm", "t-global"]);
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "t-global",
        "--mode",
        "global",
        &format!("{}:1", repo()),
    ]);
    let mut c = Console::start(managers());
    c.wait(60, "t-global listed", |c| {
        c.cluster()?.workload_by_name("t-global").map(|_| ())
    });
    let cl = c.cluster().expect("cluster").clone();
    let err = c
        .gate
        .check(
            OpRequest::named(CLUSTER, "t-global", Op::Scale { replicas: 2 }),
            Some(&cl),
            &[],
        )
        .expect_err("refused");
    assert!(err.contains("global service"), "{err}");
    docker(&["service", "rm", "t-global"]);
}

#[test]
fn the_registry_offers_its_tags() {
    let _g = lock();
    // The test registry is plain HTTP: the console uses it so only because the engine lists
    // it as insecure (learnt when the backend connects).
    let _c = Console::start(managers());
    let tags = clusterdeck::backends::registry::fetch_tags(&format!("{}:1", repo()))
        .expect("registry answers");
    assert_eq!(tags, vec!["1", "2", "3", "broken"]);
}

/// A registry over TLS that asks for credentials (Basic auth, htpasswd), on the test
/// registry's storage: its tags are read with the docker CLI's credentials (a credential
/// helper; a wrong `auths` entry is refused saying so), over verified TLS only; and a plain
/// HTTP registry is used only once the engine lists it as insecure.
#[test]
fn tags_over_tls_with_the_docker_cli_credentials_and_plain_http_only_where_allowed() {
    use clusterdeck::backends::registry::{Lookup, fetch_tags_with, set_insecure};
    let _g = lock();
    let state = env("CD_SWARM_STATE");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let hash = std::process::Command::new("python3")
        .args([
            "-c",
            "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH)))",
        ])
        .output()
        .expect("python3");
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    assert!(hash.starts_with("$2"), "a bcrypt hash: {hash}");
    std::fs::write(dir.path().join("htpasswd"), format!("alice:{hash}\n")).expect("htpasswd");
    std::fs::write(
        dir.path().join("config.yml"),
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {state}/registry/data\n\
             http:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {state}/tls/registry-cert.pem\n\
             \x20   key: {state}/tls/registry-key.pem\nauth:\n  htpasswd:\n    realm: test\n\
             \x20   path: {}\n",
            dir.path().join("htpasswd").display()
        ),
    )
    .expect("config");
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _registry = Child(
        std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry"),
    );
    eventually(30, "the TLS registry listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let image = format!("127.0.0.1:{port}/demo/app:1");
    let docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).expect("mkdir");
    let lookup = Lookup {
        docker_config: Some(docker_config.clone()),
        ca: Some(format!("{state}/tls/ca.pem").into()),
        helpers: Some(dir.path().to_path_buf()),
    };
    // Not loopback-insecure either: TLS or nothing.
    set_insecure(Vec::new(), &[]);

    let err = fetch_tags_with(&image, &lookup).expect_err("no credentials");
    assert!(err.contains("asks for credentials"), "{err}");

    let write_config = |json: String| {
        std::fs::write(docker_config.join("config.json"), json).expect("config.json")
    };
    write_config(format!(
        r#"{{"auths": {{"127.0.0.1:{port}": {{"auth": "YWxpY2U6d3Jvbmc="}}}}}}"#
    ));
    let err = fetch_tags_with(&image, &lookup).expect_err("a wrong password");
    assert!(err.contains("401"), "{err}");

    let helper = dir.path().join("docker-credential-cdtest");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread host\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}' \"$host\"\n",
    )
    .expect("helper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    write_config(format!(
        r#"{{"credHelpers": {{"127.0.0.1:{port}": "cdtest"}}}}"#
    ));
    let tags = fetch_tags_with(&image, &lookup).expect("tags with the helper's credentials");
    assert_eq!(tags, vec!["1", "2", "3", "broken"]);

    // A CA that did not sign the registry's certificate: refused, not downgraded.
    let other = Lookup {
        ca: Some(env("CD_SWARM_OTHER_CA").into()),
        ..lookup.clone()
    };
    let err = fetch_tags_with(&image, &other).expect_err("an unknown issuer");
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // The plain-HTTP test registry: refused until it is insecure by the engine's word.
    let plain = format!("{}:1", repo());
    assert!(fetch_tags_with(&plain, &Lookup::default()).is_err());
    set_insecure([env("CD_REGISTRY")], &[]);
    assert_eq!(
        fetch_tags_with(&plain, &Lookup::default()).expect("insecure by the engine's word"),
        vec!["1", "2", "3", "broken"]
    );
}

#[test]
fn service_logs_follow_live() {
    let _g = lock();
    let _ = try_docker(&["service", "rm", "t-logs"]);
    docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        "t-logs",
        "--replicas",
        "1",
        &format!("{}:1", repo()),
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
    ]);
    eventually(90, "t-logs running", || {
        (running_tasks("t-logs").len() == 1).then_some(())
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let lines = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let h = clusterdeck::backends::swarm::spawn_logs(CLUSTER.into(), managers(), None, tx);
        h.tx.send(clusterdeck::backends::LogCommand::Follow {
            service: "t-logs".into(),
            task: None,
            previous: false,
        })
        .await
        .expect("follow");
        let mut lines: Vec<String> = Vec::new();
        let until = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        // Live: lines keep arriving after the first batch.
        while lines.iter().filter(|l| l.contains("tick")).count() < 15 {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(clusterdeck::backends::BackendMsg::Logs {
                    lines: l, ended, ..
                })) => {
                    assert!(ended.is_none(), "stream ended: {ended:?}");
                    lines.extend(l);
                }
                other => panic!("no logs: {other:?}"),
            }
        }
        h.tx.send(clusterdeck::backends::LogCommand::Stop)
            .await
            .expect("stop");
        lines
    });
    // The engine's own view of the same logs contains what we received.
    let engine = docker(&["service", "logs", "--raw", "t-logs"]);
    let ticks: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split_whitespace().find(|w| w.parse::<u64>().is_ok()))
        .collect();
    assert!(!ticks.is_empty());
    for t in ticks.iter().take(5) {
        assert!(
            engine.contains(&format!("tick {t}")),
            "tick {t} not in the engine's logs"
        );
    }
    docker(&["service", "rm", "t-logs"]);
}
