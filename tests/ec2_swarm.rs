//! EC2 with the real swarm: instances launched in moto at the swarm nodes' private addresses
//! correlate with the nodes (role, AZ, quorum AZ spread), and the real binary in a
//! pseudo-terminal stops an instance by keys, seen on screen, through the API and in the audit.

mod ec2_support;
#[path = "support/pty.rs"]
mod pty;
mod swarm_support;

use std::time::Duration;

use aws_sdk_ec2::types::InstanceStateName;
use clusterdeck::backends::{ec2, swarm};
use clusterdeck::model::{InstanceState, ObjectKind, SourceKind, Target};
use clusterdeck::ops::{InstanceAction, Op, OpRequest};
use ec2_support::*;
use pty::{Session, World, audit_lines, parse};
use swarm_support::{Console, managers};

/// us-east-1 has three AZs in moto: one manager in each.
const REGION: &str = "us-east-1";

/// A VPC of the swarm's range (10.99.0.0/16), as many as a test needs: addresses repeat.
async fn new_vpc(api: &aws_sdk_ec2::Client) -> String {
    let vpc = api
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .expect("vpc");
    vpc.vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string()
}

async fn new_subnet(api: &aws_sdk_ec2::Client, vpc: &str, cidr: &str, az: &str) -> String {
    let subnet = api
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(az)
        .send()
        .await
        .expect("subnet");
    subnet
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string()
}

/// One instance per swarm node (at its address, managers in a/b/c) and a spare one outside the
/// swarm. Returns (hostname, instance id) pairs and the spare's id.
async fn fleet(tag: &str) -> (Vec<(String, String)>, String) {
    let api = ec2_support::api_in("cd-open", &open_endpoint(), REGION).await;
    let vpc = new_vpc(&api).await;
    let mut out = Vec::new();
    for n in 1..=5 {
        let host = if n <= 3 {
            format!("mgr{n}")
        } else {
            format!("wrk{}", n - 3)
        };
        let az = format!("{REGION}{}", ['a', 'b', 'c'][(n - 1) % 3]);
        let subnet = new_subnet(&api, &vpc, &format!("10.99.{n}.0/24"), &az).await;
        let ip = format!("10.99.{n}.2");
        let ids = launch(
            &api,
            Launch {
                count: 1,
                tags: &[("cd-test", tag), ("Name", &host)],
                subnet: Some(&subnet),
                private_ip: Some(&ip),
                ..Launch::default()
            },
        )
        .await;
        out.push((host, ids[0].clone()));
    }
    let spare = launch(
        &api,
        Launch {
            count: 1,
            tags: &[("cd-test", tag), ("Name", "spare")],
            ..Launch::default()
        },
    )
    .await;
    // Another VPC reuses mgr1's address: an address alone must not decide.
    decoy(&api, tag, "10.99.1.2").await;
    (out, spare[0].clone())
}

/// An instance at `ip` in a VPC of its own; returns its id.
async fn decoy(api: &aws_sdk_ec2::Client, tag: &str, ip: &str) -> String {
    let vpc = new_vpc(api).await;
    let cidr = format!("{}.0/24", ip.rsplit_once('.').map_or(ip, |(net, _)| net));
    let subnet = new_subnet(api, &vpc, &cidr, &format!("{REGION}a")).await;
    let ids = launch(
        api,
        Launch {
            count: 1,
            tags: &[("cd-test", tag), ("Name", "decoy")],
            subnet: Some(&subnet),
            private_ip: Some(ip),
            ..Launch::default()
        },
    )
    .await;
    ids[0].clone()
}

#[test]
fn instances_correlate_with_swarm_nodes_by_private_address() {
    let tag = unique("corr");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (fleet, spare) = rt.block_on(fleet(&tag));
    let mut s = settings("lab", "cd-open", &open_endpoint(), &tag);
    s.regions = vec![REGION.into()];
    let swarm_settings = swarm::SwarmSettings {
        cluster: "lab".into(),
        endpoints: managers(),
        reconcile: Duration::from_secs(30),
        tls: None,
        nodes: Default::default(),
    };
    let mut c = Console::with("lab", |tx| {
        [
            ec2::spawn(s, true, tx.clone()),
            swarm::spawn(swarm_settings, true, tx),
        ]
        .into_iter()
        .flatten()
        .collect()
    });
    c.wait(90, "every node matched with its instance", |c| {
        let cl = c.cluster()?;
        (cl.nodes.len() >= 5 && cl.nodes.values().all(|n| n.instance_id.is_some())).then_some(())
    });
    let cl = c.cluster().expect("cluster");
    for (host, id) in &fleet {
        let node = cl.node_by_name(host).expect("node");
        assert_eq!(node.instance_id.as_deref(), Some(id.as_str()), "{host}");
        let inst = &cl.instances[id];
        assert_eq!(inst.node_id.as_deref(), Some(node.id.as_str()));
        assert_eq!(node.az.as_deref(), Some(inst.az.as_str()));
        assert_eq!(node.is_manager(), host.starts_with("mgr"), "{host}");
    }
    assert_eq!(cl.instances[&spare].node_id, None);
    // mgr1's address is also the decoy's, in another VPC: the cluster's VPC decides.
    let decoys: Vec<&str> = cl
        .instances
        .values()
        .filter(|i| i.name == "decoy")
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(decoys.len(), 1);
    assert_eq!(cl.instances[decoys[0]].node_id, None);
    assert!(cl.ambiguous.is_empty(), "{:?}", cl.ambiguous);
    // Managers in three AZs, one each: any one AZ can fail.
    let az = cl.quorum().az.expect("AZ spread known");
    assert_eq!(az.shape(), "1-1-1");
    assert!(az.survives_one_az && !az.survives_two_azs);
    assert_eq!(az.verdict(), "survives any one AZ failure");
}

