//! Plans for workloads: scale, deploy, roll back, restart.

use crate::model::{ClusterState, ServiceMode, SourceKind, Workload};
use crate::{Op, OpRequest, parse_image_ref, split_container};

use super::Draft;

/// Largest replica count accepted from a prompt; beyond it is almost surely a typo.
pub const MAX_REPLICAS: u32 = 1000;

fn find<'a>(cluster: &'a ClusterState, req: &OpRequest) -> Result<&'a Workload, String> {
    cluster
        .workloads
        .get(req.target.id())
        .ok_or_else(|| format!("no service named {}", req.target()))
}

pub(super) fn scale(
    cluster: &ClusterState,
    req: &OpRequest,
    replicas: u32,
    d: &mut Draft,
) -> Result<(), String> {
    let w = find(cluster, req)?;
    let name = &w.name;
    if w.mode == ServiceMode::Global {
        return Err(format!(
            "{name} is a global service: it runs one task per eligible node and cannot be scaled"
        ));
    }
    if replicas > MAX_REPLICAS {
        return Err(format!(
            "{replicas} replicas is above the limit of {MAX_REPLICAS}"
        ));
    }
    if replicas == w.desired {
        return Err(format!("{name} already wants {replicas} replicas"));
    }
    if replicas == 0 {
        d.high = true;
        d.warnings
            .push(format!("scaling to 0 stops every task of {name}"));
    }
    d.delta.push(format!(
        "replicas {} → {} (running now: {})",
        w.desired, replicas, w.running
    ));
    Ok(())
}

pub(super) fn restart(
    cluster: &ClusterState,
    req: &OpRequest,
    d: &mut Draft,
) -> Result<(), String> {
    let w = find(cluster, req)?;
    d.delta.push(format!(
        "all {} tasks replaced with the same spec (force update)",
        w.running
    ));
    Ok(())
}

pub(super) fn rollback(
    cluster: &ClusterState,
    req: &OpRequest,
    d: &mut Draft,
) -> Result<(), String> {
    let w = find(cluster, req)?;
    if req.source() == Some(SourceKind::Kubernetes) {
        if let Op::Rollback {
            to_revision: Some(to),
            ..
        } = req.op
        {
            return rollout_to(w, to, d);
        }
        return rollout_undo(cluster, w, d);
    }
    // Swarm: the image of the engine's own PreviousSpec, which the rollback restores.
    let prev = w.previous_image.as_deref().ok_or_else(|| {
        format!(
            "{} has no previous spec to roll back to (the engine keeps one only after an update)",
            w.name
        )
    })?;
    d.delta.push(format!(
        "image {} → {} (the engine's previous spec)",
        w.image, prev
    ));
    // What the last update changed, undone field by field (the image is said above).
    let undone: Vec<&String> = w
        .changed
        .iter()
        .filter(|c| !c.starts_with("image "))
        .collect();
    if !undone.is_empty() {
        d.delta
            .push("the rollback also undoes the last update's:".into());
        d.delta.extend(undone.into_iter().map(|c| format!("  {c}")));
    } else if !w.changed.is_empty() {
        d.delta
            .push("the last update changed the image only".into());
    }
    d.delta.push(format!(
        "{} tasks replaced by the server-side rollback",
        w.desired.max(w.running)
    ));
    Ok(())
}

/// Kubernetes: back to a chosen revision kept in the Deployment's history.
fn rollout_to(w: &Workload, to: u64, d: &mut Draft) -> Result<(), String> {
    let kept: Vec<String> = w.revisions.iter().map(|r| r.number.to_string()).collect();
    if to == w.spec_version {
        return Err(format!(
            "{} is at revision {to} already; nothing to roll back",
            w.name
        ));
    }
    let target = w.revisions.iter().find(|r| r.number == to).ok_or_else(|| {
        format!(
            "{} keeps no revision {to} (kept: {})",
            w.name,
            if kept.is_empty() {
                "none known".to_string()
            } else {
                kept.join(", ")
            }
        )
    })?;
    d.delta
        .push(format!("image {} → {}", w.image, target.image));
    d.delta.push(format!(
        "revision {} → the template of revision {to} (as kubectl rollout undo --to-revision={to})",
        w.spec_version
    ));
    // Everything else the template of that revision changes, field by field.
    let rest: Vec<&String> = target
        .changes
        .iter()
        .filter(|c| !c.starts_with("image "))
        .collect();
    if !rest.is_empty() {
        d.delta
            .push(format!("revision {to}'s template also changes:"));
        d.delta.extend(rest.into_iter().map(|c| format!("  {c}")));
    }
    d.delta.push(format!(
        "{} pods replaced by the rollout",
        w.desired.max(w.running)
    ));
    Ok(())
}

/// Kubernetes: the previous revision's template is read from its ReplicaSet when the undo
/// runs; the watched ReplicaSets already say which image that is.
fn rollout_undo(cluster: &ClusterState, w: &Workload, d: &mut Draft) -> Result<(), String> {
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
        (Some(prev), _) if *prev == w.image => {
            format!("image stays {prev}: the previous revision differs elsewhere in its template")
        }
        (Some(prev), _) => format!("image {} → {prev}", w.image),
        (None, Some(_)) => format!(
            "image now {}; the one restored is unknown (listing replicasets is forbidden)",
            w.image
        ),
        (None, None) => format!("image now {} (the previous one is not known yet)", w.image),
    };
    d.delta.push(image);
    d.delta.push(format!(
        "revision {} → the template of the revision before it (as kubectl rollout undo)",
        w.spec_version
    ));
    d.delta.push(format!(
        "{} pods replaced by the rollout",
        w.desired.max(w.running)
    ));
    Ok(())
}

pub(super) fn deploy(
    cluster: &ClusterState,
    req: &OpRequest,
    image: &str,
    d: &mut Draft,
) -> Result<(), String> {
    let w = find(cluster, req)?;
    let (container, image) = split_container(image);
    // Which container, and what it runs now.
    let (label, current) = if req.source() == Some(SourceKind::Kubernetes) {
        let (name, current) = container_of(w, container)?;
        (format!("{name}: "), current)
    } else {
        if container.is_some() {
            return Err(format!(
                "{} is a Swarm service with one image: type just IMAGE:TAG",
                w.name
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
            d.high = true;
            d.warnings
                .push("latest is not a version: what runs depends on when each node pulls".into());
        }
        _ => {}
    }
    if image == current {
        return Err(format!("{} already runs {image}", w.name));
    }
    let uc = &w.update_config;
    d.delta.push(format!("{label}image {current} → {image}"));
    d.delta.push(format!(
        "rolling {} task(s) at a time, delay {}s, on failure {}",
        uc.parallelism, uc.delay_secs, uc.failure_action
    ));
    Ok(())
}

/// The container a Kubernetes deploy sets (named, or the only one) and its image now.
fn container_of(w: &Workload, named: Option<&str>) -> Result<(String, String), String> {
    let names = || {
        w.containers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found =
        match named {
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
    Ok(found.clone())
}
