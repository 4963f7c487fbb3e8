use serde_json::{Value, json};

use crate::model::{Availability, NodeRole, SourceKind};

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
}

impl OpRequest {
    pub fn cluster(&self) -> &str {
        match self {
            OpRequest::Scale { cluster, .. }
            | OpRequest::SetAvailability { cluster, .. }
            | OpRequest::Rollback { cluster, .. }
            | OpRequest::Deploy { cluster, .. }
            | OpRequest::Restart { cluster, .. }
            | OpRequest::SetRole { cluster, .. } => cluster,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            OpRequest::Scale { service, .. }
            | OpRequest::Rollback { service, .. }
            | OpRequest::Deploy { service, .. }
            | OpRequest::Restart { service, .. } => service,
            OpRequest::SetAvailability { node, .. } | OpRequest::SetRole { node, .. } => node,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            OpRequest::Scale { .. } => "scale",
            OpRequest::SetAvailability { availability, .. } => match availability {
                Availability::Active => "activate",
                Availability::Pause => "pause",
                Availability::Drain => "drain",
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
        }
    }

    /// Which backend executes it. All current verbs are Swarm's; Kubernetes and EC2 verbs
    /// arrive with their backends.
    pub fn backend(&self) -> SourceKind {
        SourceKind::Swarm
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
            OpRequest::Rollback { .. } | OpRequest::Restart { .. } => json!({}),
        }
    }

    /// The equivalent CLI command, shown in the plan and recorded in the audit log.
    pub fn cli(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
