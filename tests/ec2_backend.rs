//! The EC2 backend against moto's EC2 API server (started by the test command): listing with
//! filters and flags, pagination over 2,000 instances, every action checked through the API,
//! a DryRun refusal, bad and missing credentials, and an endpoint that goes away.

mod ec2_support;
#[path = "support/netfault.rs"]
mod netfault;
mod swarm_support;

#[path = "ec2_backend/describe.rs"]
mod describe;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::InstanceStateName;
use clusterdeck::app::incidents::{IncidentKind, Incidents};
use clusterdeck::backends::ec2;
use clusterdeck::model::{InstanceState, SourceState};
use clusterdeck::ops::{InstanceAction, Op, OpRequest};
use ec2_support::*;
use swarm_support::Console;

fn console(s: ec2::Ec2Settings) -> Console {
    let cluster = s.cluster.clone();
    Console::with(&cluster, |tx| ec2::spawn(s, true, tx).into_iter().collect())
}

fn instance_state(c: &Console, id: &str) -> Option<InstanceState> {
    c.cluster()
        .and_then(|s| s.instances.get(id))
        .map(|i| i.state)
}

fn health(c: &Console) -> Option<&clusterdeck::model::SourceHealth> {
    c.cluster()?
        .sources
        .get(&clusterdeck::model::SourceKind::Ec2)
}

fn source_reason(c: &Console) -> Option<(String, String)> {
    let h = health(c)?;
    Some((h.label().to_string(), h.reason()?.to_string()))
}

#[test]
fn lists_what_the_filters_select_with_every_field_and_flag() {
    let tag = unique("list");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (api, vpc, subnet, sg, ids, other) = rt.block_on(async {
        let api = api("cd-open", &open_endpoint()).await;
        let (vpc, subnet, sg) = network(&api, "10.61.0.0/16").await;
        let mut ids = Vec::new();
        for n in 1..=3 {
            let name = format!("worker-{n}");
            ids.extend(
                launch(
                    &api,
                    Launch {
                        count: 1,
                        tags: &[("cd-test", &tag), ("role", "worker"), ("Name", &name)],
                        subnet: Some(&subnet),
                        groups: &[&sg],
                        key_name: Some("ops-key"),
                        ..Launch::default()
                    },
                )
                .await,
            );
        }
        // Same test tag, other role: the second filter must drop these.
        let other = launch(
            &api,
            Launch {
                count: 2,
                tags: &[("cd-test", &tag), ("role", "bastion")],
                ..Launch::default()
            },
        )
        .await;
        protect(&api, &ids[0], true).await;
        (api, vpc, subnet, sg, ids, other)
    });
    let mut s = settings("ec2-list", "cd-open", &open_endpoint(), &tag);
    s.filters.insert("tag:role".into(), vec!["worker".into()]);
    let mut c = console(s);
    c.wait(60, "3 workers, the first one protected", |c| {
        let cl = c.cluster()?;
        (cl.instances.len() == 3
            && cl.instances.get(&ids[0])?.flags.termination_protection == Some(true))
        .then_some(())
    });
    let cl = c.cluster().expect("cluster");
    assert!(other.iter().all(|o| !cl.instances.contains_key(o)));
    let described = rt.block_on(tagged(&api, &tag));
    for id in &ids {
        let mine = &cl.instances[id];
        let theirs = described
            .iter()
            .find(|i| i.instance_id() == Some(id.as_str()))
            .expect("described");
        assert_eq!(mine.state, InstanceState::Running);
        assert_eq!(mine.instance_type, "t3.micro");
        assert_eq!(
            Some(mine.az.as_str()),
            theirs.placement().and_then(|p| p.availability_zone())
        );
        assert_eq!(mine.private_ip.as_deref(), theirs.private_ip_address());
        assert!(
            mine.private_ip
                .as_deref()
                .is_some_and(|ip| ip.starts_with("10.61."))
        );
        assert_eq!(mine.public_ip.as_deref(), theirs.public_ip_address());
        assert_eq!(mine.ami, AMI);
        assert_eq!(mine.ami_name.as_deref(), Some(AMI_NAME));
        assert_eq!(mine.key_name.as_deref(), Some("ops-key"));
        assert_eq!(mine.vpc_id.as_deref(), Some(vpc.as_str()));
        assert_eq!(mine.subnet_id.as_deref(), Some(subnet.as_str()));
        assert_eq!(
            mine.launch_time.timestamp(),
            theirs.launch_time().expect("launch time").secs()
        );
        assert!(mine.name.starts_with("worker-"), "{}", mine.name);
        assert_eq!(mine.tags.get("role").map(String::as_str), Some("worker"));
        assert!(mine.security_groups.iter().any(|g| g.starts_with(&sg)));
        assert_eq!(mine.flags.ssh_open_to_world, vec![sg.clone()]);
        assert!(!mine.flags.instance_store_root);
        assert_eq!(mine.flags.autoscaling_group, None);
        assert_eq!(mine.region, env("CD_EC2_REGION"));
    }
    assert_eq!(
        cl.instances[&ids[1]].flags.termination_protection,
        Some(false)
    );
    let h = &cl.sources[&clusterdeck::model::SourceKind::Ec2];
    assert_eq!(h.state, SourceState::Connected);
    assert!(h.last_update.is_some());

    // A new worker shows up by the next polls; a stopped one changes state.
    let new = rt.block_on(launch(
        &api,
        Launch {
            count: 1,
            tags: &[("cd-test", &tag), ("role", "worker")],
            ..Launch::default()
        },
    ));
    rt.block_on(async {
        api.stop_instances()
            .instance_ids(&ids[2])
            .send()
            .await
            .expect("stop")
    });
    c.wait(30, "the new worker and the stopped one", |c| {
        (instance_state(c, &new[0]) == Some(InstanceState::Running)
            && instance_state(c, &ids[2]) == Some(InstanceState::Stopped))
        .then_some(())
    });
    // Stopped by someone else (boto3's API, no intent in this console's audit log): an
    // INSTANCE DOWN incident.
    let mut engine = Incidents::default();
    engine.update(&c.store, &audit_of(&c), chrono::Utc::now());
    assert!(instance_down(&engine, &ids[2]), "{:?}", engine.current);
    // The status checks were read (moto passes them all): no running instance is impaired.
    let cl = c.cluster().expect("cluster");
    assert!(
        cl.instances.values().all(|i| i.flags.impaired.is_none()),
        "impaired flagged where EC2 says ok"
    );
    assert!(!instance_down(&engine, &new[0]));
}

