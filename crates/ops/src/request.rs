use serde_json::{Value, json};

use crate::LaunchConfig;
use crate::model::{Availability, NodeRole, SourceKind};

/// What can be done to one EC2 instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceAction {
    Start,
    Stop,
    Reboot,
    Terminate,
}

impl InstanceAction {
    pub fn verb(self) -> &'static str {
        match self {
            InstanceAction::Start => "start",
            InstanceAction::Stop => "stop",
            InstanceAction::Reboot => "reboot",
            InstanceAction::Terminate => "terminate",
        }
    }
}

/// A mutating request, as typed by the operator (key, prompt or `:` command).
#[derive(Clone, Debug, PartialEq)]
pub enum OpRequest {
    Scale {
        cluster: String,
        service: String,
        replicas: u32,
    },
    SetAvailability {
        cluster: String,
        node: String,
        availability: Availability,
    },
    Rollback {
        cluster: String,
        service: String,
        /// Kubernetes: the revision the plan was made from (set at the gate); the undo refuses
        /// if the Deployment has moved on since, rather than restore a template not confirmed.
        from_revision: Option<u64>,
    },
    Deploy {
        cluster: String,
        service: String,
        image: String,
    },
    Restart {
        cluster: String,
        service: String,
    },
    /// Promote to manager / demote to worker.
    SetRole {
        cluster: String,
        node: String,
        role: NodeRole,
    },
    /// Start, stop, reboot or terminate one EC2 instance (by id).
    Instance {
        cluster: String,
        instance: String,
        action: InstanceAction,
    },
    /// Launch `count` instances as described by the context's `aws.launch`, tags included.
    AddNodes {
        cluster: String,
        count: u32,
        launch: LaunchConfig,
    },
}

impl OpRequest {
    pub fn cluster(&self) -> &str {
        match self {
            OpRequest::Scale { cluster, .. }
            | OpRequest::SetAvailability { cluster, .. }
            | OpRequest::Rollback { cluster, .. }
            | OpRequest::Deploy { cluster, .. }
            | OpRequest::Restart { cluster, .. }
            | OpRequest::SetRole { cluster, .. }
            | OpRequest::Instance { cluster, .. }
            | OpRequest::AddNodes { cluster, .. } => cluster,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            OpRequest::Scale { service, .. }
            | OpRequest::Rollback { service, .. }
            | OpRequest::Deploy { service, .. }
            | OpRequest::Restart { service, .. } => service,
            OpRequest::SetAvailability { node, .. } | OpRequest::SetRole { node, .. } => node,
            OpRequest::Instance { instance, .. } => instance,
            // What the nodes are launched from.
            OpRequest::AddNodes { launch, .. } => launch
                .template
                .as_deref()
                .or(launch.ami.as_deref())
                .unwrap_or("ec2"),
        }
    }

    /// What the operator types to confirm: the target as the panes show it (a Kubernetes
    /// id without its kind: `web-1`, `default/web`).
    pub fn typed_name(&self) -> &str {
        let t = self.target();
        match kube_target(t) {
            Some(_) => t.split_once('/').map_or(t, |(_, rest)| rest),
            None => t,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            OpRequest::Scale { .. } => "scale",
            OpRequest::SetAvailability {
                availability, node, ..
            } => match (availability, node.starts_with("node/")) {
                (Availability::Active, false) => "activate",
                (Availability::Pause, false) => "pause",
                (Availability::Active, true) => "uncordon",
                (Availability::Pause, true) => "cordon",
                (Availability::Drain, _) => "drain",
            },
            OpRequest::Rollback { .. } => "rollback",
            OpRequest::Deploy { .. } => "deploy",
            OpRequest::Restart { .. } => "restart",
            OpRequest::SetRole {
                role: NodeRole::Manager,
                ..
            } => "promote",
            OpRequest::SetRole {
                role: NodeRole::Worker,
                ..
            } => "demote",
            OpRequest::Instance { action, .. } => action.verb(),
            OpRequest::AddNodes { .. } => "add-nodes",
        }
    }

    /// Which backend executes it.
    pub fn backend(&self) -> SourceKind {
        match self {
            OpRequest::Instance { .. } | OpRequest::AddNodes { .. } => SourceKind::Ec2,
            _ if kube_target(self.target()).is_some() => SourceKind::Kubernetes,
            _ => SourceKind::Swarm,
        }
    }

