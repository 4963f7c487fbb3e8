//! Plans for nodes: drain, pause, activate (cordon, uncordon), promote and demote.

use crate::OpRequest;
use crate::model::{
    Availability, ClusterState, Node, NodeRole, NodeStatus, Quorum, QuorumVerdict, Replica,
    SourceKind,
};

use super::{Draft, LIST_LIMIT};

fn find<'a>(cluster: &'a ClusterState, req: &OpRequest) -> Result<&'a Node, String> {
    cluster
        .nodes
        .get(req.target.id())
        .ok_or_else(|| format!("no node named {}", req.target()))
}

pub(super) fn availability(
    cluster: &ClusterState,
    req: &OpRequest,
    availability: Availability,
    d: &mut Draft,
) -> Result<(), String> {
    let n = find(cluster, req)?;
    let node = &n.hostname;
    if n.availability == availability {
        return Err(format!("{node} is already {}", availability.label()));
    }
    d.delta.push(format!(
        "availability {} → {}",
        n.availability.label(),
        availability.label()
    ));
    let live: Vec<&Replica> = cluster
        .replicas_on_node(&n.id)
        .filter(|r| r.is_current())
        .collect();
    match availability {
        Availability::Drain => drain(cluster, n, &live, d),
        Availability::Pause => d.delta.push(format!(
            "no new tasks scheduled on {node}; its {} tasks keep running",
            live.len()
        )),
        Availability::Active => d.delta.push(format!(
            "{node} accepts tasks again (Swarm does not move existing tasks back)"
        )),
    }
    Ok(())
}

fn drain(cluster: &ClusterState, n: &Node, live: &[&Replica], d: &mut Draft) {
    let node = &n.hostname;
    let names: Vec<String> = live
        .iter()
        .take(LIST_LIMIT)
        .map(|r| task_name(cluster, r))
        .collect();
    let more = live.len().saturating_sub(LIST_LIMIT);
    d.delta.push(format!(
        "{} tasks move off {node}{}",
        live.len(),
        if live.is_empty() { "" } else { ":" }
    ));
    if !names.is_empty() {
        let and_more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        d.delta.push(format!("  {}{and_more}", names.join(", ")));
    }
    let others = cluster
        .nodes
        .values()
        .filter(|o| o.id != n.id && o.availability == Availability::Active)
        .count();
    if others == 0 && !live.is_empty() {
        d.warnings
            .push("no other active node: the moved tasks will stay pending".into());
    }
    if n.is_manager() {
        d.high = true;
        d.warnings.push(format!(
            "{node} is a manager: it keeps its Raft vote, but its tasks move"
        ));
    }
}

fn task_name(cluster: &ClusterState, r: &Replica) -> String {
    let svc = cluster
        .workloads
        .get(&r.workload_id)
        .map_or("?", |w| w.name.as_str());
    r.label(svc)
}

fn role_word(manager: bool) -> &'static str {
    if manager { "manager" } else { "worker" }
}

pub(super) fn role(
    cluster: &ClusterState,
    req: &OpRequest,
    role: NodeRole,
    d: &mut Draft,
) -> Result<(), String> {
    if req.source() == Some(SourceKind::Kubernetes) {
        return Err(
            "Kubernetes nodes have no manager role to promote or demote: the control plane is set up by its installer"
                .into(),
        );
    }
    let n = find(cluster, req)?;
    let node = &n.hostname;
    if n.role == role {
        return Err(format!("{node} is already a {}", role_word(n.is_manager())));
    }
    let quorum = cluster.quorum();
    let (managers, reachable) = (quorum.managers, quorum.reachable);
    // Whether the node adds (promote) or removes (demote) a reachable vote.
    let counts =
        usize::from(n.status == NodeStatus::Ready && (n.counts_for_quorum() || !n.is_manager()));
    let after = if role == NodeRole::Manager {
        Quorum::compute(managers + 1, reachable + counts, None, None)
    } else {
        Quorum::compute(
            managers.saturating_sub(1),
            reachable.saturating_sub(counts),
            None,
            None,
        )
    };
    if after.managers == 0 || after.verdict == QuorumVerdict::Lost {
        return Err(format!(
            "demoting {node} would leave {} of {} managers reachable where quorum needs {}: the swarm would stop accepting changes",
            after.reachable, after.managers, after.quorum
        ));
    }
    if after.tolerates_now < quorum.tolerates_now || after.tolerated < quorum.tolerated {
        d.high = true;
        d.warnings.push(format!(
            "fault tolerance drops: {} → {} manager failure(s) survivable",
            quorum.tolerates_now, after.tolerates_now
        ));
    }
    if after.even_warning {
        d.warnings.push(format!(
            "{} managers is an even count: it tolerates no more failures than {}",
            after.managers,
            after.managers - 1
        ));
    }
    d.delta.push(format!(
        "{node}: {} → {}",
        role_word(n.is_manager()),
        role_word(role == NodeRole::Manager)
    ));
    d.delta.push(format!(
        "managers {} → {} · quorum {} → {} · tolerates {} → {}",
        managers,
        after.managers,
        quorum.quorum,
        after.quorum,
        quorum.tolerates_now,
        after.tolerates_now
    ));
    Ok(())
}