/// The test console's audit records.
fn audit_of(c: &Console) -> Vec<clusterdeck::ops::audit::AuditRecord> {
    clusterdeck::ops::audit::AuditLog::new(&c.audit)
        .read_all()
        .unwrap_or_default()
}

fn instance_down(engine: &Incidents, id: &str) -> bool {
    engine.current.iter().any(|i| {
        i.kind == IncidentKind::InstanceDown && i.affected.iter().any(|a| a.object.starts_with(id))
    })
}

#[test]
fn pages_through_two_thousand_instances() {
    let tag = unique("pages");
    let mut s = settings("ec2-pages", "cd-open", &open_endpoint(), &tag);
    // moto pages by reservation: 20 reservations of 100, 5 per page, is 4 pages.
    s.page_size = Some(5);
    // One pass over 2,000 instances keeps moto (one Python process) busy for seconds: poll
    // once, not every second, so the other tests sharing the server are not starved.
    s.poll = Duration::from_secs(120);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let want: HashSet<String> = rt.block_on(async {
        let api = api("cd-open", &open_endpoint()).await;
        let mut ids = HashSet::new();
        for _ in 0..20 {
            ids.extend(
                launch(
                    &api,
                    Launch {
                        count: 100,
                        tags: &[("cd-test", &tag)],
                        ..Launch::default()
                    },
                )
                .await,
            );
        }
        ids
    });
    assert_eq!(want.len(), 2000);
    let mut c = console(s);
    let started = Instant::now();
    c.wait(180, "2,000 instances", |c| {
        (c.cluster()?.instances.len() == 2000).then_some(())
    });
    let got: HashSet<String> = c
        .cluster()
        .expect("cluster")
        .instances
        .keys()
        .cloned()
        .collect();
    assert_eq!(got, want);
    eprintln!("2,000 instances in {:?}", started.elapsed());
}