    pub fn params(&self) -> Value {
        match self {
            OpRequest::Scale { replicas, .. } => json!({ "replicas": replicas }),
            OpRequest::SetAvailability { availability, .. } => {
                json!({ "availability": availability.label() })
            }
            OpRequest::Deploy { image, .. } => json!({ "image": image }),
            OpRequest::SetRole { role, .. } => {
                json!({ "role": if *role == NodeRole::Manager { "manager" } else { "worker" } })
            }
            OpRequest::Rollback {
                from_revision: Some(r),
                ..
            } => json!({ "from_revision": r }),
            OpRequest::Rollback { .. } | OpRequest::Restart { .. } => json!({}),
            OpRequest::Instance { action, .. } => json!({ "action": action.verb() }),
            OpRequest::AddNodes { count, launch, .. } => json!({
                "count": count,
                "ami": launch.ami,
                "template": launch.template,
                "instance_type": launch.instance_type,
                "subnet": launch.subnet,
                "tags": launch.tags,
            }),
        }
    }

    /// The equivalent CLI command, shown in the plan and recorded in the audit log.
    pub fn cli(&self) -> String {
        if let Some(k) = kube_target(self.target()) {
            return self.kubectl(k);
        }
        match self {
            OpRequest::Scale {
                service, replicas, ..
            } => format!("docker service scale {service}={replicas}"),
            OpRequest::SetAvailability {
                node, availability, ..
            } => format!(
                "docker node update --availability {} {node}",
                availability.label()
            ),
            OpRequest::Rollback { service, .. } => format!("docker service rollback {service}"),
            OpRequest::Deploy { service, image, .. } => {
                format!("docker service update --image {image} {service}")
            }
            OpRequest::Restart { service, .. } => {
                format!("docker service update --force {service}")
            }
            OpRequest::SetRole {
                node,
                role: NodeRole::Manager,
                ..
            } => format!("docker node promote {node}"),
            OpRequest::SetRole {
                node,
                role: NodeRole::Worker,
                ..
            } => format!("docker node demote {node}"),
            OpRequest::Instance {
                instance, action, ..
            } => format!(
                "aws ec2 {}-instances --instance-ids {instance}",
                action.verb()
            ),
            OpRequest::AddNodes { count, launch, .. } => launch_cli(*count, launch),
        }
    }

    /// Whether it changes a workload's rollout (one in flight per service).
    pub fn is_rollout(&self) -> bool {
        matches!(
            self,
            OpRequest::Deploy { .. } | OpRequest::Rollback { .. } | OpRequest::Restart { .. }
        )
    }
}

/// Kubernetes objects are named by id in requests: `node/NAME`, `deployment/NS/NAME`,
/// `statefulset/NS/NAME`, `daemonset/NS/NAME`, `pod/NS/NAME`. Returns (kind/name, namespace).
pub fn kube_target(target: &str) -> Option<(String, Option<String>)> {
    let (kind, rest) = target.split_once('/')?;
    match kind {
        "node" => Some((target.to_string(), None)),
        "deployment" | "statefulset" | "daemonset" | "pod" => {
            let (ns, name) = rest.split_once('/')?;
            Some((format!("{kind}/{name}"), Some(ns.to_string())))
        }
        _ => None,
    }
}

impl OpRequest {
    /// The request with a Kubernetes object named by its id (`default/web` typed or
    /// selected becomes `deployment/default/web`), which routes it to the Kubernetes backend.
    pub fn resolved(mut self, cluster: &crate::model::ClusterState) -> OpRequest {
        match &mut self {
            OpRequest::Scale { service, .. } | OpRequest::Restart { service, .. } => {
                if let Some(w) = cluster.workload_by_name(service)
                    && kube_target(&w.id).is_some()
                {
                    *service = w.id.clone();
                }
            }
            OpRequest::Rollback {
                service,
                from_revision,
                ..
            } => {
                if let Some(w) = cluster.workload_by_name(service)
                    && kube_target(&w.id).is_some()
                {
                    *service = w.id.clone();
                    *from_revision = Some(w.spec_version);
                }
            }
            OpRequest::Deploy { service, image, .. } => {
                if let Some(w) = cluster.workload_by_name(service)
                    && kube_target(&w.id).is_some()
                {
                    *service = w.id.clone();
                    // One container: name it, so the plan, the audit and the patch all say
                    // which image changes (as `kubectl set image web main=…` would).
                    if let ([(name, _)], (None, _)) =
                        (w.containers.as_slice(), split_container(image))
                    {
                        *image = format!("{name}={image}");
                    }
                }
            }
            OpRequest::SetAvailability { node, .. } | OpRequest::SetRole { node, .. } => {
                if let Some(n) = cluster.node_by_name(node)
                    && kube_target(&n.id).is_some()
                {
                    *node = n.id.clone();
                }
            }
            OpRequest::Instance { .. } | OpRequest::AddNodes { .. } => {}
        }
        self
    }

