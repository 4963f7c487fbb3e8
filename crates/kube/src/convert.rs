//! Kubernetes objects (k8s-openapi) → the normalized model. Ids carry the kind so that an
//! operation knows its backend and its API: `node/NAME`, `deployment/NS/NAME`,
//! `statefulset/NS/NAME`, `daemonset/NS/NAME`, `pod/NS/NAME`.

use std::collections::BTreeMap;

use chrono::Utc;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Node as KubeNode, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use clusterdeck_model::{
    Availability, Event, Node, NodeRole, NodeStatus, ObjectKind, Origin, Replica, ServiceMode,
    Severity, SourceKind, TaskState, Time, UpdateConfig, UpdateState, UpdateStatus, Workload,
};

pub const REVISION: &str = "deployment.kubernetes.io/revision";

/// The workload kinds the console shows, and their id prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl Kind {
    /// The model's word for it.
    pub fn object(self) -> ObjectKind {
        match self {
            Kind::Deployment => ObjectKind::Deployment,
            Kind::StatefulSet => ObjectKind::StatefulSet,
            Kind::DaemonSet => ObjectKind::DaemonSet,
        }
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::DaemonSet => "daemonset",
        }
    }
}

pub fn node_id(name: &str) -> String {
    format!("node/{name}")
}

pub fn workload_id(kind: Kind, ns: &str, name: &str) -> String {
    format!("{}/{ns}/{name}", kind.prefix())
}

pub fn pod_id(ns: &str, name: &str) -> String {
    format!("pod/{ns}/{name}")
}

