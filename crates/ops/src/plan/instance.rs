//! Plans for EC2 actions: which states allow the action, termination protection, the quorum
//! guard for a manager's machine, and what is lost (instance store) or replaced (autoscaling).

use crate::model::{ClusterState, Instance, InstanceState, Quorum, QuorumVerdict};
use crate::{InstanceAction, LaunchConfig};

use super::Draft;

/// Most instances one "add node" launches; more is almost surely a typo.
pub const MAX_LAUNCH: u32 = 20;

fn find<'a>(cluster: &'a ClusterState, id: &str) -> Result<&'a Instance, String> {
    cluster
        .instances
        .get(id)
        .ok_or_else(|| format!("no instance {id} (it may have been filtered out or gone)"))
}

/// The state an action ends in, or why it cannot start from the current one.
fn transition(i: &Instance, action: InstanceAction) -> Result<InstanceState, String> {
    use InstanceState::*;
    let ok = match action {
        InstanceAction::Start => (i.state == Stopped).then_some(Running),
        InstanceAction::Stop => matches!(i.state, Running | Pending).then_some(Stopped),
        InstanceAction::Reboot => (i.state == Running).then_some(Running),
        InstanceAction::Terminate => {
            (!matches!(i.state, ShuttingDown | Terminated)).then_some(Terminated)
        }
    };
    ok.ok_or_else(|| {
        format!(
            "{} is {}: it cannot be {}",
            i.id,
            i.state.label(),
            match action {
                InstanceAction::Start => "started (only a stopped instance can)",
                InstanceAction::Stop => "stopped (only a running or pending instance can)",
                InstanceAction::Reboot => "rebooted (only a running instance can)",
                InstanceAction::Terminate => "terminated again",
            }
        )
    })
}

pub(super) fn instance(
    cluster: &ClusterState,
    id: &str,
    action: InstanceAction,
    d: &mut Draft,
) -> Result<(), String> {
    let (warnings, high) = (&mut d.warnings, &mut d.high);
    let i = find(cluster, id)?;
    if let Some(host) = cluster.ambiguous.get(id) {
        return Err(format!(
            "{id} may run node {host}: its address {} is used in more than one VPC, so which \
             machine runs {host} is not known; no instance action until it is (label the node \
             with instance-id={id}, or narrow aws.filters to the cluster's VPC)",
            i.private_ip.as_deref().unwrap_or("?")
        ));
    }
    let after = transition(i, action)?;
    let takes_down = action != InstanceAction::Start;
    if action == InstanceAction::Terminate {
        *high = true;
        match i.flags.termination_protection {
            Some(true) => {
                return Err(format!(
                    "termination protection is on for {id}: turn it off first \
                     (aws ec2 modify-instance-attribute --instance-id {id} --no-disable-api-termination)"
                ));
            }
            Some(false) => {}
            None => warnings.push(
                "termination protection could not be read: EC2 refuses the call if it is on".into(),
            ),
        }
    }
    let name = if i.name.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", i.name)
    };
    let mut delta = vec![match action {
        InstanceAction::Reboot => format!("{name}: running → rebooting → running"),
        _ => format!("{name}: {} → {}", i.state.label(), after.label()),
    }];

    let node = i.node_id.as_deref().and_then(|n| cluster.nodes.get(n));
    if let Some(n) = node {
        let role = if n.is_manager() { "manager" } else { "worker" };
        delta.push(format!("runs swarm {role} {}", n.hostname));
        if takes_down {
            let tasks = cluster
                .replicas_on_node(&n.id)
                .filter(|r| r.is_current())
                .count();
            if tasks > 0 {
                warnings.push(format!(
                    "{tasks} task(s) on {} stop and are rescheduled elsewhere",
                    n.hostname
                ));
            }
        }
        if takes_down && n.is_manager() {
            quorum_guard(cluster, n, action, warnings, high)?;
        }
    }
    if takes_down && action != InstanceAction::Reboot && i.flags.instance_store_root {
        *high = true;
        warnings
            .push("the root device is instance store: everything on it is lost for good".into());
    }
    if let Some(asg) = &i.flags.autoscaling_group {
        match action {
            InstanceAction::Terminate => warnings.push(format!(
                "member of autoscaling group {asg}: it launches a replacement"
            )),
            InstanceAction::Stop => warnings.push(format!(
                "member of autoscaling group {asg}: a failing health check replaces a stopped instance"
            )),
            _ => {}
        }
    }
    d.delta.extend(delta);
    Ok(())
}