    fn kubectl(&self, (object, ns): (String, Option<String>)) -> String {
        let ns = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
        let node = object.trim_start_matches("node/");
        match self {
            OpRequest::Scale { replicas, .. } => {
                format!("kubectl scale{ns} {object} --replicas={replicas}")
            }
            OpRequest::SetAvailability { availability, .. } => match availability {
                Availability::Active => format!("kubectl uncordon {node}"),
                Availability::Pause => format!("kubectl cordon {node}"),
                Availability::Drain => {
                    format!("kubectl drain {node} --ignore-daemonsets --delete-emptydir-data")
                }
            },
            OpRequest::Rollback { .. } => format!("kubectl rollout undo{ns} {object}"),
            OpRequest::Deploy { image, .. } => match split_container(image) {
                (Some(_), _) => format!("kubectl set image{ns} {object} {image}"),
                (None, _) => format!("kubectl set image{ns} {object} '*={image}'"),
            },
            OpRequest::Restart { .. } => format!("kubectl rollout restart{ns} {object}"),
            other => format!("kubectl ({}) {object}", other.verb()),
        }
    }
}

fn launch_cli(count: u32, l: &LaunchConfig) -> String {
    let mut cli = format!("aws ec2 run-instances --count {count}");
    if let Some(t) = &l.template {
        let key = if t.starts_with("lt-") {
            "LaunchTemplateId"
        } else {
            "LaunchTemplateName"
        };
        cli.push_str(&format!(" --launch-template {key}={t}"));
    }
    let args = [
        ("--image-id", &l.ami),
        ("--instance-type", &l.instance_type),
        ("--subnet-id", &l.subnet),
        ("--key-name", &l.key_name),
    ];
    for (flag, v) in args {
        if let Some(v) = v {
            cli.push_str(&format!(" {flag} {v}"));
        }
    }
    if !l.security_groups.is_empty() {
        cli.push_str(&format!(
            " --security-group-ids {}",
            l.security_groups.join(" ")
        ));
    }
    if !l.tags.is_empty() {
        let tags: Vec<String> = l
            .tags
            .iter()
            .map(|(k, v)| format!("{{Key={k},Value={v}}}"))
            .collect();
        cli.push_str(&format!(
            " --tag-specifications 'ResourceType=instance,Tags=[{}]'",
            tags.join(",")
        ));
    }
    cli
}

/// Splits `repo[:tag][@digest]` (registry ports are not tags).
pub fn parse_image_ref(image: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (
                rest[..at].to_string(),
                Some(rest[at + 1..].to_string()),
                digest,
            )
        }
        None => (rest.to_string(), None, digest),
    }
}

/// `CONTAINER=IMAGE` (as `kubectl set image` takes it) or just `IMAGE`; an image reference
/// never contains `=`.
pub fn split_container(image: &str) -> (Option<&str>, &str) {
    match image.split_once('=') {
        Some((c, i)) => (Some(c.trim()), i.trim()),
        None => (None, image.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        assert_eq!(split_container("web:2"), (None, "web:2"));
        assert_eq!(split_container("main=web:2"), (Some("main"), "web:2"));
        assert_eq!(split_container("=web:2"), (Some(""), "web:2"));
    }

    #[test]
    fn image_refs() {
        assert_eq!(
            parse_image_ref("127.0.0.1:5000/demo/app:2"),
            ("127.0.0.1:5000/demo/app".into(), Some("2".into()), None)
        );
        assert_eq!(
            parse_image_ref("127.0.0.1:5000/demo/app"),
            ("127.0.0.1:5000/demo/app".into(), None, None)
        );
        assert_eq!(
            parse_image_ref("app@sha256:ab"),
            ("app".into(), None, Some("sha256:ab".into()))
        );
    }
}