#[test]
fn every_action_changes_the_state_ec2_reports() {
    let tag = unique("actions");
    let (a, b) = {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let api = api("cd-open", &open_endpoint()).await;
            let a = launch(
                &api,
                Launch {
                    count: 1,
                    tags: &[("cd-test", &tag), ("Name", "a")],
                    ..Launch::default()
                },
            )
            .await;
            let b = launch(
                &api,
                Launch {
                    count: 1,
                    tags: &[("cd-test", &tag), ("Name", "b")],
                    ..Launch::default()
                },
            )
            .await;
            protect(&api, &b[0], true).await;
            (a[0].clone(), b[0].clone())
        })
    };
    let mut c = console(settings("ec2-actions", "cd-open", &open_endpoint(), &tag));
    c.wait(60, "both instances, b protected", |c| {
        let cl = c.cluster()?;
        (cl.instances.len() == 2
            && cl.instances.get(&b)?.flags.termination_protection == Some(true))
        .then_some(())
    });
    let api = c.rt.block_on(api("cd-open", &open_endpoint()));
    let req = |instance: &str, action| {
        OpRequest::named("ec2-actions", instance.to_string(), Op::Instance { action })
    };

    let op = c.act(req(&a, InstanceAction::Stop), "");
    let r = c.outcome(&op, 60);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(c.rt.block_on(state(&api, &a)), InstanceStateName::Stopped);
    assert_eq!(instance_state(&c, &a), Some(InstanceState::Stopped));
    // Stopped by this console (its intent is in the audit log): no incident.
    let mut engine = Incidents::default();
    engine.update(&c.store, &audit_of(&c), chrono::Utc::now());
    assert!(!instance_down(&engine, &a), "{:?}", engine.current);

    let op = c.act(req(&a, InstanceAction::Start), "");
    assert!(c.outcome(&op, 60).is_ok());
    assert_eq!(c.rt.block_on(state(&api, &a)), InstanceStateName::Running);

    let op = c.act(req(&a, InstanceAction::Reboot), "");
    assert!(c.outcome(&op, 60).is_ok());
    assert_eq!(c.rt.block_on(state(&api, &a)), InstanceStateName::Running);

    // Protected: refused by the plan, before anything is sent.
    let cl = c.cluster().expect("cluster").clone();
    let refusal = c
        .gate
        .check(req(&b, InstanceAction::Terminate), Some(&cl), &[])
        .expect_err("terminate of a protected instance is refused");
    assert!(
        refusal.contains("termination protection is on"),
        "{refusal}"
    );
    assert_eq!(c.rt.block_on(state(&api, &b)), InstanceStateName::Running);

    // Terminate needs the id typed; once protection is off it goes through.
    c.rt.block_on(protect(&api, &b, false));
    c.wait(30, "protection off", |c| {
        (c.cluster()?.instances.get(&b)?.flags.termination_protection == Some(false)).then_some(())
    });
    let cl = c.cluster().expect("cluster").clone();
    let pending = c
        .gate
        .check(req(&b, InstanceAction::Terminate), Some(&cl), &[])
        .expect("plan");
    assert_eq!(pending.plan().confirm_text.as_deref(), Some(b.as_str()));
    let op = c.act(req(&b, InstanceAction::Terminate), &b);
    assert!(c.outcome(&op, 60).is_ok());
    assert_eq!(
        c.rt.block_on(state(&api, &b)),
        InstanceStateName::Terminated
    );

    let audit = std::fs::read_to_string(&c.audit).expect("audit");
    for verb in ["stop", "start", "reboot", "terminate"] {
        let lines = audit
            .lines()
            .filter(|l| l.contains(&format!("\"verb\":\"{verb}\"")))
            .count();
        assert_eq!(lines, 2, "intent and outcome of {verb}:\n{audit}");
    }
}

#[test]
fn add_nodes_launches_tagged_instances_and_follows_them() {
    let tag = unique("add");
    let mut c = console(settings("ec2-add", "cd-open", &open_endpoint(), &tag));
    c.wait(60, "connected", |c| {
        c.cluster()
            .and_then(|cl| cl.sources.get(&clusterdeck::model::SourceKind::Ec2))
            .filter(|h| h.state == SourceState::Connected)
            .map(|_| ())
    });
    let mut launch_cfg = clusterdeck::config::LaunchConfig {
        ami: Some(AMI.into()),
        instance_type: Some("t3.small".into()),
        ..Default::default()
    };
    launch_cfg.tags.insert("cd-test".into(), tag.clone());
    launch_cfg.tags.insert("Role".into(), "swarm-worker".into());
    let op = c.act(OpRequest::add_nodes("ec2-add", 2, launch_cfg), "");
    let r = c.outcome(&op, 60);
    assert!(r.is_ok(), "{r:?}");
    let api = c.rt.block_on(api("cd-open", &open_endpoint()));
    let made = c.rt.block_on(tagged(&api, &tag));
    assert_eq!(made.len(), 2);
    for i in &made {
        assert_eq!(i.image_id(), Some(AMI));
        assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.small"));
        assert!(
            i.tags()
                .iter()
                .any(|t| t.key() == Some("Role") && t.value() == Some("swarm-worker"))
        );
    }
    c.wait(30, "both in the pane", |c| {
        (c.cluster()?.instances.len() == 2).then_some(())
    });
}