/// Taking a manager's machine down removes its Raft vote (for a reboot, for a while).
fn quorum_guard(
    cluster: &ClusterState,
    n: &crate::model::Node,
    action: InstanceAction,
    warnings: &mut Vec<String>,
    high: &mut bool,
) -> Result<(), String> {
    let q = cluster.quorum();
    let votes = usize::from(n.counts_for_quorum());
    // Other managers whose machine EC2 shows stopping or stopped still look reachable to the
    // swarm for a while: their votes are going, so they do not count.
    let going = cluster
        .nodes
        .values()
        .filter(|m| m.id != n.id && m.is_manager() && m.counts_for_quorum())
        .filter(|m| machine_down(cluster, m))
        .count();
    let after = Quorum::compute(
        q.managers,
        q.reachable.saturating_sub(votes + going),
        None,
        None,
    );
    if votes == 1 && after.verdict == QuorumVerdict::Lost {
        return Err(format!(
            "{} {} runs manager {}: {} of {} managers would stay reachable where quorum needs {}; \
             the swarm would stop accepting changes",
            action.verb(),
            n.instance_id.as_deref().unwrap_or("this instance"),
            n.hostname,
            after.reachable,
            after.managers,
            after.quorum
        ));
    }
    *high = true;
    warnings.push(format!(
        "runs manager {}: fault tolerance {} → {} manager failure(s)",
        n.hostname, q.tolerates_now, after.tolerates_now
    ));
    Ok(())
}

/// Whether EC2 shows the node's machine stopping, stopped or gone.
fn machine_down(cluster: &ClusterState, n: &crate::model::Node) -> bool {
    n.instance_id
        .as_deref()
        .and_then(|i| cluster.instances.get(i))
        .is_some_and(|i| !matches!(i.state, InstanceState::Running | InstanceState::Pending))
}

pub(super) fn add_nodes(
    cluster: &ClusterState,
    count: u32,
    launch: &LaunchConfig,
    d: &mut Draft,
) -> Result<(), String> {
    let warnings = &mut d.warnings;
    if count == 0 || count > MAX_LAUNCH {
        return Err(format!(
            "{count} instances: launch between 1 and {MAX_LAUNCH} at a time"
        ));
    }
    let from = match (&launch.template, &launch.ami) {
        (Some(t), Some(a)) => format!("launch template {t}, AMI {a}"),
        (Some(t), None) => format!("launch template {t}"),
        (None, Some(a)) => format!("AMI {a}"),
        (None, None) => {
            return Err(format!(
                "context {} has no aws.launch (ami or template) to launch from",
                cluster.name
            ));
        }
    };
    let mut delta = vec![format!(
        "launch {count} × {} from {from}",
        launch
            .instance_type
            .as_deref()
            .unwrap_or("the default type")
    )];
    if let Some(s) = &launch.subnet {
        delta.push(format!("in subnet {s}"));
    }
    if launch.tags.is_empty() {
        warnings.push("no tags: the new instances may not match this context's filters".into());
    } else {
        let tags: Vec<String> = launch
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        delta.push(format!("tagged {}", tags.join(", ")));
    }
    warnings.push(
        "new instances are billed from launch; they join the swarm only if their \
                   user data or AMI makes them"
            .into(),
    );
    d.delta.extend(delta);
    Ok(())
}

