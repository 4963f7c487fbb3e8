//! Planning: what an operation will change, the CLI equivalent, warnings and risk, or a
//! refusal with the reason. Pure: a function of the request and the last known state. One
//! module per kind of target: workloads, nodes, instances.

pub(crate) mod instance;
mod node;
mod workload;

use crate::model::{ClusterState, QuorumVerdict, SourceKind};

use super::{Op, OpRequest};

pub use instance::MAX_LAUNCH;
pub use workload::MAX_REPLICAS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    Normal,
    /// Needs the target's name typed out to confirm.
    High,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub title: String,
    pub delta: Vec<String>,
    pub cli: String,
    pub warnings: Vec<String>,
    pub risk: Risk,
    /// The text the operator must type for a high-risk action.
    pub confirm_text: Option<String>,
    /// The target's state before the change as last seen (image with digest, spec version,
    /// replicas, availability, role), recorded with the intent.
    pub before: serde_json::Value,
}

/// Tasks named in a drain plan before "and N more".
pub(crate) const LIST_LIMIT: usize = 6;

/// What a per-kind planner adds up to: the delta, warnings, and whether it is high risk.
#[derive(Default)]
pub(crate) struct Draft {
    pub delta: Vec<String>,
    pub warnings: Vec<String>,
    pub high: bool,
}

/// `in_flight` lists the rollouts running now, with who started them. The request's target
/// must be resolved (the gate does that).
pub fn plan(
    req: &OpRequest,
    cluster: &ClusterState,
    in_flight: &[(OpRequest, String)],
) -> Result<Plan, String> {
    let source = req
        .source()
        .ok_or_else(|| format!("{} is not resolved to an object", req.target()))?;
    refuse_when_unable(source, cluster)?;
    let mut d = Draft {
        high: cluster.production,
        ..Draft::default()
    };
    if cluster.production {
        d.warnings
            .push(format!("context {} is marked production", cluster.name));
    }
    match &req.op {
        Op::Instance { action } => instance::instance(cluster, req.target.id(), *action, &mut d)?,
        Op::AddNodes { count, launch } => instance::add_nodes(cluster, *count, launch, &mut d)?,
        Op::Scale { replicas } => workload::scale(cluster, req, *replicas, &mut d)?,
        Op::Deploy { image } => workload::deploy(cluster, req, image, &mut d)?,
        Op::Rollback { .. } => workload::rollback(cluster, req, &mut d)?,
        Op::Restart => workload::restart(cluster, req, &mut d)?,
        Op::SetAvailability { availability } => {
            node::availability(cluster, req, *availability, &mut d)?
        }
        Op::SetRole { role } => node::role(cluster, req, *role, &mut d)?,
    }
    if req.is_rollout()
        && let Some((_, who)) = in_flight.iter().find(|(r, _)| {
            r.is_rollout() && r.target.same(&req.target) && r.cluster() == req.cluster()
        })
    {
        return Err(format!(
            "a rollout of {} is already in flight (started by {who})",
            req.target()
        ));
    }
    Ok(Plan {
        title: format!("{} {} on {}", req.verb(), req.target(), req.cluster()),
        delta: d.delta,
        cli: req.cli(),
        warnings: d.warnings,
        risk: if d.high { Risk::High } else { Risk::Normal },
        confirm_text: d.high.then(|| req.typed_name()),
        before: before(req, cluster),
    })
}

/// Refusals that hold whatever the operation: the source's data is stale, or the swarm has
/// lost quorum (its machines can still be started: that is the way back, so this refusal is
/// the Swarm backend's alone).
fn refuse_when_unable(source: SourceKind, cluster: &ClusterState) -> Result<(), String> {
    if let Some(h) = cluster.sources.get(&source)
        && h.is_stale()
    {
        return Err(format!(
            "{} is {}: {}; the shown state is stale, so nothing can be changed",
            source.label(),
            h.label(),
            h.reason().unwrap_or("no reason given")
        ));
    }
    if source == SourceKind::Swarm {
        let quorum = cluster.quorum();
        if quorum.verdict == QuorumVerdict::Lost {
            return Err(format!(
                "{}; the swarm accepts no changes",
                quorum.summary()
            ));
        }
        if cluster.nodes.is_empty() {
            return Err("no swarm data loaded yet".into());
        }
    }
    Ok(())
}

/// What the audit intent keeps of the target before the change.
fn before(req: &OpRequest, cluster: &ClusterState) -> serde_json::Value {
    let id = req.target.id();
    match &req.op {
        Op::Instance { .. } => instance::before(cluster, id),
        Op::AddNodes { .. } => serde_json::json!({ "instances": cluster.instances.len() }),
        Op::SetAvailability { .. } | Op::SetRole { .. } => cluster
            .nodes
            .get(id)
            .map(|n| {
                serde_json::json!({
                    "availability": n.availability.label(),
                    "role": if n.is_manager() { "manager" } else { "worker" },
                })
            })
            .unwrap_or_default(),
        _ => cluster
            .workloads
            .get(id)
            .map(|w| {
                serde_json::json!({
                    "image": w.image,
                    "spec_version": w.spec_version,
                    "replicas": w.desired,
                })
            })
            .unwrap_or_default(),
    }
}