#[test]
fn a_dry_run_refusal_is_reported_and_changes_nothing() {
    let tag = unique("dry");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (operator, id) = rt.block_on(async {
        let op = api("cd-operator", &auth_endpoint()).await;
        let id = launch(
            &op,
            Launch {
                count: 1,
                tags: &[("cd-test", &tag)],
                ..Launch::default()
            },
        )
        .await;
        (op, id[0].clone())
    });
    // The reader may describe but not stop.
    let mut c = console(settings("ec2-dry", "cd-reader", &auth_endpoint(), &tag));
    c.wait(60, "the instance, as the reader", |c| {
        instance_state(c, &id).map(|_| ())
    });
    let op = c.act(
        OpRequest::named(
            "ec2-dry",
            id.clone(),
            Op::Instance {
                action: InstanceAction::Stop,
            },
        ),
        "",
    );
    let err = c.outcome(&op, 60).expect_err("refused");
    assert!(err.contains("DryRun"), "{err}");
    assert!(
        err.contains("AccessDenied") || err.contains("UnauthorizedOperation"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        rt.block_on(state(&operator, &id)),
        InstanceStateName::Running
    );
    let audit = std::fs::read_to_string(&c.audit).expect("audit");
    assert!(
        audit.contains("DryRun"),
        "the refusal is the audited outcome:\n{audit}"
    );

    // The operator's dry run passes and the stop goes through.
    drop(c);
    let mut c = console(settings("ec2-dry", "cd-operator", &auth_endpoint(), &tag));
    c.wait(60, "the instance, as the operator", |c| {
        instance_state(c, &id).map(|_| ())
    });
    let op = c.act(
        OpRequest::named(
            "ec2-dry",
            id.clone(),
            Op::Instance {
                action: InstanceAction::Stop,
            },
        ),
        "",
    );
    assert!(c.outcome(&op, 60).is_ok());
    assert_eq!(
        rt.block_on(state(&operator, &id)),
        InstanceStateName::Stopped
    );
}

#[test]
fn wrong_credentials_say_check_your_credentials() {
    let c = &mut console(settings("ec2-bogus", "cd-bogus", &auth_endpoint(), "none"));
    let (label, reason) = c.wait(30, "a credentials error", source_reason);
    assert_eq!(label, "degraded");
    assert!(reason.contains("AuthFailure"), "{reason}");
    assert!(reason.contains("check your credentials"), "{reason}");
    assert!(reason.contains("profile cd-bogus"), "{reason}");
    assert!(c.cluster().is_some_and(|cl| cl.instances.is_empty()));
}

#[test]
fn missing_credentials_name_what_was_tried_and_the_fix() {
    assert!(
        std::env::var_os("AWS_ACCESS_KEY_ID").is_none(),
        "AWS_ACCESS_KEY_ID would be found before the profile: unset it for this test"
    );
    let c = &mut console(settings(
        "ec2-nocreds",
        "cd-nocreds",
        &open_endpoint(),
        "none",
    ));
    let (label, reason) = c.wait(30, "a credentials error", source_reason);
    assert_eq!(label, "degraded");
    assert!(reason.contains("no AWS credentials"), "{reason}");
    assert!(reason.contains("AWS_PROFILE"), "{reason}");
    assert!(reason.contains("aws sso login"), "{reason}");
}

/// A loopback port nothing listens on (the OS picked it free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A moto server of this test's own, to take away.
struct OwnServer {
    child: std::process::Child,
    endpoint: String,
}

impl OwnServer {
    fn start() -> OwnServer {
        let port = free_port();
        let bin = format!("{}/bin/moto_server", env("CD_EC2_VENV"));
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "own moto server did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        OwnServer { child, endpoint }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_endpoint_that_goes_away_leaves_stale_data_with_its_age() {
    let tag = unique("gone");
    let mut server = OwnServer::start();
    let mut c = console(settings("ec2-gone", "cd-open", &server.endpoint, &tag));
    let id = c.rt.block_on(async {
        let api = api("cd-open", &server.endpoint).await;
        launch(
            &api,
            Launch {
                count: 1,
                tags: &[("cd-test", &tag)],
                ..Launch::default()
            },
        )
        .await
    });
    c.wait(60, "the instance", |c| {
        instance_state(c, &id[0]).map(|_| ())
    });

    let _ = server.child.kill();
    let _ = server.child.wait();
    let gone_at = Instant::now();
    let (label, reason) = c.wait(60, "unreachable", |c| {
        source_reason(c).filter(|(l, _)| l == "unreachable")
    });
    assert!(
        gone_at.elapsed() < Duration::from_secs(40),
        "took {:?}",
        gone_at.elapsed()
    );
    assert!(
        reason.contains("cannot connect") || reason.contains("no answer"),
        "{label}: {reason}"
    );
    let cl = c.cluster().expect("cluster");
    assert!(cl.instances.contains_key(&id[0]), "the last data is kept");
    let h = &cl.sources[&clusterdeck::model::SourceKind::Ec2];
    assert!(h.stale_since.is_some() && h.last_update.is_some());
    // Nothing is changed on stale data.
    let refusal = c
        .gate
        .check(
            OpRequest::named(
                "ec2-gone",
                id[0].clone(),
                Op::Instance {
                    action: InstanceAction::Stop,
                },
            ),
            Some(&cl.clone()),
            &[],
        )
        .expect_err("refused on stale data");
    assert!(refusal.contains("stale"), "{refusal}");
}

#[test]
fn a_closed_port_is_unreachable_at_once() {
    let port = free_port();
    let started = Instant::now();
    let c = &mut console(settings(
        "ec2-closed",
        "cd-open",
        &format!("http://127.0.0.1:{port}"),
        "none",
    ));
    let (label, _) = c.wait(40, "unreachable", |c| {
        source_reason(c).filter(|(l, _)| l == "unreachable")
    });
    assert_eq!(label, "unreachable");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

/// A silent partition between the console and the EC2 endpoint (a relay of the test's own,
/// its port dropped). EC2 is polled, so the rule is: stale 15 s after the first call that gets
/// no answer. A stop confirmed at the moment of the drop never runs; a write is refused while
/// stale; the source recovers by itself within 30 s of the rule's removal.
#[test]
fn a_silent_partition_makes_ec2_stale_refuses_writes_and_recovers() {
    let tag = unique("part");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = rt.block_on(async {
        let api = api("cd-open", &open_endpoint()).await;
        launch(
            &api,
            Launch {
                count: 1,
                tags: &[("cd-test", &tag)],
                ..Launch::default()
            },
        )
        .await[0]
            .clone()
    });
    let upstream = open_endpoint().trim_start_matches("http://").to_string();
    let port = netfault::relay(&upstream);
    let mut s = settings(
        "ec2-part",
        "cd-open",
        &format!("http://127.0.0.1:{port}"),
        &tag,
    );
    s.poll = Duration::from_secs(2);
    let mut c = console(s);
    c.wait(60, "the instance, connected", |c| {
        (instance_state(c, &id) == Some(InstanceState::Running)
            && matches!(health(c)?.state, SourceState::Connected))
        .then_some(())
    });
    let stop = || {
        OpRequest::named(
            "ec2-part",
            id.clone(),
            Op::Instance {
                action: InstanceAction::Stop,
            },
        )
    };
    let pending = c.plan(stop());
    let mut rule = netfault::DropRule::install(port, "ec2-partition");
    let dropped = Instant::now();
    let op = c
        .confirm(pending, "")
        .expect("released before the data went stale");
    let reason = c.wait(40, "stale with the reason", |c| {
        let h = health(c)?;
        (h.is_stale()).then(|| h.reason().unwrap_or_default().to_string())
    });
    let took = dropped.elapsed();
    eprintln!("stale after {took:?}: {reason}");
    // The first poll into the silence starts within one interval (2 s, ±20 %) and gets 15 s.
    assert!(took <= Duration::from_secs(19), "stale after {took:?}");
    let cl = c.cluster().expect("state").clone();
    let refused = c
        .gate
        .check(stop(), Some(&cl), &[])
        .expect_err("a write on stale data");
    assert!(refused.contains("stale"), "{refused}");
    let r = c.outcome(&op, 40);
    assert!(
        r.is_err(),
        "the stop confirmed at the drop did not run: {r:?}"
    );

    rule.remove();
    let removed = Instant::now();
    c.wait(30, "connected again", |c| {
        matches!(health(c)?.state, SourceState::Connected).then_some(())
    });
    eprintln!("recovered {:?} after the rule's removal", removed.elapsed());
    let api = rt.block_on(api("cd-open", &open_endpoint()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        rt.block_on(state(&api, &id)),
        InstanceStateName::Running,
        "the stop never reached EC2"
    );
}
