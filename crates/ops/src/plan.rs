//! Planning: what an operation will change, the CLI equivalent, warnings and risk, or a
//! refusal with the reason. Pure: a function of the request and the last known state.

use crate::model::ClusterState;
use crate::model::{Availability, NodeRole, Quorum, QuorumVerdict, ServiceMode, SourceKind};

use super::{OpRequest, ec2_plan as ec2, parse_image_ref, split_container};

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

/// Largest replica count accepted from a prompt; beyond it is almost surely a typo.
pub const MAX_REPLICAS: u32 = 1000;

/// Tasks named in a drain plan before "and N more".
pub(super) const LIST_LIMIT: usize = 6;

/// `in_flight` lists the rollouts running now, with who started them.
pub fn plan(
    req: &OpRequest,
    cluster: &ClusterState,
    in_flight: &[(OpRequest, String)],
) -> Result<Plan, String> {
    if let Some(h) = cluster.sources.get(&req.backend())
        && h.is_stale()
    {
        return Err(format!(
            "{} is {}: {}; the shown state is stale, so nothing can be changed",
            req.backend().label(),
            h.label(),
            h.reason().unwrap_or("no reason given")
        ));
    }
    let quorum = cluster.quorum();
    // A swarm without quorum accepts no changes, but its machines can still be started (the
    // way back to quorum), so this refusal is the Swarm backend's alone.
    if req.backend() == SourceKind::Swarm {
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

    let mut warnings = Vec::new();
    let mut high = cluster.production;
    if cluster.production {
        warnings.push(format!("context {} is marked production", cluster.name));
    }
    if req.backend() == SourceKind::Kubernetes && matches!(req, OpRequest::SetRole { .. }) {
        return Err(
            "Kubernetes nodes have no manager role to promote or demote: the control plane is set up by its installer"
                .into(),
        );
    }
    let delta = match req {
        OpRequest::Instance {
            instance, action, ..
        } => ec2::instance(cluster, instance, *action, &mut warnings, &mut high)?,
        OpRequest::AddNodes { count, launch, .. } => {
            ec2::add_nodes(cluster, *count, launch, &mut warnings)?
        }
        OpRequest::Scale {
            service, replicas, ..
        } => {
            let w = find_service(cluster, service)?;
            if w.mode == ServiceMode::Global {
                return Err(format!(
                    "{service} is a global service: it runs one task per eligible node and cannot be scaled"
                ));
            }
            if *replicas > MAX_REPLICAS {
                return Err(format!(
                    "{replicas} replicas is above the limit of {MAX_REPLICAS}"
                ));
            }
            if *replicas == w.desired {
                return Err(format!("{service} already wants {replicas} replicas"));
            }
            if *replicas == 0 {
                high = true;
                warnings.push(format!("scaling to 0 stops every task of {service}"));
            }
            vec![format!(
                "replicas {} → {} (running now: {})",
                w.desired, replicas, w.running
            )]
        }
        OpRequest::SetAvailability {
            node, availability, ..
        } => {
            let n = cluster
                .node_by_name(node)
                .ok_or_else(|| format!("no node named {node}"))?;
            if n.availability == *availability {
                return Err(format!("{node} is already {}", availability.label()));
            }
            let mut delta = vec![format!(
                "availability {} → {}",
                n.availability.label(),
                availability.label()
            )];
            let live: Vec<_> = cluster
                .replicas_on_node(&n.id)
                .filter(|r| r.is_current())
                .collect();
            match availability {
                Availability::Drain => {
                    let names: Vec<String> = live
                        .iter()
                        .take(LIST_LIMIT)
                        .map(|r| task_name(cluster, r))
                        .collect();
                    let more = live.len().saturating_sub(LIST_LIMIT);
                    delta.push(format!(
                        "{} tasks move off {node}{}",
                        live.len(),
                        if live.is_empty() { "" } else { ":" }
                    ));
                    if !names.is_empty() {
                        delta.push(format!(
                            "  {}{}",
                            names.join(", "),
                            if more > 0 {
                                format!(" and {more} more")
                            } else {
                                String::new()
                            }
                        ));
                    }
                    let others = cluster
                        .nodes
                        .values()
                        .filter(|o| o.id != n.id && o.availability == Availability::Active)
                        .count();
                    if others == 0 && !live.is_empty() {
                        warnings
                            .push("no other active node: the moved tasks will stay pending".into());
                    }
                    if n.is_manager() {
                        high = true;
                        warnings.push(format!(
                            "{node} is a manager: it keeps its Raft vote, but its tasks move"
                        ));
                    }
                }
                Availability::Pause => {
                    delta.push(format!(
                        "no new tasks scheduled on {node}; its {} tasks keep running",
                        live.len()
                    ));
                }
                Availability::Active => {
                    delta.push(format!(
                        "{node} accepts tasks again (Swarm does not move existing tasks back)"
                    ));
                }
            }
            delta
        }
        OpRequest::Rollback { service, .. } if req.backend() == SourceKind::Kubernetes => {
            // The previous revision's template is read from its ReplicaSet when the undo runs;
            // the watched ReplicaSets already say which image that is.
            let w = find_service(cluster, service)?;
            if !w.id.starts_with("deployment/") {
                return Err(format!(
                    "{}: rollout undo is for Deployments here; StatefulSets and DaemonSets keep their history in ControllerRevisions",
                    w.name
                ));
            }
            if w.spec_version <= 1 {
                return Err(format!(
                    "{} has no previous revision to roll back to",
                    w.name
                ));
            }
            let image = match (&w.previous_image, cluster.denied.get("replicasets")) {
                (Some(prev), _) if *prev == w.image => format!(
                    "image stays {prev}: the previous revision differs elsewhere in its template"
                ),
                (Some(prev), _) => format!("image {} → {prev}", w.image),
                (None, Some(_)) => format!(
                    "image now {}; the one restored is unknown (listing replicasets is forbidden)",
                    w.image
                ),
                (None, None) => {
                    format!("image now {} (the previous one is not known yet)", w.image)
                }
            };
            vec![
                image,
                format!(
                    "revision {} → the template of the revision before it (as kubectl rollout undo)",
                    w.spec_version
                ),
                format!("{} pods replaced by the rollout", w.desired.max(w.running)),
            ]
        }
        OpRequest::Rollback { service, .. } => {
            let w = find_service(cluster, service)?;
            let prev = w
                .previous_image
                .as_deref()
                .ok_or_else(|| format!("{service} has no previous spec to roll back to"))?;
            vec![
                format!("image {} → {}", w.image, prev),
                format!(
                    "{} tasks replaced by the server-side rollback",
                    w.desired.max(w.running)
                ),
            ]
        }
        OpRequest::Deploy { service, image, .. } => {
            let w = find_service(cluster, service)?;
            let (container, image) = split_container(image);
            let image = &image.to_string();
            // Which container, and what it runs now.
            let (label, current) = if req.backend() == SourceKind::Kubernetes {
                let names = || {
                    w.containers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let found = match container {
                    Some(c) => w.containers.iter().find(|(n, _)| n == c).ok_or_else(|| {
                        format!("{} has no container `{c}` (it has: {})", w.name, names())
                    })?,
                    None => match w.containers.as_slice() {
                        [one] => one,
                        [] => return Err(format!("{} has no container", w.name)),
                        _ => {
                            return Err(format!(
                                "{} has {} containers ({}): type CONTAINER=IMAGE:TAG",
                                w.name,
                                w.containers.len(),
                                names()
                            ));
                        }
                    },
                };
                (format!("{}: ", found.0), found.1.clone())
            } else {
                if container.is_some() {
                    return Err(format!(
                        "{service} is a Swarm service with one image: type just IMAGE:TAG"
                    ));
                }
                (String::new(), w.image.clone())
            };
            let (_, tag, digest) = parse_image_ref(image);
            match (tag.as_deref(), digest.as_deref()) {
                (None | Some(""), None) => {
                    return Err(format!(
                        "{image} has no tag: deploy an explicit tag or digest (type :latest to mean it)"
                    ));
                }
                (Some("latest"), None) => {
                    high = true;
                    warnings.push(
                        "latest is not a version: what runs depends on when each node pulls".into(),
                    );
                }
                _ => {}
            }
            if *image == current {
                return Err(format!("{service} already runs {image}"));
            }
            let uc = &w.update_config;
            vec![
                format!("{label}image {current} → {image}"),
                format!(
                    "rolling {} task(s) at a time, delay {}s, on failure {}",
                    uc.parallelism, uc.delay_secs, uc.failure_action
                ),
            ]
        }
        OpRequest::Restart { service, .. } => {
            let w = find_service(cluster, service)?;
            vec![format!(
                "all {} tasks replaced with the same spec (force update)",
                w.running
            )]
        }
        OpRequest::SetRole { node, role, .. } => {
            let n = cluster
                .node_by_name(node)
                .ok_or_else(|| format!("no node named {node}"))?;
            if n.role == *role {
                return Err(format!(
                    "{node} is already a {}",
                    if n.is_manager() { "manager" } else { "worker" }
                ));
            }
            let (managers, reachable) = (quorum.managers, quorum.reachable);
            // Whether the node adds (promote) or removes (demote) a reachable vote.
            let counts = usize::from(
                n.status == crate::model::NodeStatus::Ready
                    && (n.counts_for_quorum() || !n.is_manager()),
            );
            let after = if *role == NodeRole::Manager {
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
                high = true;
                warnings.push(format!(
                    "fault tolerance drops: {} → {} manager failure(s) survivable",
                    quorum.tolerates_now, after.tolerates_now
                ));
            }
            if after.even_warning {
                warnings.push(format!(
                    "{} managers is an even count: it tolerates no more failures than {}",
                    after.managers,
                    after.managers - 1
                ));
            }
            vec![
                format!(
                    "{node}: {} → {}",
                    if n.is_manager() { "manager" } else { "worker" },
                    if *role == NodeRole::Manager {
                        "manager"
                    } else {
                        "worker"
                    }
                ),
                format!(
                    "managers {} → {} · quorum {} → {} · tolerates {} → {}",
                    managers,
                    after.managers,
                    quorum.quorum,
                    after.quorum,
                    quorum.tolerates_now,
                    after.tolerates_now
                ),
            ]
        }
    };
    if req.is_rollout()
        && let Some((_, who)) = in_flight.iter().find(|(r, _)| {
            r.is_rollout() && r.target() == req.target() && r.cluster() == req.cluster()
        })
    {
        return Err(format!(
            "a rollout of {} is already in flight (started by {who})",
            req.target()
        ));
    }
    let risk = if high { Risk::High } else { Risk::Normal };
    let before = match req {
        OpRequest::Instance { instance, .. } => ec2::before(cluster, instance),
        OpRequest::AddNodes { .. } => serde_json::json!({ "instances": cluster.instances.len() }),
        OpRequest::SetAvailability { node, .. } | OpRequest::SetRole { node, .. } => cluster
            .node_by_name(node)
            .map(|n| {
                serde_json::json!({
                    "availability": n.availability.label(),
                    "role": if n.is_manager() { "manager" } else { "worker" },
                })
            })
            .unwrap_or_default(),
        _ => cluster
            .workload_by_name(req.target())
            .map(|w| {
                serde_json::json!({
                    "image": w.image,
                    "spec_version": w.spec_version,
                    "replicas": w.desired,
                })
            })
            .unwrap_or_default(),
    };
    Ok(Plan {
        title: format!("{} {} on {}", req.verb(), req.target(), req.cluster()),
        delta,
        cli: req.cli(),
        warnings,
        risk,
        confirm_text: high.then(|| req.typed_name().to_string()),
        before,
    })
}

fn find_service<'a>(
    cluster: &'a ClusterState,
    name: &str,
) -> Result<&'a crate::model::Workload, String> {
    cluster
        .workload_by_name(name)
        .ok_or_else(|| format!("no service named {name}"))
}

fn task_name(cluster: &ClusterState, r: &crate::model::Replica) -> String {
    let svc = cluster
        .workloads
        .get(&r.workload_id)
        .map_or("?", |w| w.name.as_str());
    r.label(svc)
}