/// `deployment/NS/NAME` → (kind, namespace, name).
pub fn parse_workload_id(id: &str) -> Option<(Kind, &str, &str)> {
    let (kind, rest) = id.split_once('/')?;
    let (ns, name) = rest.split_once('/')?;
    let kind = match kind {
        "deployment" => Kind::Deployment,
        "statefulset" => Kind::StatefulSet,
        "daemonset" => Kind::DaemonSet,
        _ => return None,
    };
    Some((kind, ns, name))
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<Time> {
    let t = t?;
    chrono::DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

fn ns_name(m: &ObjectMeta) -> Option<(&str, &str)> {
    Some((
        m.namespace.as_deref().unwrap_or("default"),
        m.name.as_deref()?,
    ))
}

/// "aws:///us-west-1a/i-0abc" → (instance id, zone).
pub fn aws_provider_id(p: &str) -> Option<(String, String)> {
    let rest = p.strip_prefix("aws://")?;
    let mut parts = rest.trim_start_matches('/').split('/');
    let az = parts.next()?.to_string();
    let id = parts.next()?.to_string();
    id.starts_with("i-").then_some((id, az))
}

pub fn node(n: &KubeNode) -> Option<Node> {
    let name = n.metadata.name.clone()?;
    let labels: BTreeMap<String, String> = n.metadata.labels.clone().unwrap_or_default();
    let spec = n.spec.as_ref();
    let status = n.status.as_ref();
    let control_plane = labels.contains_key("node-role.kubernetes.io/control-plane")
        || labels.contains_key("node-role.kubernetes.io/master");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let state = match ready {
        Some("True") => NodeStatus::Ready,
        Some("False") => NodeStatus::Down,
        _ => NodeStatus::Unknown,
    };
    let addr = status
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| {
            a.iter()
                .find(|a| a.type_ == "InternalIP")
                .or_else(|| a.first())
        })
        .map(|a| a.address.clone())
        .unwrap_or_default();
    let provider = spec
        .and_then(|s| s.provider_id.as_deref())
        .and_then(aws_provider_id);
    let az = labels
        .get("topology.kubernetes.io/zone")
        .cloned()
        .or_else(|| provider.as_ref().map(|p| p.1.clone()));
    let taints = spec
        .and_then(|s| s.taints.as_ref())
        .map(|ts| {
            ts.iter()
                .map(|t| match &t.value {
                    Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
                    _ => format!("{}:{}", t.key, t.effect),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Node {
        id: node_id(&name),
        source: SourceKind::Kubernetes,
        hostname: name,
        role: if control_plane {
            NodeRole::Manager
        } else {
            NodeRole::Worker
        },
        // Cordoned is Swarm's "pause": running pods stay, nothing new is scheduled.
        availability: if spec.and_then(|s| s.unschedulable).unwrap_or(false) {
            Availability::Pause
        } else {
            Availability::Active
        },
        status: state,
        reachability: None,
        leader: false,
        addr,
        engine: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| format!("kubelet {}", i.kubelet_version))
            .unwrap_or_default(),
        labels,
        taints,
        instance_id: provider.map(|p| p.0),
        az,
    })
}

fn first_image(t: &PodTemplateSpec) -> String {
    t.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn base(kind: Kind, m: &ObjectMeta, template: &PodTemplateSpec) -> Option<Workload> {
    let (ns, name) = ns_name(m)?;
    Some(Workload {
        id: workload_id(kind, ns, name),
        kind: kind.object(),
        name: format!("{ns}/{name}"),
        mode: ServiceMode::Replicated,
        desired: 0,
        running: 0,
        image: first_image(template),
        containers: template
            .spec
            .iter()
            .flat_map(|s| &s.containers)
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect(),
        previous_image: None,
        changed: Vec::new(),
        revisions: Vec::new(),
        stack: Some(ns.to_string()),
        update: None,
        update_config: UpdateConfig {
            parallelism: 1,
            delay_secs: 0,
            failure_action: "continue".into(),
        },
        spec_version: m.generation.unwrap_or(0).max(0) as u64,
        generation: m.generation.unwrap_or(0).max(0) as u64,
        uid: m.uid.clone(),
        availability: Vec::new(),
    })
}

fn count(v: Option<i32>) -> u32 {
    v.unwrap_or(0).max(0) as u32
}

/// Whether the controller has seen the current spec: until then its status is the last one's.
fn observed(m: &ObjectMeta, observed_generation: Option<i64>) -> bool {
    observed_generation.unwrap_or(0) >= m.generation.unwrap_or(0)
}

/// Rollout progress as `kubectl rollout status` judges it.
fn rollout(
    desired: u32,
    updated: u32,
    ready: u32,
    available: u32,
    total: u32,
    observed: bool,
    stalled: Option<String>,
) -> UpdateStatus {
    let counts = format!("{updated} updated · {ready} ready · {available} available of {desired}");
    if let Some(why) = stalled {
        return UpdateStatus {
            state: UpdateState::Paused,
            message: format!("stalled: {why} ({counts})"),
            started_at: None,
            progress: Some((updated, desired)),
        };
    }
    let done = observed && updated >= desired && total <= updated && available >= desired;
    UpdateStatus {
        state: if done {
            UpdateState::Completed
        } else {
            UpdateState::Updating
        },
        message: counts,
        started_at: None,
        progress: Some((updated, desired)),
    }
}

pub fn deployment(d: &Deployment) -> Option<Workload> {
    let spec = d.spec.as_ref()?;
    let mut w = base(Kind::Deployment, &d.metadata, &spec.template)?;
    let st = d.status.clone().unwrap_or_default();
    w.desired = count(spec.replicas.or(Some(1)));
    w.running = count(st.ready_replicas);
    // The revision, not the generation: it is what rollout undo speaks in.
    w.spec_version = d
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    // Until the controller has seen the new spec, the conditions are the previous rollout's:
    // a stall from before must not fail the rollout just started (kubectl rollout status
    // waits the same way).
    let observed = observed(&d.metadata, st.observed_generation);
    let stalled = st.conditions.as_ref().filter(|_| observed).and_then(|cs| {
        cs.iter()
            .find(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            })
            .map(|c| {
                format!(
                    "progress deadline exceeded{}",
                    c.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            })
    });
    w.update = Some(rollout(
        w.desired,
        count(st.updated_replicas),
        w.running,
        count(st.available_replicas),
        count(st.replicas),
        observed,
        stalled,
    ));
    if spec.paused == Some(true) {
        w.update = Some(UpdateStatus {
            state: UpdateState::Paused,
            message: "rollout paused (kubectl rollout resume)".into(),
            started_at: None,
            progress: None,
        });
    }
    Some(w)
}

pub fn statefulset(s: &StatefulSet) -> Option<Workload> {
    let spec = s.spec.as_ref()?;
    let mut w = base(Kind::StatefulSet, &s.metadata, &spec.template)?;
    let st = s.status.clone().unwrap_or_default();
    w.desired = count(spec.replicas.or(Some(1)));
    w.running = count(st.ready_replicas);
    let observed = observed(&s.metadata, st.observed_generation);
    w.update = Some(rollout(
        w.desired,
        count(st.updated_replicas),
        w.running,
        count(st.available_replicas),
        count(Some(st.replicas)),
        observed,
        None,
    ));
    Some(w)
}

pub fn daemonset(d: &DaemonSet) -> Option<Workload> {
    let spec = d.spec.as_ref()?;
    let mut w = base(Kind::DaemonSet, &d.metadata, &spec.template)?;
    let st = d.status.clone().unwrap_or_default();
    w.mode = ServiceMode::Global;
    w.desired = count(Some(st.desired_number_scheduled));
    w.running = count(Some(st.number_ready));
    let observed = observed(&d.metadata, st.observed_generation);
    w.update = Some(rollout(
        w.desired,
        count(st.updated_number_scheduled),
        w.running,
        count(st.number_available),
        count(Some(st.current_number_scheduled)),
        observed,
        None,
    ));
    Some(w)
}

/// One revision of a Deployment: a ReplicaSet it owns, with the image its template runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    /// `replicaset/NS/NAME`
    pub id: String,
    pub deployment: String,
    pub revision: u64,
    pub image: String,
    pub created: Option<Time>,
    pub cause: Option<String>,
    /// Its pod template (without the `pod-template-hash` label), for diffs between revisions.
    pub template: serde_json::Value,
}

/// A ReplicaSet as a revision of its owning Deployment (None for one without an owner).
pub fn replicaset(rs: &ReplicaSet) -> Option<Revision> {
    let (ns, name) = ns_name(&rs.metadata)?;
    let owner = rs
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "Deployment")?;
    let revision = rs
        .metadata
        .annotations
        .as_ref()?
        .get(REVISION)?
        .parse()
        .ok()?;
    let template = rs.spec.as_ref().and_then(|s| s.template.as_ref());
    let mut raw = template
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or_default();
    if let Some(labels) = raw["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    Some(Revision {
        id: format!("replicaset/{ns}/{name}"),
        deployment: workload_id(Kind::Deployment, ns, &owner.name),
        revision,
        image: template.map(first_image).unwrap_or_default(),
        created: time(rs.metadata.creation_timestamp.as_ref()),
        cause: rs
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/change-cause"))
            .cloned(),
        template: raw,
    })
}

/// The workload a pod belongs to: its controller, with a ReplicaSet resolved to its
/// Deployment by the `pod-template-hash` suffix the Deployment controller gives it.
pub fn owner_workload(p: &Pod) -> Option<String> {
    let ns = p.metadata.namespace.as_deref().unwrap_or("default");
    let owner: &OwnerReference = p
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))?;
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = p.metadata.labels.as_ref()?.get("pod-template-hash")?;
            let deploy = owner.name.strip_suffix(&format!("-{hash}"))?;
            Some(workload_id(Kind::Deployment, ns, deploy))
        }
        "StatefulSet" => Some(workload_id(Kind::StatefulSet, ns, &owner.name)),
        "DaemonSet" => Some(workload_id(Kind::DaemonSet, ns, &owner.name)),
        _ => None,
    }
}