/// The console of the correlation test: EC2 (polled every 2 s) and the swarm, in one context.
fn lab(tag: &str) -> Console {
    let mut s = settings("lab", "cd-open", &open_endpoint(), tag);
    s.regions = vec![REGION.into()];
    s.poll = Duration::from_secs(2);
    let swarm_settings = swarm::SwarmSettings {
        cluster: "lab".into(),
        endpoints: managers(),
        reconcile: Duration::from_secs(30),
        tls: None,
        nodes: Default::default(),
    };
    Console::with("lab", |tx| {
        [
            ec2::spawn(s, true, tx.clone()),
            swarm::spawn(swarm_settings, true, tx),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

/// Stopping a manager's machine was planned with three managers up; someone then stopped
/// another manager's machine. Confirmed at once, the stop would leave one of three: it is
/// refused and the machine keeps running. With only a tag changed instead, it goes through.
#[test]
fn a_managers_machine_is_not_stopped_after_another_manager_went_down() {
    let tag = unique("quorum");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (fleet, _) = rt.block_on(fleet(&tag));
    let id = |host: &str| {
        fleet
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, i)| i.clone())
            .expect("in the fleet")
    };
    let (mgr1, mgr2) = (id("mgr1"), id("mgr2"));
    let api = rt.block_on(ec2_support::api_in("cd-open", &open_endpoint(), REGION));
    let mut c = lab(&tag);
    c.wait(90, "every manager matched with its machine", |c| {
        let cl = c.cluster()?;
        let matched = cl
            .nodes
            .values()
            .filter(|n| n.is_manager() && n.instance_id.is_some())
            .count();
        (matched == 3).then_some(())
    });
    let stop = || {
        OpRequest::new(
            "lab",
            Target::object(SourceKind::Ec2, ObjectKind::Instance, &mgr2, "mgr2"),
            Op::Instance {
                action: InstanceAction::Stop,
            },
        )
    };
    let pending = c.plan(stop());
    let typed = pending.plan().confirm_text.clone().unwrap_or_default();
    rt.block_on(async {
        api.stop_instances()
            .instance_ids(&mgr1)
            .send()
            .await
            .expect("stop mgr1's machine")
    });
    let err = match c.confirm(pending, &typed) {
        Err(e) => e,
        Ok(op) => c.outcome(&op, 60).expect_err("refused by the backend"),
    };
    // Refused by the EC2 backend (it read mgr1's machine), or at release when the console's
    // poll had already shown it.
    let by_backend = err.contains("changed since you confirmed")
        && err.contains(&format!("{mgr1} (manager mgr1) running →"));
    let at_release = err.contains("1 of 3 managers would stay reachable");
    assert!(by_backend || at_release, "{err}");
    assert_eq!(rt.block_on(state(&api, &mgr2)), InstanceStateName::Running);

    // Once the console shows mgr1's machine down, the plan itself refuses.
    c.wait(30, "mgr1's machine shown stopped", |c| {
        let i = c.cluster()?.instances.get(&mgr1)?;
        (i.state == InstanceState::Stopped).then_some(())
    });
    let cluster = c.cluster().expect("state").clone();
    let refused = c
        .gate
        .check(stop(), Some(&cluster), &[])
        .expect_err("the quorum guard");
    assert!(
        refused.contains("1 of 3 managers would stay reachable"),
        "{refused}"
    );

    // mgr1's machine back; a tag someone adds refuses nothing.
    rt.block_on(async {
        api.start_instances()
            .instance_ids(&mgr1)
            .send()
            .await
            .expect("start mgr1's machine")
    });
    c.wait(30, "mgr1's machine shown running", |c| {
        let i = c.cluster()?.instances.get(&mgr1)?;
        (i.state == InstanceState::Running).then_some(())
    });
    let pending = c.plan(stop());
    let typed = pending.plan().confirm_text.clone().unwrap_or_default();
    rt.block_on(async {
        api.create_tags()
            .resources(&mgr2)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("owner")
                    .value("ops")
                    .build(),
            )
            .send()
            .await
            .expect("tag")
    });
    let op = c.confirm(pending, &typed).expect("released");
    let r = c.outcome(&op, 60);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(rt.block_on(state(&api, &mgr2)), InstanceStateName::Stopped);
}

/// wrk2's address in two VPCs and no other machine of the cluster to tell which is its: the
/// node gets no instance, and neither machine any instance action.
#[test]
fn a_node_whose_address_is_in_two_vpcs_gets_no_instance_action() {
    let tag = unique("ambig");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let api = rt.block_on(ec2_support::api_in("cd-open", &open_endpoint(), REGION));
    let one = rt.block_on(decoy(&api, &tag, "10.99.5.2"));
    let two = rt.block_on(decoy(&api, &tag, "10.99.5.2"));
    let mut c = lab(&tag);
    c.wait(90, "both machines and the swarm's nodes", |c| {
        let cl = c.cluster()?;
        (cl.instances.len() == 2 && cl.nodes.len() >= 5).then_some(())
    });
    let cl = c.cluster().expect("state").clone();
    let wrk2 = cl.node_by_name("wrk2").expect("wrk2");
    assert_eq!(wrk2.instance_id, None, "an address alone does not decide");
    assert_eq!(cl.ambiguous.get(&one).map(String::as_str), Some("wrk2"));
    assert_eq!(cl.ambiguous.get(&two).map(String::as_str), Some("wrk2"));
    let stop = OpRequest::new(
        "lab",
        Target::object(SourceKind::Ec2, ObjectKind::Instance, &one, &one),
        Op::Instance {
            action: InstanceAction::Stop,
        },
    );
    let err = c
        .gate
        .check(stop, Some(&cl), &[])
        .expect_err("no instance action");
    assert!(
        err.contains("may run node wrk2") && err.contains("more than one VPC"),
        "{err}"
    );
}

#[test]
fn stop_an_instance_by_keys() {
    let tag = unique("e2e");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_, spare) = rt.block_on(fleet(&tag));
    let hosts: Vec<String> = managers().iter().map(|m| format!("\"{m}\"")).collect();
    let world = World::with_config(&format!(
        "[refresh]\nec2_poll_secs = 2\n\n[[contexts]]\nname = \"lab\"\n\
         docker = {{ hosts = [{}] }}\n\
         aws = {{ profile = \"cd-open\", regions = [\"{REGION}\"], endpoint_url = \"{}\", \
         filters = {{ \"tag:cd-test\" = [\"{tag}\"] }} }}\n",
        hosts.join(", "),
        open_endpoint()
    ));
    let mut s = Session::spawn(&world, &[]);
    s.wait_secs("swarm and ec2 connected", 60, |t| {
        t.contains("swarm ● connected") && t.contains("ec2 ● connected")
    });
    s.send("5");
    // Each instance shows its cluster role.
    let screen = s.wait_secs("the instances with their roles", 60, |t| {
        t.lines()
            .any(|l| l.contains("mgr1") && l.contains("manager"))
            && t.lines()
                .any(|l| l.contains("wrk1") && l.contains("worker"))
    });
    assert!(
        screen
            .lines()
            .any(|l| l.contains("spare") && l.contains("none")),
        "{screen}"
    );
    s.send("/spare\r");
    s.wait_for("only the spare", |t| {
        t.lines()
            .any(|l| l.contains(&spare) && l.contains("running"))
    });
    s.send("X");
    let plan = s.wait_text("Confirm: stop");
    assert!(
        plan.contains(&format!("aws ec2 stop-instances --instance-ids {spare}")),
        "{plan}"
    );
    assert!(plan.contains("running → stopped"), "{plan}");
    s.send("\t\r");
    s.wait_secs("the stop to settle", 60, |t| {
        t.contains(&format!("✓ stop {spare}"))
    });
    s.wait_secs("the row shows stopped", 30, |t| {
        t.lines()
            .any(|l| l.contains(&spare) && l.contains("stopped"))
    });

    // EC2 agrees.
    let api = rt.block_on(ec2_support::api_in("cd-open", &open_endpoint(), REGION));
    assert_eq!(rt.block_on(state(&api, &spare)), InstanceStateName::Stopped);

    // The audit file: intent then ok outcome of the same op, for the EC2 backend.
    let lines = audit_lines(&world.audit_path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (intent, outcome) = (parse(&lines[0]), parse(&lines[1]));
    assert_eq!(intent["phase"], "intent");
    assert_eq!(intent["verb"], "stop");
    assert_eq!(intent["backend"], "ec2");
    assert_eq!(intent["target"], spare.as_str());
    assert_eq!(intent["params"]["before"]["state"], "running");
    assert_eq!(outcome["phase"], "outcome");
    assert_eq!(outcome["result"], "ok");
    assert_eq!(outcome["op_id"], intent["op_id"]);

    s.send("q");
    assert_eq!(s.wait_exit(), 0);
    s.assert_terminal_restored();
}
