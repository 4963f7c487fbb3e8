//! Plans for EC2 actions: which states allow the action, termination protection, the quorum
//! guard for a manager's machine, and what is lost (instance store) or replaced (autoscaling).

use crate::app::store::ClusterState;
use crate::config::LaunchConfig;
use crate::model::{Instance, InstanceState, Quorum, QuorumVerdict};

use super::request::InstanceAction;

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
    warnings: &mut Vec<String>,
    high: &mut bool,
) -> Result<Vec<String>, String> {
    let i = find(cluster, id)?;
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
    Ok(delta)
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
    let after = Quorum::compute(q.managers, q.reachable.saturating_sub(votes), None, None);
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

pub(super) fn add_nodes(
    cluster: &ClusterState,
    count: u32,
    launch: &LaunchConfig,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
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
    Ok(delta)
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