/// Whether the pod is owned by a DaemonSet, or is a static (mirror) pod: drain skips both.
pub fn drain_skips(p: &Pod) -> Option<&'static str> {
    if p.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
    {
        return Some("mirror pod");
    }
    let daemon = p.metadata.owner_references.as_ref().is_some_and(|os| {
        os.iter()
            .any(|o| o.kind == "DaemonSet" && o.controller == Some(true))
    });
    daemon.then_some("DaemonSet pod")
}

pub fn pod(p: &Pod) -> Option<Replica> {
    let (ns, name) = ns_name(&p.metadata)?;
    let spec = p.spec.as_ref();
    let status = p.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let ready_cond = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    let ready = ready_cond.is_some_and(|c| c.status == "True");
    let node = spec.and_then(|s| s.node_name.clone());
    let deleting = p.metadata.deletion_timestamp.is_some();
    let state = match phase {
        _ if deleting => TaskState::Shutdown,
        "Running" if ready => TaskState::Running,
        "Running" => TaskState::Starting,
        "Succeeded" => TaskState::Complete,
        "Failed" => TaskState::Failed,
        "Pending" if node.is_some() => TaskState::Preparing,
        "Pending" => TaskState::Pending,
        _ => TaskState::Orphaned,
    };
    // The reason a person needs: a waiting container's, the pod's, or scheduling's.
    let statuses = status.and_then(|s| s.container_statuses.as_ref());
    let waiting = statuses.and_then(|cs| {
        cs.iter().find_map(|c| {
            let w = c.state.as_ref()?.waiting.as_ref()?;
            let reason = w.reason.clone()?;
            Some(match &w.message {
                Some(m) => format!("{reason}: {m}"),
                None => reason,
            })
        })
    });
    let unschedulable = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        })
        .map(|c| {
            format!(
                "{}: {}",
                c.reason.as_deref().unwrap_or("Unschedulable"),
                c.message.as_deref().unwrap_or("")
            )
        });
    let pod_reason = status.and_then(|s| s.reason.clone()).map(|r| {
        match status.and_then(|s| s.message.as_deref()) {
            Some(m) => format!("{r}: {m}"),
            None => r,
        }
    });
    let restarts: i64 = statuses
        .map(|cs| cs.iter().map(|c| i64::from(c.restart_count.max(0))).sum())
        .unwrap_or(0);
    let error = waiting.or(pod_reason).or(unschedulable);
    let since = ready_cond
        .and_then(|c| time(c.last_transition_time.as_ref()))
        .or_else(|| time(status.and_then(|s| s.start_time.as_ref())))
        .or_else(|| time(p.metadata.creation_timestamp.as_ref()))
        .unwrap_or_else(Utc::now);
    Some(Replica {
        id: pod_id(ns, name),
        kind: ObjectKind::Pod,
        workload_id: owner_workload(p).unwrap_or_default(),
        slot: None,
        node_id: node.map(|n| node_id(&n)),
        desired: if deleting {
            TaskState::Shutdown
        } else {
            TaskState::Running
        },
        state,
        since,
        error,
        image: spec
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default(),
        name: Some(format!("{ns}/{name}")),
        restarts: Some(u32::try_from(restarts).unwrap_or(u32::MAX)),
        container: None,
    })
}