/// What the audit record keeps of the instance before the change.
pub(super) fn before(cluster: &ClusterState, id: &str) -> serde_json::Value {
    cluster
        .instances
        .get(id)
        .map(|i| {
            serde_json::json!({
                "state": i.state.label(),
                "name": i.name,
                "type": i.instance_type,
                "az": i.az,
                "private_ip": i.private_ip,
                "node": i.node_id.as_deref().and_then(|n| cluster.nodes.get(n)).map(|n| &n.hostname),
            })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Store;
    use crate::model::{BackendMsg, Snapshot};
    use crate::model::{Node, NodeRole, Reachability};
    use crate::{Op, OpRequest, Risk, plan};

    /// Three managers on three instances (one AZ each) and a spare instance.
    fn cluster(reachable_managers: usize) -> ClusterState {
        let now = chrono::Utc::now();
        let mut nodes = Vec::new();
        let mut instances = Vec::new();
        for k in 0..3 {
            let mut n = Node::sample(NodeRole::Manager);
            n.id = format!("n{k}");
            n.hostname = format!("mgr{k}");
            n.addr = format!("10.0.0.{k}");
            if k >= reachable_managers {
                n.reachability = Some(Reachability::Unreachable);
                n.status = crate::model::NodeStatus::Down;
            }
            nodes.push(n);
            instances.push(Instance::sample(
                &format!("i-{k}"),
                &format!("mgr{k}"),
                &format!("us-west-1{}", ['a', 'b', 'c'][k]),
                Some(&format!("10.0.0.{k}")),
                now,
            ));
        }
        let mut spare = Instance::sample("i-spare", "spare", "us-west-1a", None, now);
        spare.flags.instance_store_root = true;
        spare.flags.autoscaling_group = Some("workers".into());
        instances.push(spare);
        let mut store = Store::default();
        store.apply(BackendMsg::Snapshot {
            cluster: "c".into(),
            source: crate::model::SourceKind::Swarm,
            at: now,
            snapshot: Snapshot {
                nodes: Some(nodes),
                ..Snapshot::default()
            },
        });
        store.apply(BackendMsg::Snapshot {
            cluster: "c".into(),
            source: crate::model::SourceKind::Ec2,
            at: now,
            snapshot: Snapshot {
                instances: Some(instances),
                ..Snapshot::default()
            },
        });
        store.cluster("c").expect("cluster").clone()
    }

    fn req(instance: &str, action: InstanceAction) -> OpRequest {
        OpRequest::new(
            "c",
            crate::model::Target::object(
                crate::model::SourceKind::Ec2,
                crate::model::ObjectKind::Instance,
                instance,
                instance,
            ),
            Op::Instance { action },
        )
    }

    #[test]
    fn a_managers_instance_gets_the_quorum_guard() {
        let healthy = cluster(3);
        let p = plan(&req("i-0", InstanceAction::Stop), &healthy, &[]).expect("plan");
        assert_eq!(p.risk, Risk::High);
        assert!(
            p.delta.iter().any(|d| d.contains("manager mgr0")),
            "{:?}",
            p.delta
        );
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("fault tolerance 1 → 0")),
            "{:?}",
            p.warnings
        );
        // With one manager already down, stopping another loses quorum: refused.
        let degraded = cluster(2);
        let e = plan(&req("i-0", InstanceAction::Reboot), &degraded, &[]).expect_err("refused");
        assert!(e.contains("quorum needs 2"), "{e}");
        // Starting the down manager's machine is the way back, and is allowed.
        let mut down = cluster(2);
        if let Some(i) = down.instances.get_mut("i-2") {
            i.state = InstanceState::Stopped;
        }
        assert!(plan(&req("i-2", InstanceAction::Start), &down, &[]).is_ok());
    }

    #[test]
    fn starting_a_manager_is_allowed_even_without_quorum() {
        let mut lost = cluster(1);
        if let Some(i) = lost.instances.get_mut("i-1") {
            i.state = InstanceState::Stopped;
        }
        let p = plan(&req("i-1", InstanceAction::Start), &lost, &[]).expect("plan");
        assert_eq!(p.risk, Risk::Normal);
        // Swarm actions stay refused.
        let drain = OpRequest::named(
            "c",
            "mgr0",
            Op::SetAvailability {
                availability: crate::model::Availability::Drain,
            },
        );
        let drain = drain.resolve(&lost).expect("resolves");
        assert!(plan(&drain, &lost, &[]).is_err());
    }

    #[test]
    fn terminate_is_typed_refused_when_protected_and_warns() {
        let mut c = cluster(3);
        let p = plan(&req("i-spare", InstanceAction::Terminate), &c, &[]).expect("plan");
        assert_eq!(p.risk, Risk::High);
        assert_eq!(p.confirm_text.as_deref(), Some("i-spare"));
        let all = p.warnings.join("\n");
        assert!(all.contains("instance store"), "{all}");
        assert!(
            all.contains("autoscaling group workers: it launches a replacement"),
            "{all}"
        );
        assert!(all.contains("could not be read"), "{all}");
        if let Some(i) = c.instances.get_mut("i-spare") {
            i.flags.termination_protection = Some(true);
        }
        let e = plan(&req("i-spare", InstanceAction::Terminate), &c, &[]).expect_err("refused");
        assert!(e.contains("termination protection is on"), "{e}");
    }

    #[test]
    fn actions_need_a_state_they_can_start_from() {
        let mut c = cluster(3);
        let e = plan(&req("i-spare", InstanceAction::Start), &c, &[]).expect_err("running");
        assert!(e.contains("only a stopped instance"), "{e}");
        if let Some(i) = c.instances.get_mut("i-spare") {
            i.state = InstanceState::Terminated;
        }
        for a in [
            InstanceAction::Stop,
            InstanceAction::Reboot,
            InstanceAction::Terminate,
        ] {
            assert!(plan(&req("i-spare", a), &c, &[]).is_err(), "{a:?}");
        }
        assert!(plan(&req("i-nope", InstanceAction::Stop), &c, &[]).is_err());
    }

    #[test]
    fn add_nodes_checks_the_count_and_the_launch_source() {
        let c = cluster(3);
        let mut l = LaunchConfig {
            ami: Some("ami-1".into()),
            ..LaunchConfig::default()
        };
        l.tags.insert("Role".into(), "swarm-worker".into());
        let add = |count, launch: &LaunchConfig| OpRequest::add_nodes("c", count, launch.clone());
        let p = plan(&add(2, &l), &c, &[]).expect("plan");
        assert!(p.delta[0].contains("launch 2 × the default type from AMI ami-1"));
        assert!(
            p.cli.contains("--count 2") && p.cli.contains("Key=Role,Value=swarm-worker"),
            "{}",
            p.cli
        );
        assert!(plan(&add(0, &l), &c, &[]).is_err());
        assert!(plan(&add(MAX_LAUNCH + 1, &l), &c, &[]).is_err());
        assert!(plan(&add(1, &LaunchConfig::default()), &c, &[]).is_err());
    }
}