pub fn event(e: &KubeEvent) -> Option<Event> {
    let micro = |t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime| {
        chrono::DateTime::from_timestamp(t.0.as_second(), 0)
    };
    // A repeating event (events.k8s.io series) is shown at its last occurrence.
    let at = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .and_then(micro)
        .or_else(|| time(e.last_timestamp.as_ref()))
        .or_else(|| e.event_time.as_ref().and_then(micro))
        .or_else(|| time(e.first_timestamp.as_ref()))
        .or_else(|| time(e.metadata.creation_timestamp.as_ref()))?;
    let o = &e.involved_object;
    let target = match (&o.namespace, &o.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => String::new(),
    };
    Some(Event {
        at,
        source: SourceKind::Kubernetes,
        origin: Origin::External,
        severity: if e.type_.as_deref() == Some("Warning") {
            Severity::Warn
        } else {
            Severity::Info
        },
        object: o.kind.as_deref().unwrap_or("object").to_ascii_lowercase(),
        target,
        message: format!(
            "{}: {}",
            e.reason.as_deref().unwrap_or(""),
            e.message.as_deref().unwrap_or("")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids_name_the_instance_and_zone() {
        assert_eq!(
            aws_provider_id("aws:///us-west-1a/i-0abc"),
            Some(("i-0abc".into(), "us-west-1a".into()))
        );
        assert_eq!(aws_provider_id("gce://p/z/n"), None);
        assert_eq!(aws_provider_id("kwok://x"), None);
    }

    #[test]
    fn workload_ids_round_trip() {
        let id = workload_id(Kind::StatefulSet, "db", "pg");
        assert_eq!(
            parse_workload_id(&id),
            Some((Kind::StatefulSet, "db", "pg"))
        );
        assert_eq!(parse_workload_id("web"), None);
        assert_eq!(parse_workload_id("pod/a/b"), None);
    }

    #[test]
    fn rollout_states() {
        assert_eq!(
            rollout(3, 3, 3, 3, 3, true, None).state,
            UpdateState::Completed
        );
        // Old pods still around: not done.
        assert_eq!(
            rollout(3, 3, 3, 3, 4, true, None).state,
            UpdateState::Updating
        );
        assert_eq!(
            rollout(3, 3, 3, 3, 3, false, None).state,
            UpdateState::Updating
        );
        let s = rollout(
            3,
            1,
            2,
            2,
            4,
            true,
            Some("progress deadline exceeded".into()),
        );
        assert_eq!(s.state, UpdateState::Paused);
        assert!(s.message.starts_with("stalled: progress deadline exceeded"));
    }

    fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).expect("valid object")
    }

    #[test]
    fn a_repeating_event_is_shown_at_its_last_occurrence() {
        let e: KubeEvent = from_json(serde_json::json!({
            "metadata": {"name": "x", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
            "reason": "BackOff", "message": "restarting", "type": "Warning",
            "eventTime": "2026-11-22T05:00:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2026-11-22T05:09:30.000000Z"}
        }));
        let ev = event(&e).expect("converted");
        assert_eq!(ev.at.to_rfc3339(), "2026-11-22T05:09:30+00:00");
        assert_eq!(ev.target, "shop/web-1");
        assert_eq!(ev.severity, Severity::Warn);
    }

    #[test]
    fn a_stall_from_before_the_new_spec_is_not_this_rollouts() {
        let d = |observed: i64| -> Deployment {
            from_json(serde_json::json!({
                "metadata": {"name": "web", "namespace": "shop", "generation": 5},
                "spec": {"replicas": 2, "selector": {}, "template": {"spec": {"containers": [{"name": "main", "image": "a:2"}]}}},
                "status": {"observedGeneration": observed, "replicas": 2, "readyReplicas": 2,
                    "updatedReplicas": 0, "availableReplicas": 2,
                    "conditions": [{"type": "Progressing", "status": "False",
                        "reason": "ProgressDeadlineExceeded", "message": "timed out"}]}
            }))
        };
        let state = |o| deployment(&d(o)).and_then(|w| w.update).map(|u| u.state);
        assert_eq!(state(4), Some(UpdateState::Updating), "not yet observed");
        assert_eq!(state(5), Some(UpdateState::Paused), "observed: stalled");
    }
}
